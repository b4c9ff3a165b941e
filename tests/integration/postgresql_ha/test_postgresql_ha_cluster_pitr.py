"""Whole-cluster point-in-time recovery (playbooks/cluster_pitr.yml) on the lab's Patroni cluster: refusals that
change nothing, check mode, a failed recovery rolled back to the old cluster, and a real rewind of all three
members to a time between two writes on a new timeline, with archiving, a new backup and replication afterwards.

The file sorts after test_postgresql_ha.py on purpose: the rewind replaces the whole cluster. Every test leaves it
healthy (the last one re-converges it if a failure left it broken).
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.support.pgnodes import DATA_DIR, PRIMARY_ROLES

INVENTORY = "inventories/lab/pgnodes.yml"
PLAYBOOK = "playbooks/cluster_pitr.yml"
NODES = ("pg1", "pg2", "pg3")
pytestmark = pytest.mark.usefixtures("converged")


def _now_target(c) -> str:
    """The server's current time as an ISO 8601 timestamp in UTC (the format operators are told to use)."""
    return c.execute("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'"
                     ).fetchone()[0]


def _state(cluster) -> tuple[str | None, tuple[int, ...], tuple[tuple[str, str, str], ...]]:
    """(leader, timelines, (name, role, state) per member): what a refused run must leave untouched."""
    ms = sorted(cluster.cluster()["members"], key=lambda m: m["name"])
    leader = next((m["name"] for m in ms if m["role"] in PRIMARY_ROLES), None)
    return leader, tuple(sorted({int(m.get("timeline") or 0) for m in ms})), \
        tuple((m["name"], m["role"], m["state"]) for m in ms)


def _leftovers(cluster) -> dict[str, str]:
    """Moved-aside data directories and staged Patroni configurations per node (none after any run)."""
    out = {}
    for n in NODES:
        res = cluster.sh(n, f"ls -d {DATA_DIR}.before-pitr-* /etc/patroni/config.yml.before-pitr "
                            "/etc/patroni/config.cluster-pitr.yml 2>/dev/null", check=False)
        if res.stdout.strip():
            out[n] = res.stdout.strip()
    return out


def _run(run_playbook, extra: dict, *args: str, check: bool = True):
    return run_playbook(PLAYBOOK, "-e", json.dumps(extra), *args, inventory=INVENTORY, check=check)


@pytest.mark.parametrize(("extra", "args", "expected"), [
    ({}, (), "confirm with -e postgresql_ha_cluster_pitr_confirm=odoo"),
    ({"postgresql_ha_cluster_pitr_confirm": "odo"}, (), "confirm with -e postgresql_ha_cluster_pitr_confirm=odoo"),
    ({"postgresql_ha_pitr_target_time": "2026-12-04 10:14:59"}, (),
     'postgresql_ha_pitr_target_time="2026-12-04 10:14:59": an ISO 8601 timestamp with a time zone'),
    ({"postgresql_ha_pitr_target_time": "2099-01-01 00:00:00+00"}, (), "is in the future"),
    ({"postgresql_ha_pitr_target_time": "2020-01-01 00:00:00+00"}, (), "is older than the oldest backup"),
    ({"postgresql_ha_pgbackrest_enabled": False}, (), "postgresql_ha_pgbackrest_enabled is false"),
    ({"postgresql_ha_members": list(NODES)}, ("--limit", "pg1,pg2"), "run on all of them (no --limit)"),
    ({"postgresql_ha_cluster_pitr_node": "pg9"}, (), 'postgresql_ha_cluster_pitr_node="pg9" is not a member'),
], ids=["no-confirmation", "wrong-confirmation", "no-time-zone", "future", "before-oldest-backup",
        "pgbackrest-off", "member-left-out", "unknown-node"])
