"""restore.yml on a Kubernetes tenant: cron stopped, restore validated up to /web/health through a route, the
image's `odoo neutralize` Job, the instance re-applied; the replaced database put back when the route check fails.

kwok pods serve nothing and the lab Traefik's routes point at pod addresses the lab never dials, so the route
check goes through a Traefik of its own (file provider, 127.0.0.1) to a stand-in that answers like Odoo's
/web/health; the test switches it between healthy and failing.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support import odoo_fixture
from tests.support.traefik_file import file_traefik, traefik_binary

from .conftest import Cluster, history, lab_s3, recap, tables

pytestmark = [pytest.mark.lab]

TENANT = "acme"
NS = "acme-lab"
HOST = "acme.lab.erpops.test"
MARKER = "erpops_written_after_backup"
#: the instance's attachments (filestore.type s3 in inventories/lab): bucket erpops-lab-acme, folder acme/
BUCKET, PREFIX = "erpops-lab-acme", "acme"
AFTER_KEY = PREFIX + "/zz/written-after-backup"
ATTACHMENTS = ("-e", "odoo_backup_attachments_bucket=" + BUCKET, "-e", "odoo_backup_attachments_prefix=" + PREFIX)


class Health(BaseHTTPRequestHandler):
    """Odoo's /web/health: 200 {"status": "pass"} when healthy, else 503; records the Host headers it saw."""

    healthy = True
    hosts: list[str] = []

    def do_GET(self) -> None:
        Health.hosts.append(self.headers.get("Host", ""))
        ok = self.path == "/web/health" and Health.healthy
        body = json.dumps({"status": "pass"} if ok else {"status": "fail"}).encode()
        self.send_response(200 if ok else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def route(lab_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The /web/health URL through a file-provider Traefik whose router for the tenant's host reaches the stand-in."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    dynamic = {"http": {
        "routers": {"acme": {"rule": f"Host(`{HOST}`)", "entryPoints": ["web"], "service": "odoo"}},
        "services": {"odoo": {"loadBalancer": {"servers": [
            {"url": "http://127.0.0.1:%d" % server.server_address[1]}]}}}}}
    try:
        with file_traefik(traefik_binary(lab_env), tmp_path_factory.mktemp("restore-route"), dynamic,
                          {"acme@file"}) as t:
            yield "http://127.0.0.1:%d/web/health" % t["ports"]["web"]
    finally:
        server.shutdown()


def _leftovers(conninfo: str) -> list[str]:
    with psycopg.connect(conninfo, dbname="postgres") as c:
        return [r[0] for r in c.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (TENANT + "_old_%",))]


def _drop_all(conninfo: str) -> None:
    for name in [TENANT, *_leftovers(conninfo)]:
        odoo_fixture.drop(name, conninfo)


def _objects(client: Any) -> dict[str, int]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX + "/")
    return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}


@pytest.fixture(scope="module")
def attachments(lab_env: dict[str, str]) -> Any:
    """An S3 client of the lab; the instance's attachments bucket emptied."""
    client = lab_s3(lab_env, BUCKET).client()
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": lab_env["AWS_REGION"]})
    for key in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for o in key.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=o["Key"])
    return client


