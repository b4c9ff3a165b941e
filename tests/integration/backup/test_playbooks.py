"""The backup, restore and DR-test playbooks through ansible-playbook (check mode first, then for real)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import psycopg
import pytest
import yaml
from ansible_collections.erpops.odoo.plugins.module_utils.backup import storage

from .conftest import REPO, Lab, make_bucket


@pytest.fixture(scope="module")
def pb(bk: Lab, small_source: dict, lab_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A throw-away inventory: production and staging tenant hosts + the lab's group_vars/all/backup.yml."""
    inv = tmp_path_factory.mktemp("inventory")
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "group_vars" / "all" / "backup.yml").symlink_to(REPO / "inventories/lab/group_vars/all/backup.yml")
    staging_db = bk.dbs.name("staging")
    hosts = {"backup_lab": {
        "hosts": {
            "pbprod": {"erpops_environment": "production", "odoo_backup_db_name": small_source["db"],
                       "odoo_backup_filestore_dir": small_source["filestore"],
                       "odoo_backup_source_revision": "v17.0-2026.12.1"},
            "pbstaging": {"erpops_environment": "staging", "odoo_backup_db_name": staging_db,
                          "odoo_backup_filestore_dir": str(bk.workdir / "filestore" / staging_db)},
        },
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
    }}
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts))
    bucket = make_bucket(lab_env, "erpops-bk-pb-" + secrets.token_hex(3))
    return {"inv": str(inv), "bucket": bucket, "staging_db": staging_db, "reports": tmp_path_factory.mktemp("dr")}


def _run(run_playbook, pb: dict, playbook: str, *args: str, check: bool = True):
    return run_playbook(playbook, *args, check=check, inventory=pb["inv"],
                        extra_env={"ERPOPS_BACKUP_BUCKET": pb["bucket"].bucket})


def _backups(pb: dict, tenant: str) -> dict[str, bool]:
    s3: storage.S3Settings = pb["bucket"]
    return {e.backup_id: e.complete for e in storage.catalogue(s3.client(), s3, tenant, read_manifests=False)}


def test_backup_restore_dr_playbooks(run_playbook, pb: dict, bk: Lab, small_source: dict) -> None:
    # backup: check mode writes nothing
    res = _run(run_playbook, pb, "playbooks/backup.yml", "--check", "-e", "backup_hosts=pbprod")
    assert "changed=1" in res.stdout and "(check mode: nothing written)" in res.stdout
    assert _backups(pb, "pbprod") == {}
    # for real (with pruning)
    _run(run_playbook, pb, "playbooks/backup.yml", "-e", "backup_hosts=pbprod")
    backups = _backups(pb, "pbprod")
    assert list(backups.values()) == [True]

    # restore production -> staging: check mode creates nothing
    staging = pb["staging_db"]
    args = ("-e", "restore_hosts=pbstaging", "-e", "restore_from_tenant=pbprod")
    _run(run_playbook, pb, "playbooks/restore.yml", "--check", *args)
    assert not bk.dbs.exists(staging)
    res = _run(run_playbook, pb, "playbooks/restore.yml", *args)
    assert "restored and validated into %s" % staging in res.stdout
    with psycopg.connect(bk.conninfo, dbname=staging) as c:  # a staging copy is neutralized by default
        assert c.execute("SELECT value FROM ir_config_parameter WHERE key = 'database.is_neutralized'"
                         ).fetchone()[0] == "true"
        assert c.execute("SELECT count(*) FROM res_partner").fetchone()[0] == small_source["sizes"]["partners"]
    # a second run does not overwrite the existing staging database unless asked
    res = _run(run_playbook, pb, "playbooks/restore.yml", *args, check=False)
    assert res.returncode != 0 and "exists; set overwrite" in res.stdout
    _run(run_playbook, pb, "playbooks/restore.yml", *args, "-e", "restore_overwrite=true")

    # a restore INTO production goes through the release gate; without a policy it fails closed, untouched
    with psycopg.connect(bk.conninfo, dbname=small_source["db"]) as c:
        partners_before = c.execute("SELECT count(*) FROM res_partner").fetchone()[0]
    res = _run(run_playbook, pb, "playbooks/restore.yml", "-e", "restore_hosts=pbprod",
               "-e", "restore_overwrite=true", check=False)
    assert res.returncode != 0
    assert "Gate a restore into production" in res.stdout and "Download, verify, restore" not in res.stdout
    with psycopg.connect(bk.conninfo, dbname=small_source["db"]) as c:
        assert c.execute("SELECT count(*) FROM res_partner").fetchone()[0] == partners_before

    # DR test: check mode, then for real with a report
    reports: Path = pb["reports"]
    dr = ("-e", "dr_test_hosts=pbprod", "-e", "dr_test_report_dir=%s" % reports,
          "-e", "dr_test_work_dir=%s" % (bk.workdir / "dr"))
    _run(run_playbook, pb, "playbooks/dr_test.yml", "--check", *dr)
    assert list(reports.glob("*.json")) == []
    before = bk.dbs.all_like("dr_")
    res = _run(run_playbook, pb, "playbooks/dr_test.yml", *dr)
    assert "DR test of pbprod passed" in res.stdout
    [report] = list(reports.glob("dr-pbprod-*.json"))
    data = json.loads(report.read_text())
    assert data["status"] == "pass" and data["backup_id"] == next(iter(backups))
    assert float(data["rto_seconds"]) > 0 and 0 <= float(data["rpo_seconds"]) < 3600
    assert data["row_counts"]["res_partner"] == small_source["sizes"]["partners"]
    assert data["neutralized"]["is_neutralized"] is True
    md = report.with_suffix(".md").read_text()
    assert "# DR test: pbprod — PASS" in md and "| res_partner |" in md
    assert bk.dbs.all_like("dr_") == before, "the scratch database was dropped"
    assert not (bk.workdir / "dr" / data["scratch_db"]).exists()

    # an RPO objective the backup cannot meet fails the play, and still cleans up and reports
    res = _run(run_playbook, pb, "playbooks/dr_test.yml", *dr, "-e", "dr_test_rpo_objective_seconds=0",
               check=False)
    assert res.returncode != 0 and "DR test of pbprod failed" in res.stdout
    assert bk.dbs.all_like("dr_") == before
    assert sorted(json.loads(p.read_text())["status"] for p in reports.glob("*.json")) == ["fail", "pass"]
