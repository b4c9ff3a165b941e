"""End to end: the monitoring role renders the configuration, a real Prometheus and real postgres_exporters
(Debian packages) scrape an Odoo-shaped database in the lab, and business alerts fire and resolve.

1. Create an Odoo-shaped database (tests/support/odoo_fixture.py) plus the tables of optional modules the
   generator lacks (queue_job, purchase_order).
2. playbooks/monitoring.yml (host target, services not managed, files under a temp dir): check mode writes nothing;
   the real run creates the read-only monitoring role and its grants and writes prometheus.yml, rule files,
   exporter queries and environment files; a second run changes nothing.
3. Start the platform and tenant postgres_exporters with the rendered environment files and Prometheus with the
   rendered prometheus.yml (1 s scrape/evaluation; every rule's "for" shortened to 1 s in the temp copy — the
   "for" durations themselves are covered by the promtool unit tests), all on 127.0.0.1.
4. Every custom metric is produced and no query fails; no business alert is active.
5. Make a cron overdue and a queue job fail -> OdooCronOverdue and OdooQueueJobFailed fire in /api/v1/alerts.
6. Clear both -> the alerts resolve.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import yaml

from tests.support import odoo_fixture

REPO = Path(__file__).resolve().parents[3]
DB = "erpops_mon_e2e"
TENANT = "e2e"
MON_USER = "erpops_monitor_e2e"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
EXPORTER = shutil.which("prometheus-postgres-exporter") or "/usr/bin/prometheus-postgres-exporter"

EXTRA_TABLES = """
CREATE TABLE queue_job (id serial PRIMARY KEY, uuid varchar NOT NULL, name varchar, channel varchar,
    method_name varchar, state varchar NOT NULL, exc_info text, date_created timestamp, date_started timestamp,
    date_done timestamp);
INSERT INTO queue_job (uuid, name, channel, method_name, state, date_created, date_done)
SELECT md5(g::text), 'Job ' || g, 'root.payroll', 'export_payslips', 'done',
       (now() AT TIME ZONE 'UTC') - interval '1 day', (now() AT TIME ZONE 'UTC') - interval '23 hours'
  FROM generate_series(1, 50) g;
CREATE TABLE purchase_order (id serial PRIMARY KEY, name varchar NOT NULL, state varchar, amount_total numeric,
    date_order timestamp, write_date timestamp);
INSERT INTO purchase_order (name, state, amount_total, date_order, write_date)
SELECT 'P' || lpad(g::text, 5, '0'), (ARRAY['draft', 'purchase', 'done'])[1 + g % 3], g * 100,
       now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC' FROM generate_series(1, 30) g;
UPDATE ir_cron SET nextcall = (now() AT TIME ZONE 'UTC') + interval '1 hour';
"""


def _conninfo(env: dict[str, str], dbname: str = "postgres") -> str:
    return psycopg.conninfo.make_conninfo(host=env["PGHOST"], port=env["PGPORT"], user=env["PGUSER"],
                                          password=env["PGPASSWORD"], dbname=dbname)


def _free_ports(n: int) -> int:
    """A base port with ``n`` consecutive free ports on 127.0.0.1."""
    for _ in range(200):
        base = 20000 + secrets.randbelow(30000)
        ok = True
        for p in range(base, base + n):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free ports")


def _read_env_file(path: Path) -> dict[str, str]:
    """The KEY="value" lines the role writes for systemd's EnvironmentFile (\\\\ and \\" escapes)."""
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r'^([A-Z_]+)="(.*)"$', line)
        if m:
            out[m.group(1)] = re.sub(r'\\(.)', r'\1', m.group(2))
    return out


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - 127.0.0.1 only
        return json.loads(resp.read())


def _status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - 127.0.0.1 only
        return resp.status


def _wait(pred: Callable[[], object], timeout: float, what: str, interval: float = 0.5) -> object:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError, KeyError):
            last = pred()
            if last:
                return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


