"""Redis ACL user rotation: 20 clients authenticate continuously with no failure; a rejected password keeps current."""

from __future__ import annotations

import time

import pytest
import redis
from ansible_collections.erpops.odoo.plugins.module_utils.rotation import core, secrets_manager
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.password import generate_password
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.redis_acl import RedisAclTarget
from rotation_helpers import sm_current, stages


def rotate(redis_admin, user, sm, **kw):
    target = RedisAclTarget(user, redis_admin["host"], port=redis_admin["port"],
                            admin_password=redis_admin["password"], grace_seconds=1.0)
    return core.rotate(user, target, secrets_manager.SecretsManagerStore(user, sm), generate_password,
                       check_mode=kw.pop("check_mode", False), **kw)


def login(redis_admin, cred) -> str:
    client = redis.Redis(host=redis_admin["host"], port=redis_admin["port"], username=cred["username"],
                         password=cred["password"], retry=None, socket_timeout=5)
    try:
        client.set("rotation-probe:%s" % cred["username"], "1", ex=60)
        return client.execute_command("ACL", "WHOAMI").decode()
    finally:
        client.close()


@pytest.fixture
def redis_user(redis_admin, sm, tag):
    redis_admin["users"].append(tag)
    sm.created_tags.append(tag)
    rotate(redis_admin, tag, sm)
    return tag


def test_twenty_clients_no_failed_auth(redis_admin, sm, redis_user, clients):
    versions = []
    with clients(20, lambda: login(redis_admin, sm_current(sm, redis_user))) as running:
        time.sleep(1.0)
        for _ in range(3):
            versions.append(rotate(redis_admin, redis_user, sm).current_version)
            time.sleep(1.0)
    assert running.failures == []
    assert running.ok > 100
    assert stages(sm, redis_user) == {versions[-2]: ["AWSPREVIOUS"], versions[-1]: ["AWSCURRENT"]}
    admin = redis.Redis(host=redis_admin["host"], port=redis_admin["port"], password=redis_admin["password"],
                        retry=None)
    assert len(admin.execute_command("ACL", "GETUSER", redis_user)[b"passwords"]) == 1
    admin.close()


def test_old_password_removed_and_failure_keeps_current(redis_admin, sm, redis_user):
    old = sm_current(sm, redis_user)
    rotate(redis_admin, redis_user, sm)
    with pytest.raises(redis.AuthenticationError):
        login(redis_admin, old)
    current, labels = sm_current(sm, redis_user), stages(sm, redis_user)
    # injected fault: the test step reports that the new password was rejected
    target = RedisAclTarget(redis_user, redis_admin["host"], port=redis_admin["port"],
                            admin_password=redis_admin["password"], grace_seconds=0)
    target.test = lambda plan, value, secret: (_ for _ in ()).throw(core.RotationError("target rejected the login"))
    with pytest.raises(core.RotationError, match="failed at step test: target rejected the login"):
        core.rotate(redis_user, target, secrets_manager.SecretsManagerStore(redis_user, sm), generate_password,
                    check_mode=False)
    assert (sm_current(sm, redis_user), stages(sm, redis_user)) == (current, labels)
    assert login(redis_admin, current) == redis_user
    admin = redis.Redis(host=redis_admin["host"], port=redis_admin["port"], password=redis_admin["password"],
                        retry=None)
    assert len(admin.execute_command("ACL", "GETUSER", redis_user)[b"passwords"]) == 1  # rolled back
    admin.close()
