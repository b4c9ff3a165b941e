"""Deploy, check mode, idempotence, bad input, upgrade, automatic rollback and rollback.yml on the lab cluster.

The tests build on each other in file order (one lab, three tenants from inventories/lab).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support import odoo_fixture

from .conftest import TENANTS, Cluster, backup_manifest, history, recap, tables

OLD_IMAGE = "registry.lab.invalid/odoo:17.0"
NEW_IMAGE = "registry.lab.invalid/odoo:17.0-20261203"


HOOK = str(Path(__file__).resolve().parent / "files" / "backup_then_half_migrate.yml")


@pytest.fixture(scope="module", autouse=True)
def fresh_tenants(cluster: Cluster) -> None:
    cluster.delete_namespaces(tuple("%s-lab" % t for t in TENANTS))


def _drop_tenant_databases(conninfo: str) -> None:
    """The lab tenants' databases and any copy a restore kept aside (``<tenant>_old_<hex>``)."""
    with psycopg.connect(conninfo, dbname="postgres") as c:
        names = [r[0] for r in c.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s) "
                                         "OR datname LIKE ANY(%s)",
                                         (list(TENANTS), ["%s%%old%%" % t for t in TENANTS]))]
    for name in names:
        odoo_fixture.drop(name, conninfo)


@pytest.fixture(scope="module", autouse=True)
def tenant_databases(conninfo: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each lab tenant's Odoo-shaped database on the lab PostgreSQL: upgrade.yml backs it up before the update
    Job and restores it after a failed one. Leftovers of an earlier run (``make demo`` makes the same databases)
    are dropped first, everything again at the end."""
    _drop_tenant_databases(conninfo)
    data = tmp_path_factory.mktemp("tenant-data")
    for tenant in TENANTS:
        odoo_fixture.create(tenant, data, 1, conninfo=conninfo)
    yield
    _drop_tenant_databases(conninfo)


def test_deploy_three_tenants(run_playbook, cluster: Cluster) -> None:
    res = run_playbook("playbooks/deploy.yml")
    counts = recap(res.stdout)
    for tenant in TENANTS:
        ns = "%s-lab" % tenant
        assert counts[tenant]["changed"] >= 1 and counts[tenant]["failed"] == 0
        namespace = cluster.get("v1", "Namespace", ns)
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        for dep in ("%s-web" % ns, "%s-cron" % ns):
            assert cluster.ready(ns, dep), dep
            assert cluster.image(ns, dep) == OLD_IMAGE
        assert cluster.get("v1", "ResourceQuota", "%s-quota" % ns, ns) is not None
        assert cluster.get("traefik.io/v1alpha1", "IngressRoute", ns, ns) is not None
        conf = cluster.get("v1", "ConfigMap", "%s-config" % ns, ns)["data"]["odoo.conf"]
        assert "max_cron_threads = 0" in conf and "db_password" not in conf
        releases = history(cluster, tenant)
        assert [r["revision"] for r in releases] == [1] and releases[0]["status"] == "deployed"
        assert releases[0]["image"] == OLD_IMAGE and len(releases[0]["config_hash"]) == 64
    assert cluster.get("apps/v1", "Deployment", "globex-lab-web", "globex-lab")["spec"]["replicas"] == 3


def test_second_run_changes_nothing(run_playbook, cluster: Cluster) -> None:
    before = {t: cluster.owned_versions("%s-lab" % t) for t in TENANTS}
    res = run_playbook("playbooks/deploy.yml")
    counts = recap(res.stdout)
    assert all(counts[t]["changed"] == 0 for t in TENANTS), counts
    assert {t: cluster.owned_versions("%s-lab" % t) for t in TENANTS} == before
    assert all(len(history(cluster, t)) == 1 for t in TENANTS)


def test_check_mode_changes_nothing_and_shows_the_diff(run_playbook, cluster: Cluster) -> None:
    before = cluster.owned_versions("acme-lab")
    res = run_playbook("playbooks/deploy.yml", "--check", "--diff", "-l", "acme",
                       "-e", json.dumps({"odoo_config_options": {"log_level": "warn", "limit_time_real": 600}}))
    assert recap(res.stdout)["acme"]["changed"] == 1
    assert "+++ after: ConfigMap acme-lab/acme-lab-config (desired)" in res.stdout
    assert "-    log_level = info" in res.stdout and "+    log_level = warn" in res.stdout
    assert "+++ after: Deployment acme-lab/acme-lab-web (desired)" in res.stdout  # config-hash annotation
    assert cluster.owned_versions("acme-lab") == before
    assert len(history(cluster, "acme")) == 1


@pytest.mark.parametrize(("limit", "extra", "message"), [
    ("acme", {"odoo_config_options": {"wokers": 3}},
     "tenant 'acme': field 'odoo_conf': unknown odoo.conf option 'wokers' with value 3 (did you mean 'workers'?)"),
    ("acme", {"odoo_web": {"workers": 3}},
     "tenant 'acme': field 'web.workers': workers that fit web.resources.limits.memory (2Gi = 2147483648 bytes): "
     "3 workers x limit_memory_soft 629145600 + gevent 629145600 = 2516582400 bytes, got 3"),
    ("acme", {"odoo_image": "Registry.lab/Odoo"}, "tenant 'acme': field 'image': a valid image reference"),
    ("acme", {"odoo_spec_extra": {"web": {"resources": {"limits": {"memory": "2 GB"}}}}},
     "tenant 'acme': field 'web.resources.limits.memory': a valid Kubernetes quantity"),
    ("globex", {"odoo_hostnames": ["acme.lab.erpops.test"]},
     "tenant 'globex': field 'hostnames': hostname 'acme.lab.erpops.test' is already used by tenant 'acme'"),
    ("acme:globex", {"odoo_hostnames": ["shared.lab.erpops.test"]},
     "field 'hostnames': hostname 'shared.lab.erpops.test' is already used by tenant 'acme'"),
    ("acme", {"odoo_database": {"host": "pg", "name": "acme", "user": "acme", "password_secret": {"name": "nope"}}},
     "tenant 'acme': field 'database.password_secret': Secret 'nope' not found in namespace 'acme-lab'"),
])
def test_bad_input_fails_before_anything_is_applied(run_playbook, cluster: Cluster, limit: str,
                                                    extra: dict[str, Any], message: str) -> None:
    before = {t: cluster.owned_versions("%s-lab" % t) for t in TENANTS}
    res = run_playbook("playbooks/deploy.yml", "-l", limit, "-e", json.dumps(extra), check=False)
    assert res.returncode != 0
    assert message in res.stdout, res.stdout[-3000:]
    assert "Deploy | apply the instance" not in res.stdout  # the apply play never started
    assert {t: cluster.owned_versions("%s-lab" % t) for t in TENANTS} == before


def test_upgrade_succeeds_and_records_a_release(run_playbook, cluster: Cluster, lab_env: dict[str, str]) -> None:
    res = run_playbook("playbooks/upgrade.yml", "-l", "acme", "-e", "odoo_upgrade_image=" + NEW_IMAGE,
                       "-e", json.dumps({"odoo_upgrade_modules": ["sale", "stock"]}), "-e", "odoo_change_id=CHG-42")
    assert recap(res.stdout)["acme"]["failed"] == 0
    for dep in ("acme-lab-web", "acme-lab-cron"):
        assert cluster.image("acme-lab", dep) == NEW_IMAGE and cluster.ready("acme-lab", dep)
    job = cluster.get("batch/v1", "Job", "acme-lab-update-r2", "acme-lab")
    assert job["status"]["succeeded"] == 1
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("-u") + 1] == "sale,stock" and "--stop-after-init" in args
    latest = history(cluster, "acme")[-1]
    assert latest["revision"] == 2 and latest["status"] == "deployed" and latest["image"] == NEW_IMAGE
    assert latest["change_id"] == "CHG-42" and "acme-lab-update-r2" in latest["note"]
    # the pre-upgrade backup was taken, verified and recorded with the release
    manifest = backup_manifest(lab_env, "acme", latest["backup_id"])
    assert manifest["db_name"] == "acme" and manifest["erpops"]["status"] == "complete"
    assert manifest["erpops"]["source_revision"] == "release 1 (%s)" % OLD_IMAGE


def test_failing_update_job_rolls_back_automatically(run_playbook, cluster: Cluster, lab_env: dict[str, str],
                                                    conninfo: str) -> None:
    before_image = cluster.image("globex-lab", "globex-lab-web")
    assert "erpops_half_migrated" not in tables(conninfo, "globex")
    res = run_playbook("playbooks/upgrade.yml", "-l", "globex", "-e", "odoo_upgrade_image=" + NEW_IMAGE,
                       "-e", json.dumps({"odoo_upgrade_job_pod_labels": {"lab.erpops.io/fail": "true"},
                                         "odoo_upgrade_backup_tasks": HOOK}), check=False)
    assert res.returncode != 0
    # the database is back at the pre-upgrade backup; the half-migrated one is kept aside for the post-mortem
    assert "Database globex restored from the pre-upgrade backup" in res.stdout
    assert "erpops_half_migrated" not in tables(conninfo, "globex")
    with psycopg.connect(conninfo, dbname="postgres") as c:
        aside = [r[0] for r in c.execute("SELECT datname FROM pg_database WHERE datname LIKE 'globex%old%'")]
    assert len(aside) == 1 and "erpops_half_migrated" in tables(conninfo, aside[0])
    assert recap(res.stdout)["globex"]["rescued"] == 1
    assert "(update Job globex-lab-update-r2)" in res.stdout
    assert "BackoffLimitExceeded" in res.stdout and "rolled back automatically to revision 1" in res.stdout
    job = cluster.get("batch/v1", "Job", "globex-lab-update-r2", "globex-lab")
    assert any(c["type"] == "Failed" and c["status"] == "True" for c in job["status"]["conditions"])
    # the previous release keeps serving: old image, cron restarted, everything Ready
    for dep in ("globex-lab-web", "globex-lab-cron"):
        assert cluster.image("globex-lab", dep) == before_image == OLD_IMAGE
        assert cluster.ready("globex-lab", dep), dep
    latest = history(cluster, "globex")[-1]
    assert latest["rollback_of"] == 1 and latest["status"] == "deployed" and latest["image"] == OLD_IMAGE
    assert latest["backup_id"] and backup_manifest(lab_env, "globex", latest["backup_id"])["db_name"] == "globex"


def test_rollback_playbook_to_a_named_revision(run_playbook, cluster: Cluster) -> None:
    assert cluster.image("acme-lab", "acme-lab-web") == NEW_IMAGE
    res = run_playbook("playbooks/rollback.yml", "-l", "acme", "-e", "odoo_rollback_to=1")
    assert "revision 1 re-applied as release 3" in res.stdout
    for dep in ("acme-lab-web", "acme-lab-cron"):
        assert cluster.image("acme-lab", dep) == OLD_IMAGE and cluster.ready("acme-lab", dep)
    latest = history(cluster, "acme")[-1]
    assert latest["revision"] == 3 and latest["rollback_of"] == 1
    assert latest["config_hash"] == history(cluster, "acme")[0]["config_hash"]


def test_rollback_to_unknown_revision_fails_clearly(run_playbook) -> None:
    res = run_playbook("playbooks/rollback.yml", "-l", "acme", "-e", "odoo_rollback_to=99", check=False)
    assert res.returncode != 0
    assert "revision 99 is not in the release history (kept: 1, 2, 3)" in res.stdout


def test_traefik_lists_every_tenants_routers(lab_env: dict[str, str]) -> None:
    """Traefik, watching the lab cluster, has each tenant's routes as routers (no request is proxied)."""
    api = lab_env.get("LAB_TRAEFIK_API")
    if not api:
        pytest.fail("the lab's traefik service is not up (no LAB_TRAEFIK_API in .lab/env): "
                    "run `make lab-up LAB_SERVICES=traefik`")
    deadline = time.monotonic() + 60
    while True:
        with urllib.request.urlopen(api + "/api/http/routers?per_page=1000", timeout=5) as resp:  # noqa: S310
            routers = [r for r in json.load(resp) if r.get("provider") == "kubernetescrd"]
        missing = []
        for t in TENANTS:
            host = "Host(`%s.lab.erpops.test`)" % t
            rules = {r["rule"] for r in routers if host in r.get("rule", "")}
            wanted = {host, host + " && PathPrefix(`/websocket`)", host + " && PathPrefix(`/web/database`)",
                      host + " && (PathPrefix(`/xmlrpc`) || PathPrefix(`/jsonrpc`))"}
            if not wanted <= rules:
                missing.append((t, sorted(wanted - rules)))
        if not missing:
            return
        if time.monotonic() > deadline:
            pytest.fail("Traefik lacks routers %s; it has: %s" % (missing, sorted(r["name"] for r in routers)))
        time.sleep(2)