@contextlib.contextmanager
def _process(argv: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def odoo_db(lab_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("odoo-data")
    odoo_fixture.create(DB, data_dir, size_mb=1, conninfo=_conninfo(lab_env))
    with psycopg.connect(_conninfo(lab_env, DB), autocommit=True) as conn:
        conn.execute(EXTRA_TABLES)
    try:
        yield DB
    finally:
        odoo_fixture.drop(DB, conninfo=_conninfo(lab_env))
        with psycopg.connect(_conninfo(lab_env), autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{MON_USER}"')


def _expected_metrics(queries_file: Path) -> set[str]:
    out = set()
    for namespace, q in yaml.safe_load(queries_file.read_text()).items():
        for col in q["metrics"]:
            (name, spec), = col.items()
            if spec["usage"] != "LABEL":
                out.add(f"{namespace}_{name}")
    return out


def _recap_changed(stdout: str) -> int:
    m = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)", stdout)
    assert m, stdout[-2000:]
    return int(m.group(1))


def test_business_alerts_fire_and_resolve(lab_env: dict[str, str], odoo_db: str, run_playbook,
                                          tmp_path: Path) -> None:
    base = _free_ports(3)
    prom_port = base + 2
    out = tmp_path / "rendered"
    mon_password = secrets.token_urlsafe(18)
    extra = {
        "monitoring_hosts": "localhost",
        "monitoring_install_packages": False,
        "monitoring_manage_services": False,
        "monitoring_prometheus_config_dir": str(out / "prometheus"),
        "monitoring_exporter_config_dir": str(out / "exporter"),
        "monitoring_textfile_dir": str(out / "textfile"),
        "monitoring_dashboards_dir": str(out / "dashboards"),
        "monitoring_blackbox_config": str(out / "blackbox.yml"),
        "monitoring_node_exporter_targets": [],
        "monitoring_scrape_interval": "1s",
        "monitoring_evaluation_interval": "1s",
        "monitoring_postgres_exporter_base_port": base,
        "monitoring_pg_host": lab_env["PGHOST"],
        "monitoring_pg_port": int(lab_env["PGPORT"]),
        "monitoring_pg_sslmode": "disable",
        "monitoring_pg_user": MON_USER,
        "monitoring_pg_password": mon_password,
        "monitoring_pg_manage_role": True,
        "monitoring_pg_admin_user": lab_env["PGUSER"],
        "monitoring_pg_admin_password": lab_env["PGPASSWORD"],
        "monitoring_tenants": [{
            "name": TENANT, "db_name": odoo_db,
            "integrations": [{
                "name": "payroll_export", "max_items": 100, "max_age_seconds": 7200,
                "sql": "SELECT count(*) AS items, coalesce(extract(epoch FROM (now() AT TIME ZONE 'UTC') "
                       "- min(date_created)), 0) AS oldest_age_seconds FROM queue_job "
                       "WHERE channel = 'root.payroll' AND state IN ('pending', 'enqueued')"}],
        }],
    }
    varsfile = tmp_path / "vars.yml"
    varsfile.write_text(yaml.safe_dump(extra))

    # -- check mode: nothing written, no role created --------------------------------------------------------
    res = run_playbook("playbooks/monitoring.yml", "-e", f"@{varsfile}", "--check")
    assert _recap_changed(res.stdout) > 0
    assert not (out / "prometheus" / "prometheus.yml").exists()
    with psycopg.connect(_conninfo(lab_env), autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (MON_USER,)).fetchone() is None

    # -- real run, then idempotence -------------------------------------------------------------------------------
    run_playbook("playbooks/monitoring.yml", "-e", f"@{varsfile}")
    res = run_playbook("playbooks/monitoring.yml", "-e", f"@{varsfile}")
    assert _recap_changed(res.stdout) == 0, res.stdout[-3000:]

    with psycopg.connect(_conninfo(lab_env, odoo_db), autocommit=True) as conn:
        row = conn.execute(
            "SELECT r.rolsuper, r.rolconfig, has_table_privilege(%s, 'queue_job', 'SELECT'), "
            "has_table_privilege(%s, 'res_partner', 'SELECT') FROM pg_roles r WHERE r.rolname = %s",
            (MON_USER, MON_USER, MON_USER)).fetchone()
    assert row[0] is False
    assert "default_transaction_read_only=on" in row[1]
    assert row[2] is True, "monitoring role must read queue_job"
    assert row[3] is False, "monitoring role must not read business data it does not need"

    # the secret stays in the 0600 environment file only
    env_file = out / "exporter" / f"{TENANT}.env"
    assert env_file.stat().st_mode & 0o077 == 0
    for f in (out / "prometheus").rglob("*"):
        if f.is_file():
            assert mon_password not in f.read_text()

    # -- shorten "for" in the temp copy of the rules (promtool tests cover the real durations) -----------------
    for rules in (out / "prometheus" / "rules").glob("*.rules.yml"):
        rules.write_text(re.sub(r"(?m)^(\s+for:) \S+$", r"\1 1s", rules.read_text()))
    check = subprocess.run(["promtool", "check", "config", str(out / "prometheus" / "prometheus.yml")],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr

    logs = tmp_path / "logs"
    logs.mkdir()
    prom_url = f"http://127.0.0.1:{prom_port}"

    def exporter(name: str) -> list[str]:
        args = _read_env_file(out / "exporter" / f"{name}.env")["ARGS"].split()
        assert any(a.startswith("--web.listen-address=127.0.0.1:") for a in args)
        return [EXPORTER, *args]

    def exporter_env(name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["DATA_SOURCE_NAME"] = _read_env_file(out / "exporter" / f"{name}.env")["DATA_SOURCE_NAME"]
        return env

    def query(expr: str) -> list[dict]:
        data = _get(f"{prom_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        return data["data"]["result"]

    def active_alerts(*names: str) -> dict[str, str]:
        alerts = _get(f"{prom_url}/api/v1/alerts")["data"]["alerts"]
        return {a["labels"]["alertname"]: a["state"] for a in alerts
                if a["labels"]["alertname"] in names and a["labels"].get("tenant") == TENANT}

    with (
        _process(exporter("platform"), logs / "exporter-platform.log", exporter_env("platform")),
        _process(exporter(TENANT), logs / "exporter-tenant.log", exporter_env(TENANT)),
        _process([PROMETHEUS, f"--config.file={out / 'prometheus' / 'prometheus.yml'}",
                  f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}",
                  "--storage.tsdb.retention.time=1h", "--web.enable-lifecycle"], logs / "prometheus.log"),
    ):
        try:
            _wait(lambda: _status(f"{prom_url}/-/ready") == 200, 60, "Prometheus ready")
            _wait(lambda: query(f'odoo_cron_active{{tenant="{TENANT}"}}'), 60, "first scrape of the tenant exporter")

            # every custom metric of both exporters is produced, and no query fails
            expected = _expected_metrics(out / "exporter" / f"{TENANT}.queries.yaml")
            expected |= _expected_metrics(out / "exporter" / "platform.queries.yaml")
            expected.discard("odoo_cron_late_delay_seconds")  # one series per overdue cron: none yet

            def produced() -> set[str]:
                return {r["metric"]["__name__"] for r in query('{job=~"odoo_business|postgres_platform"}')}

            _wait(lambda: expected <= produced(), 30, f"metrics {sorted(expected - produced())}")
            # the postgres_exporter metrics the rules and dashboards may use are produced by the Debian exporter
            listed = yaml.safe_load((REPO / "tests" / "unit" / "monitoring" / "exporter_metrics.yml").read_text())
            platform = {r["metric"]["__name__"] for r in query('{job="postgres_platform"}')}
            assert set(listed["postgres_exporter"]) <= platform, sorted(set(listed["postgres_exporter"]) - platform)
            errors = query("pg_exporter_last_scrape_error")
            assert errors and all(r["value"][1] == "0" for r in errors), (
                errors, (logs / "exporter-tenant.log").read_text()[-3000:])
            assert query(f'odoo_source_readable{{tenant="{TENANT}", source="queue_job"}}')[0]["value"][1] == "1"
            assert query(f'odoo_queue_job_jobs{{tenant="{TENANT}", state="failed"}}')[0]["value"][1] == "0"
            assert query(f'odoo_cron_overdue{{tenant="{TENANT}"}}')[0]["value"][1] == "0"
            assert query("up == 0") == [], "every scrape target is up"

            time.sleep(3)  # several evaluations with healthy data
            assert active_alerts("OdooCronOverdue", "OdooQueueJobFailed") == {}

            # -- break: an overdue cron and a failed job ------------------------------------------------------------
            with psycopg.connect(_conninfo(lab_env, odoo_db), autocommit=True) as conn:
                conn.execute("UPDATE ir_cron SET nextcall = (now() AT TIME ZONE 'UTC') - interval '3 hours' "
                             "WHERE id = (SELECT min(id) FROM ir_cron)")
                conn.execute("INSERT INTO queue_job (uuid, name, channel, method_name, state, exc_info, date_created) "
                             "VALUES ('e2e-failed', 'Export payslips', 'root.payroll', 'export_payslips', 'failed', "
                             "'ConnectionError: payroll provider unreachable', now() AT TIME ZONE 'UTC')")
            both_firing = {"OdooCronOverdue": "firing", "OdooQueueJobFailed": "firing"}
            _wait(lambda: active_alerts("OdooCronOverdue", "OdooQueueJobFailed") == both_firing, 60,
                  "OdooCronOverdue and OdooQueueJobFailed to fire")
            late = query(f'odoo_cron_late_delay_seconds{{tenant="{TENANT}"}}')
            assert len(late) == 1 and float(late[0]["value"][1]) > 3 * 3600 - 60

            # -- clear: the cron runs again, the job is requeued and done ------------------------------------------
            with psycopg.connect(_conninfo(lab_env, odoo_db), autocommit=True) as conn:
                conn.execute("UPDATE ir_cron SET nextcall = (now() AT TIME ZONE 'UTC') + interval '1 hour'")
                conn.execute("UPDATE queue_job SET state = 'done', date_done = now() AT TIME ZONE 'UTC' "
                             "WHERE uuid = 'e2e-failed'")
            _wait(lambda: active_alerts("OdooCronOverdue", "OdooQueueJobFailed") == {}, 60,
                  "OdooCronOverdue and OdooQueueJobFailed to resolve")
        except BaseException:
            for log in sorted(logs.glob("*.log")):
                print(f"--- {log.name}\n{log.read_text()[-3000:]}")
            raise