def test_cluster_pitr_refuses_bad_input_and_changes_nothing(run_playbook, cluster, recap,  # noqa: PLR0917
                                                            extra, args, expected) -> None:
    cluster.wait_healthy(120)
    before = _state(cluster)
    with cluster.connect(cluster.write_port()) as c:
        base = {"postgresql_ha_cluster_pitr_confirm": "odoo", "postgresql_ha_pitr_target_time": _now_target(c)}
    if not extra:
        base.pop("postgresql_ha_cluster_pitr_confirm")
    res = _run(run_playbook, {**base, **extra}, *args, check=False)
    assert res.returncode != 0
    assert expected in res.stdout, res.stdout[-3000:]
    assert all(c["changed"] == 0 for c in recap(res.stdout).values()), recap(res.stdout)
    assert _state(cluster) == before
    assert _leftovers(cluster) == {}


def test_cluster_pitr_check_mode_reports_the_plan_and_changes_nothing(run_playbook, cluster, recap) -> None:
    cluster.wait_healthy(120)
    with cluster.connect(cluster.write_port()) as c:
        target = _now_target(c)
        token = uuid.uuid4().hex
        c.execute("CREATE TABLE IF NOT EXISTS cluster_pitr_check(token text)")
        time.sleep(1.0)
        c.execute("INSERT INTO cluster_pitr_check VALUES (%s)", (token,))
    before = _state(cluster)
    res = _run(run_playbook, {"postgresql_ha_pitr_target_time": target, "postgresql_ha_cluster_pitr_confirm": "odoo"},
               "--check")
    assert f"check mode: would rewind cluster odoo (leader {before[0]}, timeline {before[1][0]}) to {target}" \
        in res.stdout, res.stdout[-3000:]
    assert "Nothing was changed." in res.stdout
    assert all(c["changed"] == 0 for c in recap(res.stdout).values()), recap(res.stdout)
    assert _state(cluster) == before
    assert _leftovers(cluster) == {}
    with cluster.connect(cluster.write_port()) as c:
        assert c.execute("SELECT count(*) FROM cluster_pitr_check WHERE token = %s", (token,)).fetchone()[0] == 1


def test_cluster_pitr_failure_rolls_back_to_the_old_cluster_and_loses_nothing(run_playbook, cluster) -> None:
    """A bootstrap that does not finish in time (postgresql_ha_pitr_timeout=2) stops the rewind after every member
    was stopped, the DCS emptied and the data moved aside: the rescue moves the old data back and restarts it."""
    cluster.wait_healthy(120)
    token = uuid.uuid4().hex
    with cluster.connect(cluster.write_port()) as c:
        c.execute("CREATE TABLE IF NOT EXISTS cluster_pitr_rollback(token text)")
        time.sleep(1.0)
        target = _now_target(c)
        time.sleep(1.0)
        c.execute("INSERT INTO cluster_pitr_rollback VALUES (%s)", (token,))  # after the target: must survive
    before = _state(cluster)
    res = _run(run_playbook, {"postgresql_ha_pitr_target_time": target, "postgresql_ha_cluster_pitr_confirm": "odoo",
                              "postgresql_ha_pitr_timeout": 2}, check=False)
    assert res.returncode != 0
    assert 'failed at "Cluster PITR | Wait until it restored, recovered to the target' in res.stdout, \
        res.stdout[-4000:]
    assert "Rolled back: the old data directories are in place again" in res.stdout, res.stdout[-4000:]
    cluster.wait_healthy(120)
    after = _state(cluster)
    # the old leader starts as a standby on its own data and Patroni promotes it: at most one timeline more
    assert after[0] == before[0] and max(after[1]) <= max(before[1]) + 1, f"{before} -> {after}"
    assert _leftovers(cluster) == {}
    with cluster.connect(cluster.write_port()) as c:
        assert c.execute("SELECT count(*) FROM cluster_pitr_rollback WHERE token = %s", (token,)).fetchone()[0] == 1


def _replicates(cluster, table: str, value: str, timeout: float = 30) -> None:
    with cluster.connect(cluster.write_port()) as c:
        c.execute(f"CREATE TABLE IF NOT EXISTS {table}(v text)")
        c.execute(f"INSERT INTO {table} VALUES (%s)", (value,))  # noqa: S608 - fixed test table name
    leader = cluster.leader()
    for node in (n for n in NODES if n != leader):
        deadline = time.monotonic() + timeout
        found = False
        with cluster.connect(cluster.node_port(node)) as c:
            assert c.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
            while not found and time.monotonic() < deadline:
                found = c.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0] and \
                    c.execute(f"SELECT count(*) FROM {table} WHERE v = %s", (value,)).fetchone()[0] == 1  # noqa: S608
                time.sleep(0.3)
        assert found, f"{value} not replicated to {node}"


