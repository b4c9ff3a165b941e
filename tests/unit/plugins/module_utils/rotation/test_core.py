"""The four-step state machine over real stores and targets, with fakes only at the network edge."""

from __future__ import annotations

import datetime
import json

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.rotation import core
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.master_password import verify_master_password
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.redis_acl import RedisAclTarget
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.secret_targets import ApiKey, OdooMasterPassword
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.secrets_manager import SecretsManagerStore
from rotation_fakes import FakeRedisServer, FakeSecretsManager

ADMIN = "admin-pass-123"


class Secrets:
    """Deterministic secret source so tests can assert where values went."""

    def __init__(self) -> None:
        self.n = 0
        self.issued: list[str] = []

    def __call__(self) -> str:
        self.n += 1
        self.issued.append("Secret-%04d-value" % self.n)
        return self.issued[-1]


@pytest.fixture
def sm():
    return FakeSecretsManager()


@pytest.fixture
def server():
    return FakeRedisServer(ADMIN)


def redis_target(server, **kw):
    return RedisAclTarget("odoo", "127.0.0.1", admin_password=ADMIN, client_factory=server.factory,
                          sleep=lambda s: None, **kw)


def current_value(sm, sid):
    return json.loads(sm.get_secret_value(SecretId=sid)["SecretString"])


def test_first_and_second_rotation_move_the_labels(sm, server):
    store, secrets = SecretsManagerStore("app/redis", sm), Secrets()
    r1 = core.rotate("cache", redis_target(server), store, secrets, check_mode=False)
    assert r1.changed and r1.steps == list(core.STEPS) and r1.current_user == "odoo"
    v1 = r1.current_version
    assert sm.stages("app/redis") == {v1: ["AWSCURRENT"]}
    assert current_value(sm, "app/redis") == {"username": "odoo", "password": secrets.issued[0]}
    r2 = core.rotate("cache", redis_target(server), SecretsManagerStore("app/redis", sm), secrets, check_mode=False)
    assert sm.stages("app/redis") == {v1: ["AWSPREVIOUS"], r2.current_version: ["AWSCURRENT"]}
    # the old password was removed after promotion, only the new one logs in
    assert server.users["odoo"] == {secrets.issued[1]}
    assert "Secret" not in repr(r2.as_dict())


def test_target_rejecting_the_new_password_keeps_current(sm, server):
    secrets = SecretsManagerStore("app/redis", sm), Secrets()
    store, gen = secrets
    first = core.rotate("cache", redis_target(server), store, gen, check_mode=False)
    server.reject_new = True
    with pytest.raises(core.RotationError) as err:
        core.rotate("cache", redis_target(server), SecretsManagerStore("app/redis", sm), gen, check_mode=False)
    msg = str(err.value)
    assert "failed at step test" in msg and "still current" in msg and first.current_version in msg
    assert gen.issued[1] not in msg
    # AWSCURRENT unchanged, AWSPENDING removed, old password still logs in
    assert sm.stages("app/redis") == {first.current_version: ["AWSCURRENT"]}
    assert current_value(sm, "app/redis")["password"] == gen.issued[0]
    assert server.can_login("odoo", gen.issued[0])


def test_store_failure_before_set_touches_nothing(sm, server):
    store, gen = SecretsManagerStore("app/redis", sm), Secrets()
    first = core.rotate("cache", redis_target(server), store, gen, check_mode=False)
    sm.fail["PutSecretValue"] = "InternalServiceError"
    with pytest.raises(core.RotationError, match="failed at step create"):
        core.rotate("cache", redis_target(server), SecretsManagerStore("app/redis", sm), gen, check_mode=False)
    assert server.users["odoo"] == {gen.issued[0]}
    assert sm.stages("app/redis") == {first.current_version: ["AWSCURRENT"]}


def test_promotion_failure_rolls_back_the_target(sm, server):
    store, gen = SecretsManagerStore("app/redis", sm), Secrets()
    first = core.rotate("cache", redis_target(server), store, gen, check_mode=False)
    sm.fail["UpdateSecretVersionStage"] = "InternalServiceError"
    with pytest.raises(core.RotationError, match="failed at step finish"):
        core.rotate("cache", redis_target(server), SecretsManagerStore("app/redis", sm), gen, check_mode=False)
    assert server.users["odoo"] == {gen.issued[0]}
    assert [v for v, s in sm.stages("app/redis").items() if "AWSCURRENT" in s] == [first.current_version]


