"""PostgreSQL alternating-users rotation, credential in Secrets Manager: zero downtime, failures keep current."""

from __future__ import annotations

import time

import psycopg
import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.rotation import core, secrets_manager
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.password import generate_password
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.postgres import PostgresAlternatingUsers
from psycopg import sql
from rotation_helpers import pg_connect, sm_current, stages


def make(pg_admin: dict, tag: str, sm_client, db: str | None = None):
    target = PostgresAlternatingUsers(tag, pg_admin["host"], port=pg_admin["port"], db=db or "postgres",
                                      admin_user=pg_admin["user"], admin_password=pg_admin["password"])
    return target, secrets_manager.SecretsManagerStore(tag, sm_client)


def rotate(pg_admin, tag, sm, db=None, **kw):
    target, store = make(pg_admin, tag, sm, db)
    return core.rotate(tag, target, store, generate_password, check_mode=kw.pop("check_mode", False), **kw)


@pytest.fixture
def odoo_db(pg_admin, tag, sm, pg_cleanup):
    """Bootstrap: first rotation creates the roles; a database owned by the owner role, one table made by _a."""
    pg_cleanup(tag)
    sm.created_tags.append(tag)
    first = rotate(pg_admin, tag, sm)
    assert first.current_user == tag + "_a"
    with pg_connect(pg_admin) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(tag), sql.Identifier(tag)))
    cred = sm_current(sm, tag)
    with pg_connect(pg_admin, tag, user=cred["username"], password=cred["password"]) as conn:
        conn.execute("CREATE TABLE res_partner (id serial PRIMARY KEY, name text)")
        conn.execute("INSERT INTO res_partner (name) SELECT 'p' || g FROM generate_series(1, 100) g")
    return tag


def test_twenty_clients_see_no_authentication_failure_through_rotations(pg_admin, sm, odoo_db, clients):
    tag = odoo_db

    def attempt() -> str:
        cred = sm_current(sm, tag)  # each attempt re-reads the store, as a restarted Odoo worker would
        with psycopg.connect(host=pg_admin["host"], port=pg_admin["port"], dbname=tag, user=cred["username"],
                             password=cred["password"], connect_timeout=10) as conn:
            assert conn.execute("SELECT count(*) FROM res_partner").fetchone()[0] == 100
        return cred["username"]

    versions = []
    with clients(20, attempt) as running:
        time.sleep(1.5)
        for _ in range(3):  # a -> b -> a -> b: each login is rotated while the other one serves
            versions.append(rotate(pg_admin, tag, sm, db=tag).current_version)
            time.sleep(1.5)
    assert running.failures == []
    assert running.ok > 100
    assert running.users == {tag + "_a", tag + "_b"}
    assert sm_current(sm, tag)["username"] == tag + "_b"
    assert stages(sm, tag) == {versions[-2]: ["AWSPREVIOUS"], versions[-1]: ["AWSCURRENT"]}


def test_objects_are_owned_by_the_owner_role_whichever_login_creates_them(pg_admin, sm, odoo_db):
    tag = odoo_db
    rotate(pg_admin, tag, sm, db=tag)  # now _b is current
    cred = sm_current(sm, tag)
    assert cred["username"] == tag + "_b"
    with pg_connect(pg_admin, tag, user=cred["username"], password=cred["password"]) as conn:
        conn.execute("CREATE TABLE res_users (id serial PRIMARY KEY)")
        assert conn.execute("SELECT session_user, current_user").fetchone() == (tag + "_b", tag)
    with pg_connect(pg_admin, tag) as conn:
        owners = dict(conn.execute("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'"))
        roles = dict(conn.execute("SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE %s", (tag + "%",)))
    assert owners == {"res_partner": tag, "res_users": tag}
    assert roles == {tag: False, tag + "_a": True, tag + "_b": True}


def test_previous_login_stays_valid_until_the_next_rotation(pg_admin, sm, odoo_db):
    tag = odoo_db
    old = sm_current(sm, tag)
    rotate(pg_admin, tag, sm, db=tag)
    with pg_connect(pg_admin, tag, user=old["username"], password=old["password"]) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    rotate(pg_admin, tag, sm, db=tag)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        pg_connect(pg_admin, tag, user=old["username"], password=old["password"])


def test_target_rejecting_the_new_credential_keeps_the_old_one_current(pg_admin, sm, odoo_db):
    tag = odoo_db
    before = sm_current(sm, tag)
    labels = stages(sm, tag)
    with pg_connect(pg_admin) as conn:
        verifier = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (tag + "_b",)).fetchone()[0]
        # injected fault: the server rejects logins of the idle role whatever its password
        conn.execute(sql.SQL("ALTER ROLE {} VALID UNTIL '2000-01-01'").format(sql.Identifier(tag + "_b")))
    try:
        with pytest.raises(core.RotationError) as err:
            rotate(pg_admin, tag, sm, db=tag)
    finally:
        with pg_connect(pg_admin) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} VALID UNTIL 'infinity'").format(sql.Identifier(tag + "_b")))
            after_verifier = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s",
                                          (tag + "_b",)).fetchone()[0]
    msg = str(err.value)
    assert "failed at step test" in msg and "password authentication failed" in msg and "still current" in msg
    assert sm_current(sm, tag) == before
    assert stages(sm, tag) == labels  # AWSCURRENT unchanged, no AWSPENDING left
    assert after_verifier == verifier  # the idle login's previous password was restored
    with pg_connect(pg_admin, tag, user=before["username"], password=before["password"]) as conn:
        assert conn.execute("SELECT count(*) FROM res_partner").fetchone() == (100,)


def test_missing_admin_credentials_and_check_mode(pg_admin, sm, odoo_db):
    tag = odoo_db
    before, labels = sm_current(sm, tag), stages(sm, tag)
    target = PostgresAlternatingUsers(tag, pg_admin["host"], port=pg_admin["port"], admin_user=pg_admin["user"])
    with pytest.raises(core.RotationError, match=r"missing admin credentials \(admin_password\)"):
        core.rotate(tag, target, secrets_manager.SecretsManagerStore(tag, sm), generate_password, check_mode=False)
    res = rotate(pg_admin, tag, sm, db=tag, check_mode=True)
    assert res.changed and res.steps == [] and any(tag + "_b" in a for a in res.actions)
    assert (sm_current(sm, tag), stages(sm, tag)) == (before, labels)
    # idempotence: not due yet -> nothing happens
    res = rotate(pg_admin, tag, sm, db=tag, force=False, period_days=30)
    assert not res.changed and (sm_current(sm, tag), stages(sm, tag)) == (before, labels)
