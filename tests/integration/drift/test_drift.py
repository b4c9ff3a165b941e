"""Drift detection and remediation against the lab (kube + postgres; pgnodes' Patroni when reachable).

Kubernetes: the lab tenants are deployed with playbooks/deploy.yml, drift.yml must report zero drift,
then each injected drift (kubectl, another field manager) is detected naming the field; a check-mode
remediation changes nothing; remediation clears the Kubernetes drift; the next check is clean.
PostgreSQL: a setting changed with ALTER SYSTEM on the lab server (restored afterwards).
Patroni: ``PATCH /config`` on the lab pgnodes cluster when its REST API answers on 127.0.0.1, else on a
local HTTP stand-in serving ``/config`` (the test prints which one it used).
Odoo: an Odoo-shaped scratch database (tests/support/odoo_fixture.py), one module row uninstalled.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.drift import check, sql
from ansible_collections.erpops.odoo.plugins.module_utils.drift.patroni import client_getter
from ansible_collections.erpops.odoo.plugins.module_utils.patroni.client import PatroniClient

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from tests.support import odoo_fixture  # noqa: E402

TENANTS = ("acme", "globex", "initech")


@pytest.fixture(scope="module")
def kubectl(lab_env: dict[str, str]):
    exe = lab_env.get("LAB_KUBECTL")
    if not exe or not Path(exe).exists():
        pytest.fail("the lab kube service provides no kubectl (LAB_KUBECTL): start it with `make lab-up`")

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        res = subprocess.run([exe, "--kubeconfig", lab_env["KUBECONFIG"], *args], capture_output=True, text=True,
                             check=False)
        if check and res.returncode != 0:
            pytest.fail("kubectl %s: %s" % (" ".join(args), res.stderr))
        return res

    return run


@pytest.fixture(scope="module")
def deployed(run_playbook):
    # no rollout wait: drift is about declared state, and kwok's node heartbeats flap on a loaded machine
    run_playbook("playbooks/deploy.yml", "-e", "odoo_wait=false")
    return TENANTS


def drift_run(run_playbook, *args: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Run drift.yml with the JSON callback: (rc, drift_check result, set_stats data)."""
    res = run_playbook("playbooks/drift.yml", *args, check=False, extra_env={
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_SHOW_CUSTOM_STATS": "1"})
    out = json.loads(res.stdout[res.stdout.index("{"):])
    result = None
    for play in out["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].startswith("Check drift"):
                result = next(iter(task["hosts"].values()))
    assert result is not None, res.stdout[-3000:]
    assert "msg" not in result or not result.get("failed"), result.get("msg")
    return res.returncode, result, out.get("global_custom_stats", {}).get("drift", {})


def found(result: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(i["resource"], i["change"], i["path"]) for i in result["items"]}


def test_zero_drift_after_deploy_then_each_injection_named_and_remediated(deployed, run_playbook, kubectl,
                                                                           lab_env):
    rc, result, stats = drift_run(run_playbook, "-e", "drift_fail_on_drift=true")
    assert rc == 0 and result["drifted"] is False and result["items"] == [], result["items"]
    assert result["counts"]["instances"] == 3
    assert stats["drifted"] is False and stats["counts"]["total"] == 0
    assert Path(stats["reports"]["html"]).read_text().startswith("<!DOCTYPE html>")
    assert str(Path(lab_env["LAB_DIR"]) / "reports") in stats["reports"]["markdown"]

    # inject one drift of every kind, each by another field manager (kubectl)
    kubectl("scale", "deployment/acme-lab-web", "-n", "acme-lab", "--replicas=5")
    kubectl("set", "image", "deployment/acme-lab-cron", "-n", "acme-lab", "odoo=registry.lab.invalid/odoo:18.0")
    kubectl("set", "env", "deployment/acme-lab-web", "-n", "acme-lab", "PGAPPNAME=hijacked")
    kubectl("patch", "deployment/globex-lab-web", "-n", "globex-lab", "--type=strategic", "-p", json.dumps(
        {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox:1"}]}}}}))
    kubectl("patch", "middleware.traefik.io/globex-lab-ratelimit", "-n", "globex-lab", "--type=merge", "-p",
            json.dumps({"spec": {"rateLimit": {"average": 1}}}))
    kubectl("delete", "service/initech-lab-ws", "-n", "initech-lab")
    kubectl("create", "deployment", "miner", "-n", "initech-lab", "--image=busybox:1")
    try:
        expected = {
            ("Deployment acme-lab/acme-lab-web", "changed", "spec.replicas"),
            ("Deployment acme-lab/acme-lab-cron", "changed", "spec.template.spec.containers[odoo].image"),
            ("Deployment acme-lab/acme-lab-web", "changed", "spec.template.spec.containers[odoo].env[PGAPPNAME].value"),
            ("Deployment globex-lab/globex-lab-web", "added", "spec.template.spec.containers[sidecar]"),
            ("Middleware globex-lab/globex-lab-ratelimit", "changed", "spec.rateLimit.average"),
            ("Service initech-lab/initech-lab-ws", "missing", ""),
            ("Deployment initech-lab/miner", "unmanaged", ""),
        }
        rc, result, stats = drift_run(run_playbook, "-e", "drift_fail_on_drift=true")
        assert rc != 0, "fail_on_drift must fail the play"
        assert found(result) == expected
        by_path = {i["path"]: i for i in result["items"]}
        assert by_path["spec.replicas"]["desired"] == 2 and by_path["spec.replicas"]["live"] == 5
        assert by_path["spec.template.spec.containers[odoo].image"]["live"] == "registry.lab.invalid/odoo:18.0"
        assert stats["counts"]["total"] == 7 and stats["counts"]["by_tenant"] == {"acme": 3, "globex": 2,
                                                                                   "initech": 2}
        md = Path(stats["reports"]["markdown"]).read_text()
        assert "spec.template.spec.containers[odoo].env[PGAPPNAME].value" in md

        # check mode: the remediation is planned, nothing changes
        rv = kubectl("get", "deployment/acme-lab-web", "-n", "acme-lab", "-o",
                     "jsonpath={.metadata.resourceVersion}").stdout
        rc, result, stats = drift_run(run_playbook, "--check", "-e", "drift_remediate=true",
                                      "-e", "drift_delete_unmanaged=true")
        assert rc == 0 and result["changed"] is True and len(result["remediated"]) == 7
        assert kubectl("get", "deployment/acme-lab-web", "-n", "acme-lab", "-o",
                       "jsonpath={.metadata.resourceVersion}").stdout == rv
        assert kubectl("get", "service/initech-lab-ws", "-n", "initech-lab", check=False).returncode != 0

        # remediation through the deploy engine clears every Kubernetes drift
        rc, result, stats = drift_run(run_playbook, "-e", "drift_remediate=true", "-e", "drift_delete_unmanaged=true",
                                      "-e", "drift_fail_on_drift=true")
        assert rc == 0, result["unremediated"]
        assert result["unremediated"] == [] and len(result["remediated"]) == 7
        assert result["remaining"]["total"] == 0
        assert kubectl("get", "deployment/acme-lab-web", "-n", "acme-lab", "-o",
                       "jsonpath={.spec.replicas}").stdout == "2"
        containers = kubectl("get", "deployment/globex-lab-web", "-n", "globex-lab", "-o",
                             "jsonpath={.spec.template.spec.containers[*].name}").stdout
        assert containers == "odoo"
        kubectl("get", "service/initech-lab-ws", "-n", "initech-lab")

        # and the next check is clean
        rc, result, stats = drift_run(run_playbook, "-e", "drift_fail_on_drift=true")
        assert rc == 0 and result["items"] == [] and stats["drifted"] is False
    finally:
        kubectl("delete", "deployment/miner", "-n", "initech-lab", "--ignore-not-found")
        run_playbook("playbooks/deploy.yml", "-e", "odoo_wait=false", check=False)


def test_unremediated_unmanaged_object_is_reported_with_reason(deployed, lab_env, kubectl):
    from ansible_collections.erpops.odoo.plugins.module_utils.k8s.apply import Engine, new_client

    kubectl("create", "configmap", "notes", "-n", "acme-lab", "--from-literal=a=b")
    try:
        specs = _lab_specs(lab_env)
        res = check.execute(check.DriftRun(Engine(new_client(lab_env["KUBECONFIG"]))), specs, remediate=True)
        assert [(i["resource"], i["change"]) for i in res["unremediated"]] == [("ConfigMap acme-lab/notes",
                                                                               "unmanaged")]
        assert "delete_unmanaged" in res["unremediated"][0]["reason"]
        assert res["actions"] == []
    finally:
        kubectl("delete", "configmap/notes", "-n", "acme-lab", "--ignore-not-found")


def _lab_specs(lab_env: dict[str, str]) -> list[dict[str, Any]]:
    """The lab inventory's specs, as the deploy role builds them (read back from the release history)."""
    from ansible_collections.erpops.odoo.plugins.module_utils.k8s import release as rel
    from ansible_collections.erpops.odoo.plugins.module_utils.k8s.apply import Engine, new_client

    engine = Engine(new_client(lab_env["KUBECONFIG"]))
    return [rel.read(engine, "%s-lab" % t, "%s-lab" % t)[-1]["spec"] for t in TENANTS]


# -- PostgreSQL ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pg_conn(lab_env: dict[str, str]) -> dict[str, Any]:
    return {"host": lab_env["PGHOST"], "port": int(lab_env["PGPORT"]), "user": lab_env["PGUSER"],
            "password": lab_env["PGPASSWORD"]}


def test_postgresql_setting_change_detected_and_restored(pg_conn):
    conninfo = "host={host} port={port} user={user} password={password} dbname=postgres".format(**pg_conn)
    with psycopg.connect(conninfo, autocommit=True) as c:
        setting, unit = c.execute("SELECT setting, unit FROM pg_settings WHERE name = 'work_mem'").fetchone()
        assert unit == "kB"
        desired = {"work_mem": "%dMB" % (int(setting) // 1024) if int(setting) % 1024 == 0 else setting + "kB",
                   "max_connections": c.execute("SHOW max_connections").fetchone()[0]}

        def detect() -> list[dict[str, Any]]:
            reader = sql.Reader(pg_conn)
            try:
                return check.DriftRun().detect([], pg_fetch=reader.fetch, pg_settings=desired)["items"]
            finally:
                reader.close()

        assert detect() == []  # unit normalisation: '4MB' equals 4096 kB
        try:
            c.execute("ALTER SYSTEM SET work_mem = '7MB'")
            c.execute("SELECT pg_reload_conf()")
            items = detect()
            assert [(i["name"], i["change"], i["desired"]) for i in items] == [("work_mem", "changed",
                                                                                 desired["work_mem"])]
            assert items[0]["live"].startswith("7168 (7MB")
        finally:
            c.execute("ALTER SYSTEM RESET work_mem")
            c.execute("SELECT pg_reload_conf()")
        assert detect() == []


# -- Patroni ---------------------------------------------------------------------------------
class _StandIn(BaseHTTPRequestHandler):
    config: dict[str, Any] = {}

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(type(self).config)

    def do_PATCH(self) -> None:
        patch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))

        def merge(a: dict[str, Any], b: dict[str, Any]) -> None:
            for k, v in b.items():
                if isinstance(v, dict) and isinstance(a.get(k), dict):
                    merge(a[k], v)
                elif v is None:
                    a.pop(k, None)
                else:
                    a[k] = v

        merge(type(self).config, patch)
        self._send(type(self).config)


def _real_patroni(lab_env: dict[str, str]) -> tuple[list[str], str | None, str | None] | None:
    env = dict(lab_env)
    main_env = REPO / ".lab" / "env"
    if "PGNODES_PG1_REST_PORT" not in env and main_env.exists():
        from lab.framework import read_env

        env.update({k: v for k, v in read_env(main_env).items() if k.startswith("PGNODES_")})
    ports = [env.get("PGNODES_%s_REST_PORT" % n.upper()) for n in ("pg1", "pg2", "pg3")]
    urls = ["http://127.0.0.1:%s" % p for p in ports if p]
    for url in urls:
        with contextlib.suppress(Exception):
            client = PatroniClient([url], username="patroni", password=env.get("PGNODES_REST_PASSWORD"), timeout=2)
            if isinstance(client_getter(client)(), dict):
                return urls, "patroni", env.get("PGNODES_REST_PASSWORD")
    return None


def test_patroni_parameter_change_detected(lab_env):
    real = _real_patroni(lab_env)
    server = None
    if real:
        urls, user, password = real
        print("Patroni: the lab pgnodes cluster at %s" % urls[0])
    else:
        _StandIn.config = {"ttl": 30, "loop_wait": 10, "retry_timeout": 10, "maximum_lag_on_failover": 1048576,
                           "postgresql": {"use_pg_rewind": True, "parameters": {
                               "max_connections": 200, "wal_level": "replica", "work_mem": "4MB"}}}
        server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        urls, user, password = ["http://127.0.0.1:%d" % server.server_address[1]], None, None
        print("Patroni: REST API of the lab pgnodes cluster not reachable on 127.0.0.1; local stand-in at %s"
              % urls[0])
    client = PatroniClient(urls, username=user, password=password, timeout=5)
    get = client_getter(client)
    try:
        live = get()
        params = live.get("postgresql", {}).get("parameters", {})
        original = params.get("max_connections", 100)
        desired = {"ttl": live.get("ttl", 30), "postgresql": {"parameters": {"max_connections": str(original)}}}
        assert check.DriftRun().detect([], patroni_get=get, patroni_config=desired)["items"] == []
        changed = int(original) + 7
        client.request("PATCH", urls[0] + "/config", {"postgresql": {"parameters": {"max_connections": changed}}})
        try:
            items = check.DriftRun().detect([], patroni_get=get, patroni_config=desired)["items"]
            assert [(i["path"], i["desired"], int(i["live"])) for i in items] == [
                ("postgresql.parameters.max_connections", str(original), changed)]
        finally:
            client.request("PATCH", urls[0] + "/config",
                           {"postgresql": {"parameters": {"max_connections": params.get("max_connections")}}})
        assert check.DriftRun().detect([], patroni_get=get, patroni_config=desired)["items"] == []
    finally:
        if server:
            server.shutdown()


# -- Odoo --------------------------------------------------------------------------------------
def test_odoo_module_row_uninstalled_detected(pg_conn, tmp_path):
    conninfo = "host={host} port={port} user={user} password={password}".format(**pg_conn)
    db = "drift_odoo_%s" % secrets.token_hex(3)
    odoo_fixture.create(db, tmp_path, size_mb=1, conninfo=conninfo)
    try:
        with psycopg.connect(conninfo, dbname=db, autocommit=True) as c:
            modules = dict(c.execute("SELECT name, latest_version FROM ir_module_module WHERE state = 'installed' "
                                     "AND name IN ('base', 'sale', 'account')").fetchall())
            url = c.execute("SELECT value FROM ir_config_parameter WHERE key = 'web.base.url'").fetchone()[0]
        desired = {"dbname": db, "instance": "acme-lab", "modules": modules, "absent_modules": ["website"],
                   "parameters": {"web.base.url": url, "database.is_neutralized": None}}

        def detect() -> list[dict[str, Any]]:
            reader = sql.Reader(pg_conn, db)
            try:
                return check.DriftRun().detect([], odoo=[(reader.fetch, desired)])["items"]
            finally:
                reader.close()

        assert detect() == []
        with psycopg.connect(conninfo, dbname=db, autocommit=True) as c:
            c.execute("UPDATE ir_module_module SET state = 'uninstalled' WHERE name = 'sale'")
            c.execute("INSERT INTO ir_config_parameter (key, value) VALUES ('database.is_neutralized', 'True')")
        items = detect()
        assert {(i["kind"], i["name"], i["path"], i["desired"], i["live"]) for i in items} == {
            ("ir_module_module", "sale", "state", "installed", "uninstalled"),
            ("ir_config_parameter", "database.is_neutralized", "value", None, "True")}
    finally:
        odoo_fixture.drop(db, conninfo)
        import shutil

        shutil.rmtree(tmp_path / "filestore", ignore_errors=True)