def test_failed_first_rotation_leaves_no_untested_current(sm, server):
    server.reject_new = True
    with pytest.raises(core.RotationError, match="store was empty"):
        core.rotate("cache", redis_target(server), SecretsManagerStore("app/redis", sm), Secrets(), check_mode=False)
    assert "app/redis" not in sm.secrets
    assert "odoo" not in server.users


def test_check_mode_changes_nothing(sm, server):
    store, gen = SecretsManagerStore("app/redis", sm), Secrets()
    first = core.rotate("cache", redis_target(server), store, gen, check_mode=False)
    before = (json.dumps(sm.secrets, default=str, sort_keys=True), {u: set(p) for u, p in server.users.items()})
    res = core.rotate("cache", redis_target(server), SecretsManagerStore("app/redis", sm), gen, check_mode=True)
    assert res.changed and res.steps == [] and res.current_version == first.current_version
    assert any("would rotate" in a for a in res.actions)
    assert (json.dumps(sm.secrets, default=str, sort_keys=True), server.users) == before
    assert len(gen.issued) == 1


@pytest.mark.parametrize(("age_days", "due"), [(0, False), (29, False), (30, True), (400, True)])
def test_rotation_only_when_due_unless_forced(sm, age_days, due):
    store, gen = SecretsManagerStore("keys/payroll", sm), Secrets()
    first = core.rotate("payroll", ApiKey(), store, gen, check_mode=False)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=age_days, minutes=1)
    res = core.rotate("payroll", ApiKey(), SecretsManagerStore("keys/payroll", sm), gen, check_mode=False,
                      force=False, period_days=30, now=lambda: later)
    assert res.changed is due and res.due is due
    if not due:
        assert res.current_version == first.current_version and len(gen.issued) == 1


def test_missing_admin_credentials_fail_before_anything(sm, server):
    target = RedisAclTarget("odoo", "127.0.0.1", admin_password=None, client_factory=server.factory)
    with pytest.raises(core.RotationError, match=r"missing admin credentials \(admin_password\)"):
        core.rotate("cache", target, SecretsManagerStore("app/redis", sm), Secrets(), check_mode=False)
    assert sm.calls == []


def test_odoo_master_password_stores_hash_and_vaults_plaintext(sm):
    gen = Secrets()
    vault = SecretsManagerStore("ops/master", sm)
    res = core.rotate("odoo-master", OdooMasterPassword(rounds=1000, vault=vault),
                      SecretsManagerStore("odoo/admin", sm), gen, check_mode=False)
    stored = current_value(sm, "odoo/admin")
    assert set(stored) == {"admin_passwd"} and stored["admin_passwd"].startswith("$pbkdf2-sha512$1000$")
    assert verify_master_password(gen.issued[0], stored["admin_passwd"])
    assert current_value(sm, "ops/master") == {"password": gen.issued[0]}
    assert res.current_user is None


def test_api_key_keeps_attributes(sm):
    gen = Secrets()
    core.rotate("dms", ApiKey(key_name="token", attributes={"system": "dms"}), SecretsManagerStore("k/dms", sm), gen,
                check_mode=False)
    assert current_value(sm, "k/dms") == {"system": "dms", "token": gen.issued[0]}


def test_stale_pending_from_an_interrupted_run_is_dropped(sm, server):
    store, gen = SecretsManagerStore("app/redis", sm), Secrets()
    core.rotate("cache", redis_target(server), store, gen, check_mode=False)
    stale = SecretsManagerStore("app/redis", sm).put_pending({"username": "odoo", "password": "leftover"})
    server.users["odoo"].add("leftover")  # as if the crashed run had set it
    res = core.rotate("cache", redis_target(server), SecretsManagerStore("app/redis", sm), gen, check_mode=False)
    assert "AWSPENDING" not in sm.stages("app/redis").get(stale, [])
    assert server.users["odoo"] == {gen.issued[1]}
    assert res.current_version != stale


def test_stored_credential_repr_hides_value():
    cred = core.StoredCredential(value={"password": "hunter2"}, version="v1")
    assert "hunter2" not in repr(cred)