@pytest.fixture(scope="module")
def deployed(run_playbook, conninfo: str, attachments: Any, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[dict[str, Any]]:
    """acme deployed, its database (owned by the role Odoo connects as) and attachments (in its bucket) backed up;
    yields the backup id, the objects backed up and the S3 client."""
    _drop_all(conninfo)
    made = odoo_fixture.create(TENANT, tmp_path_factory.mktemp("restore-k8s"), 1, conninfo=conninfo)
    fs = Path(made["filestore"])
    for path in sorted(p for p in fs.rglob("*") if p.is_file()):
        attachments.upload_file(str(path), BUCKET, "%s/%s" % (PREFIX, path.relative_to(fs).as_posix()))
    with psycopg.connect(conninfo, dbname="postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_roles WHERE rolname = 'odoo_acme'").fetchone():
            c.execute("CREATE ROLE odoo_acme NOLOGIN")
    run_playbook("playbooks/deploy.yml", "-l", TENANT)
    res = run_playbook("playbooks/backup.yml", "-l", TENANT, *ATTACHMENTS)
    backup_id = re.search(r"%s: backup (\S+)" % TENANT, res.stdout)
    assert backup_id, res.stdout[-3000:]
    objects = _objects(attachments)
    assert len(objects) == made["filestore_files"] > 0
    yield {"id": backup_id.group(1), "objects": objects, "s3": attachments}
    _drop_all(conninfo)


def _write_after_backup(conninfo: str, client: Any) -> None:
    with psycopg.connect(conninfo, dbname=TENANT, autocommit=True) as c:
        c.execute("CREATE TABLE IF NOT EXISTS %s (id int)" % MARKER)
    client.put_object(Bucket=BUCKET, Key=AFTER_KEY, Body=b"an attachment added after the backup")


def _restore(run_playbook, url: str, *extra: str, check: bool = True):
    return run_playbook("playbooks/restore.yml", "-l", TENANT, *ATTACHMENTS, "-e", "restore_overwrite=true",
                        "-e", "restore_neutralize=true", "-e", "restore_release_gate=false",
                        "-e", json.dumps({"restore_verify_url": url, "restore_verify_headers": {"Host": HOST}}),
                        *extra, check=check)


def _cron_replicas(cluster: Cluster) -> int:
    return int(cluster.get("apps/v1", "Deployment", "acme-lab-cron", NS)["spec"]["replicas"])


def _neutralize_jobs(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """Neutralize Jobs of the instance by name (earlier runs' Jobs stay until their TTL)."""
    jobs = cluster.res("batch/v1", "Job").get(namespace=NS).to_dict()["items"]
    return {j["metadata"]["name"]: j for j in jobs if j["metadata"]["name"].startswith("acme-lab-neutralize-")}


def _neutralized(conninfo: str) -> tuple[int, int, str | None]:
    with psycopg.connect(conninfo, dbname=TENANT) as c:
        crons = c.execute("SELECT count(*) FROM ir_cron WHERE active").fetchone()[0]
        mail = c.execute("SELECT count(*) FROM ir_mail_server WHERE active").fetchone()[0]
        flag = c.execute("SELECT value FROM ir_config_parameter WHERE key = 'database.is_neutralized'").fetchone()
    return int(crons), int(mail), flag[0] if flag else None


def test_check_mode_changes_nothing(run_playbook, cluster: Cluster, conninfo: str, deployed: dict[str, Any],
                                    route: str) -> None:
    attachments = deployed["s3"]
    _write_after_backup(conninfo, attachments)
    objects = _objects(attachments)
    replicas, jobs = _cron_replicas(cluster), _neutralize_jobs(cluster)
    res = _restore(run_playbook, route, "--check")
    assert "would be restored" in res.stdout and deployed["id"] in res.stdout
    assert MARKER in tables(conninfo, TENANT) and _objects(attachments) == objects
    assert _cron_replicas(cluster) == replicas >= 1
    assert _neutralize_jobs(cluster).keys() == jobs.keys() and _leftovers(conninfo) == []
    assert _neutralized(conninfo)[0] > 0  # the live database still has its active scheduled actions


def test_restore_neutralizes_with_a_job_and_checks_the_route(run_playbook, cluster: Cluster, conninfo: str,
                                                            deployed: dict[str, Any], route: str) -> None:
    attachments = deployed["s3"]
    _write_after_backup(conninfo, attachments)
    replicas, before = _cron_replicas(cluster), _neutralize_jobs(cluster)
    Health.healthy, Health.hosts[:] = True, []
    res = _restore(run_playbook, route)
    assert recap(res.stdout)[TENANT]["failed"] == 0
    assert "restored and validated into acme" in res.stdout and "route healthy after 1 attempt(s)" in res.stdout
    # database and attachments are the backup's: written-after-backup table and object gone, nothing kept aside,
    # the database owned by the role Odoo connects as
    assert MARKER not in tables(conninfo, TENANT)
    assert _objects(attachments) == deployed["objects"]
    assert not [k for k in attachments.list_objects_v2(Bucket=BUCKET).get("Contents", []) if ".old-" in k["Key"]]
    assert _leftovers(conninfo) == []
    with psycopg.connect(conninfo, dbname="postgres") as c:
        owner = c.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (TENANT,)).fetchone()
    assert owner[0] == "odoo_acme"
    # neutralized: the SQL path at once (checked in the database), then the image's command as a Job
    assert _neutralized(conninfo) == (0, 0, "true")
    jobs = [j for name, j in _neutralize_jobs(cluster).items() if name not in before]
    assert len(jobs) == 1 and (jobs[0]["status"].get("succeeded") or 0) == 1
    c = jobs[0]["spec"]["template"]["spec"]["containers"][0]
    assert c["command"] == ["odoo"] and c["args"] == ["neutralize", "-c", "/etc/odoo/odoo.conf", "-d", "acme"]
    assert "Job %s" % jobs[0]["metadata"]["name"] in res.stdout
    # the instance is back: cron at its replicas and ready, the restore recorded in the release history
    assert _cron_replicas(cluster) == replicas and cluster.ready(NS, "acme-lab-cron")
    assert "restore of backup %s of acme (neutralized)" % deployed["id"] in history(cluster, TENANT)[-1]["note"]
    # the route check went through Traefik with the tenant's Host header
    assert HOST in Health.hosts


def test_failing_route_check_puts_database_and_attachments_back(run_playbook, cluster: Cluster, conninfo: str,
                                                              deployed: dict[str, Any], route: str) -> None:
    attachments = deployed["s3"]
    _write_after_backup(conninfo, attachments)
    objects = _objects(attachments)
    replicas = _cron_replicas(cluster)
    Health.healthy, Health.hosts[:] = False, []
    try:
        res = _restore(run_playbook, route, "-e", "odoo_restore_verify_retries=2", "-e", "odoo_restore_verify_delay=1",
                       check=False)
    finally:
        Health.healthy = True
    assert res.returncode != 0
    assert 'did not answer {"status": "pass"} in 3 attempts (last: HTTP 503' in res.stdout
    assert "nothing was replaced: the previous database (and attachments) are in place" in res.stdout
    assert len(Health.hosts) == 3  # first try + 2 retries
    # the database and attachments written after the backup are back; nothing left aside; cron running again
    assert MARKER in tables(conninfo, TENANT)
    assert _objects(attachments) == objects and AFTER_KEY in objects
    assert _leftovers(conninfo) == []
    assert _cron_replicas(cluster) == replicas and cluster.ready(NS, "acme-lab-cron")
