"""AWS staging labels after successful and failed rotations (moto's Secrets Manager)."""

from __future__ import annotations

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.rotation import core, secrets_manager
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.master_password import verify_master_password
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.password import generate_password
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.secret_targets import ApiKey, OdooMasterPassword
from rotation_helpers import sm_current, stages


class Rejecting(ApiKey):
    """An API key consumer that rejects the new key in the test step (injected fault)."""

    def test(self, plan, value, secret):
        raise core.RotationError("payroll API answered 401 for the new key")


def test_labels_after_success_and_after_failure(sm, tag):
    sm.created_tags.append(tag)
    sid = tag + "/payroll"

    def store():
        return secrets_manager.SecretsManagerStore(sid, sm)

    v1 = core.rotate("payroll", ApiKey(attributes={"system": "payroll"}), store(), generate_password,
                     check_mode=False).current_version
    assert stages(sm, sid) == {v1: ["AWSCURRENT"]}
    v2 = core.rotate("payroll", ApiKey(attributes={"system": "payroll"}), store(), generate_password,
                     check_mode=False).current_version
    assert stages(sm, sid) == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}
    value = sm_current(sm, sid)
    with pytest.raises(core.RotationError, match="failed at step test: payroll API answered 401"):
        core.rotate("payroll", Rejecting(), store(), generate_password, check_mode=False)
    # AWSPENDING removed, AWSCURRENT and AWSPREVIOUS unchanged
    assert stages(sm, sid) == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}
    assert sm_current(sm, sid) == value
    versions = sm.list_secret_version_ids(SecretId=sid)["Versions"]
    assert len(versions) == 3 and not any("AWSPENDING" in v.get("VersionStages", []) for v in versions)
    # check mode writes nothing
    core.rotate("payroll", ApiKey(), store(), generate_password, check_mode=True)
    assert len(sm.list_secret_version_ids(SecretId=sid)["Versions"]) == 3


def test_failed_first_rotation_leaves_no_secret(sm, tag):
    sm.created_tags.append(tag)
    sid = tag + "/procurement"
    with pytest.raises(core.RotationError, match="store was empty"):
        core.rotate("procurement", Rejecting(), secrets_manager.SecretsManagerStore(sid, sm), generate_password,
                    check_mode=False)
    assert secrets_manager.SecretsManagerStore(sid, sm).stages() == {}


def test_master_password_hash_and_vault(sm, tag):
    sm.created_tags.append(tag)
    vault = secrets_manager.SecretsManagerStore(tag + "/vault", sm)
    res = core.rotate("odoo-master", OdooMasterPassword(rounds=1000, vault=vault),
                      secrets_manager.SecretsManagerStore(tag + "/admin", sm), generate_password, check_mode=False)
    stored, plain = sm_current(sm, tag + "/admin"), sm_current(sm, tag + "/vault")
    assert res.changed and set(stored) == {"admin_passwd"}
    assert verify_master_password(plain["password"], stored["admin_passwd"])
    assert plain["password"] not in stored["admin_passwd"]