def test_cluster_pitr_rewinds_every_member_to_a_time_between_two_writes(run_playbook, cluster, recap) -> None:
    """Row 1, the target, row 2 and a dropped table (the accident); after the rewind the whole cluster has row 1 and
    the table, not row 2, on a new timeline with one leader and two streaming replicas, archiving to pgBackRest."""
    cluster.wait_healthy(180)
    healthy = False
    try:
        with cluster.connect(cluster.write_port()) as c:
            c.execute("DROP TABLE IF EXISTS cluster_pitr_probe")
            c.execute("DROP TABLE IF EXISTS cluster_pitr_victim")
            c.execute("CREATE TABLE cluster_pitr_probe(id int PRIMARY KEY, note text)")
            c.execute("CREATE TABLE cluster_pitr_victim AS SELECT g AS id FROM generate_series(1, 100) g")
            c.execute("INSERT INTO cluster_pitr_probe VALUES (1, 'before the target')")
            time.sleep(1.0)
            target = _now_target(c)
            time.sleep(1.0)
            c.execute("INSERT INTO cluster_pitr_probe VALUES (2, 'after the target')")
            c.execute("DROP TABLE cluster_pitr_victim")  # the accident
        old_leader, old_timelines, _ = _state(cluster)
        started = time.time()
        t0 = time.monotonic()
        res = _run(run_playbook, {"postgresql_ha_pitr_target_time": target,
                                  "postgresql_ha_cluster_pitr_confirm": "odoo"})
        took = time.monotonic() - t0
        assert all(c["failed"] == 0 for c in recap(res.stdout).values())
        assert f"odoo rewound to {target}: leader {old_leader} on timeline" in res.stdout, res.stdout[-4000:]
        assert "recovery stopping before commit" in res.stdout
        assert "Old data directories removed." in res.stdout

        state = cluster.wait_healthy(120)
        roles = sorted(m["role"] for m in state["members"])
        assert roles == ["leader", "replica", "sync_standby"], state
        timelines = {int(m["timeline"]) for m in state["members"]}
        assert len(timelines) == 1 and timelines.pop() > max(old_timelines), (old_timelines, state)
        healthy = True

        with cluster.connect(cluster.write_port()) as c:
            assert [r[0] for r in c.execute("SELECT id FROM cluster_pitr_probe ORDER BY id")] == [1]
            assert c.execute("SELECT count(*) FROM cluster_pitr_victim").fetchone()[0] == 100
        _replicates(cluster, "cluster_pitr_after", uuid.uuid4().hex)

        leader = cluster.leader()
        check = cluster.podman("exec", f"erpops-{leader}", "runuser", "-u", "postgres", "--", "pgbackrest",
                               "--stanza=odoo", "--log-level-console=warn", "check", check=False)
        assert check.returncode == 0, check.stderr + check.stdout
        info = json.loads(cluster.podman("exec", f"erpops-{leader}", "runuser", "-u", "postgres", "--", "pgbackrest",
                                         "--stanza=odoo", "--output=json", "info").stdout)[0]
        assert any(b["type"] == "full" and b["timestamp"]["start"] >= int(started) for b in info["backup"]), \
            info["backup"]
        assert _leftovers(cluster) == {}
        print(f"cluster PITR to {target}: {took:.0f}s, timeline {max(old_timelines)} -> "
              f"{state['members'][0]['timeline']}")
    finally:
        if not healthy:
            try:
                cluster.wait_healthy(60)
            except AssertionError:
                # leave a working cluster for whatever runs next (a failed rewind rolls back by itself; this is
                # the last resort when even that failed)
                run_playbook("playbooks/postgresql_ha.yml", inventory=INVENTORY, check=False)
