"""The postgresql_ha role on the lab's three systemd hosts: converge, idempotence, preflight, replication,
switchover (module + playbook) and a SIGKILL failover without losing acknowledged commits (synchronous mode).

Needs ``make lab-up LAB_SERVICES=pgnodes``; the session converges the cluster with the role itself.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

INVENTORY = "inventories/lab/pgnodes.yml"
NODES = ("pg1", "pg2", "pg3")
pytestmark = pytest.mark.usefixtures("converged")


def test_role_converges_three_nodes_and_second_run_changes_nothing(converged, cluster) -> None:
    assert set(converged["first"]) == set(NODES)
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in converged["first"].values())
    assert {h: c["changed"] for h, c in converged["second"].items()} == dict.fromkeys(NODES, 0), \
        converged["second_stdout"][-4000:]
    state = cluster.wait_healthy(60)
    roles = sorted(m["role"] for m in state["members"])
    assert roles == ["leader", "replica", "sync_standby"]  # synchronous_mode in the lab inventory


def test_replication_write_through_haproxy_read_on_every_replica(cluster) -> None:
    token = uuid.uuid4().hex
    with cluster.connect(cluster.write_port()) as c:
        assert c.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
        assert c.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()[0] is True
        c.execute("CREATE TABLE IF NOT EXISTS repl_probe(token text PRIMARY KEY)")
        c.execute("INSERT INTO repl_probe VALUES (%s)", (token,))
    leader = cluster.leader()
    replicas = [n for n in NODES if n != leader]
    assert len(replicas) == 2
    for node in replicas:
        deadline = time.monotonic() + 15
        found = False
        with cluster.connect(cluster.node_port(node)) as c:
            assert c.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
            while time.monotonic() < deadline and not found:
                found = c.execute("SELECT count(*) FROM repl_probe WHERE token = %s", (token,)).fetchone()[0] == 1
                time.sleep(0.2)
        assert found, f"row {token} not replicated to {node}"
    with cluster.connect(cluster.read_port()) as c:  # the read port lands on a replica
        assert c.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True


def test_odoo_owner_is_not_a_superuser_and_owns_its_database(cluster) -> None:
    with cluster.connect(cluster.write_port()) as c:
        row = c.execute("SELECT rolsuper, rolcreatedb, rolcanlogin, rolcreaterole FROM pg_roles "
                        "WHERE rolname = 'odoo'").fetchone()
        assert row == (False, True, True, False)
        owner = c.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'odoo_lab'").fetchone()
        assert owner == ("odoo",)
        member = c.execute("SELECT pg_has_role('odoo_report', 'pg_read_all_data', 'member')").fetchone()[0]
        assert member is True
    with cluster.connect(cluster.write_port(), user="odoo", password=cluster.env["PGNODES_ODOO_PASSWORD"],
                         dbname="odoo_lab") as c:
        c.execute("CREATE TABLE IF NOT EXISTS owner_probe(id int)")


@pytest.mark.parametrize(("extra", "limit", "expected"), [
    ({"postgresql_ha_parameters": {"hot_standby": "off", "max_wal_senders": 10, "max_replication_slots": 10}},
     None, "postgresql_ha_parameters.hot_standby"),
    ({"postgresql_ha_parameters": {"shared_buffers": "12XB"}}, None, 'postgresql_ha_parameters.shared_buffers="12XB"'),
    ({"postgresql_ha_members": ["pg1", "pg2"]}, "pg1,pg2", "postgresql_ha_members has 2 hosts"),
    ({"postgresql_ha_ttl": 10}, None, "postgresql_ha_ttl=10"),
], ids=["patroni-owned-parameter", "invalid-size", "even-etcd-members", "ttl-below-20"])
def test_preflight_refuses_bad_input_before_any_change(run_playbook, cluster, recap, extra, limit,  # noqa: PLR0917
                                                       expected) -> None:
    before = cluster.rest("pg1", "/config")
    args = ["-e", json.dumps(extra)] + (["--limit", limit] if limit else [])
    res = run_playbook("playbooks/postgresql_ha.yml", *args, inventory=INVENTORY, check=False)
    assert res.returncode != 0
    assert expected in res.stdout, res.stdout[-3000:]
    counters = recap(res.stdout)
    assert all(c["changed"] == 0 for c in counters.values()), counters
    assert cluster.rest("pg1", "/config") == before


def test_switchover_check_mode_then_move_and_haproxy_follows(run_playbook, cluster, recap) -> None:
    cluster.wait_healthy(120)
    leader = cluster.leader()
    state = cluster.cluster()
    target = next(m["name"] for m in state["members"] if m["role"] == "sync_standby")

    dry = run_playbook("playbooks/switchover.yml", "--check", "-e", f"switchover_candidate={target}",
                       inventory=INVENTORY)
    assert f"would switch over from {leader} to {target}" in dry.stdout
    assert cluster.leader() == leader

    bad = run_playbook("playbooks/switchover.yml", "-e", "switchover_candidate=pg9", inventory=INVENTORY, check=False)
    assert bad.returncode != 0 and "candidate='pg9' is not a member" in bad.stdout
    assert cluster.leader() == leader

    res = run_playbook("playbooks/switchover.yml", "-e", f"switchover_candidate={target}", inventory=INVENTORY)
    assert f"switched over from {leader} to {target}" in res.stdout
    assert cluster.leader() == target
    ip = cluster.env[f"PGNODES_{target.upper()}_IP"]
    deadline = time.monotonic() + 15
    server = None
    while time.monotonic() < deadline:
        try:
            with cluster.connect(cluster.write_port(), timeout=2) as c:
                server = str(c.execute("SELECT inet_server_addr()").fetchone()[0])
                c.execute("CREATE TABLE IF NOT EXISTS switchover_probe(id int)")
            if server == ip:
                break
        except Exception as exc:  # noqa: BLE001 - HAProxy is moving the backend; retry
            server = f"error: {exc}"
        time.sleep(0.5)
    assert server == ip, f"HAProxy write port still reaches {server}, expected {target} ({ip})"

    again = run_playbook("playbooks/switchover.yml", "-e", f"switchover_candidate={target}", inventory=INVENTORY)
    assert "is already the leader" in again.stdout
    assert all(c["changed"] == 0 for c in recap(again.stdout).values())
    cluster.wait_healthy(120)


def test_sigkill_primary_failover_loses_no_acknowledged_commit(cluster, writer_factory) -> None:
    cluster.wait_healthy(120)
    old = cluster.leader()
    writer = writer_factory("failover_probe")
    with writer:
        writer.wait_for_acks(50, 30)
        killed_at = time.monotonic()
        cluster.crash(old)
        writer.wait_for_acks(20, 120)
        resumed_after = time.monotonic() - killed_at
    new = cluster.leader()
    assert new is not None and new != old
    acked = set(writer.acked)
    with cluster.connect(cluster.write_port()) as c:
        present = {r[0] for r in c.execute("SELECT id FROM failover_probe").fetchall()}
    lost = sorted(acked - present)
    assert not lost, f"{len(lost)} acknowledged commits lost after failover: {lost[:20]}"
    print(f"failover {old} -> {new}: writes resumed {resumed_after:.1f}s after the kill; "
          f"{len(acked)} acknowledged commits all present")
    cluster.rejoin(old)
    state = cluster.wait_healthy(180)
    assert {m["name"] for m in state["members"]} == set(NODES)


def _no_scratch(cluster, node: str) -> bool:
    """The PITR scratch data directory is absent on ``node``."""
    return cluster.sh(node, "test -e /var/lib/postgresql/15/pitr-restore", check=False).returncode != 0


def _archived(c, wal: str, timeout: float = 60) -> None:
    """Wait until PostgreSQL reports ``wal`` (or a later segment) archived by pgBackRest."""
    deadline = time.monotonic() + timeout
    row = None
    while time.monotonic() < deadline:
        row = c.execute("SELECT last_archived_wal, last_failed_wal, failed_count FROM pg_stat_archiver").fetchone()
        if row[0] and row[0][8:] >= wal[8:]:  # same cluster; compare log/segment, not the timeline prefix
            return
        time.sleep(0.5)
    raise AssertionError(f"WAL {wal} not archived after {timeout}s: pg_stat_archiver {row}")


def test_pitr_restores_to_a_timestamp_between_two_writes(run_playbook, cluster, recap) -> None:
    """pgBackRest archives WAL to the lab S3 (TLS); a restore to a time between two commits has the first only."""
    cluster.wait_healthy(180)
    with cluster.connect(cluster.write_port()) as c:
        assert c.execute("SHOW archive_mode").fetchone()[0] == "on"
        c.execute("DROP TABLE IF EXISTS pitr_probe")
        c.execute("CREATE TABLE pitr_probe (id int PRIMARY KEY, note text)")
        c.execute("INSERT INTO pitr_probe VALUES (1, 'first write')")
        time.sleep(1.0)
        target = c.execute("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                           "'YYYY-MM-DD HH24:MI:SS.US') || '+00'").fetchone()[0]
        time.sleep(1.0)
        c.execute("INSERT INTO pitr_probe VALUES (2, 'second write')")
        _archived(c, c.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0])
    node = next(n for n in NODES if n != cluster.leader())
    res = run_playbook("playbooks/pitr_restore.yml", "-l", node,
                       "-e", json.dumps({"postgresql_ha_pitr_target_time": target}), inventory=INVENTORY)
    assert recap(res.stdout)[node]["failed"] == 0
    assert f"restored to {target} in a scratch instance on port 5499" in res.stdout
    assert "recovery stopping before commit" in res.stdout
    def scratch(query: str) -> str:
        return cluster.podman("exec", f"erpops-{node}", "runuser", "-u", "postgres", "--", "psql", "-XAtq",
                              "-p", "5499", "-d", "postgres", "-c", query).stdout.strip()

    rows = scratch("SELECT id FROM pitr_probe ORDER BY id").split()
    assert rows == ["1"], f"scratch instance at {target} has rows {rows}"
    assert scratch("SELECT pg_is_in_recovery()") == "f"
    # the cluster is untouched: both writes there, same members
    with cluster.connect(cluster.write_port()) as c:
        assert [r[0] for r in c.execute("SELECT id FROM pitr_probe ORDER BY id")] == [1, 2]
    assert cluster.wait_healthy(60)
    # the scratch instance goes away on request
    run_playbook("playbooks/pitr_restore.yml", "-l", node, "-e", "postgresql_ha_pitr_state=absent",
                 inventory=INVENTORY)
    assert _no_scratch(cluster, node)


def test_pitr_refuses_a_target_without_time_zone(run_playbook, cluster) -> None:
    res = run_playbook("playbooks/pitr_restore.yml", "-l", "pg1",
                       "-e", json.dumps({"postgresql_ha_pitr_target_time": "2026-12-04 07:15:00"}),
                       inventory=INVENTORY, check=False)
    assert res.returncode != 0
    assert 'postgresql_ha_pitr_target_time="2026-12-04 07:15:00": an ISO 8601 timestamp with a time zone' in res.stdout
    assert _no_scratch(cluster, "pg1")


def test_pitr_check_mode_restores_nothing(run_playbook, cluster, recap) -> None:
    res = run_playbook("playbooks/pitr_restore.yml", "-l", "pg2", "--check",
                       "-e", json.dumps({"postgresql_ha_pitr_target_time": "2026-12-04 07:15:00+00"}),
                       inventory=INVENTORY)
    assert recap(res.stdout)["pg2"]["failed"] == 0
    assert "check mode: would restore to 2026-12-04 07:15:00+00" in res.stdout
    assert _no_scratch(cluster, "pg2")
