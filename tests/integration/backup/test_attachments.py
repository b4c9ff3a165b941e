"""Filestore in an attachments bucket: backup -> restore into a prefix -> backup, refusal, rollback, overwrite.

Real lab PostgreSQL and S3 (moto server); the generated Odoo database and its filestore come from conftest
(``small_source``), whose files are uploaded under an attachments prefix first.
"""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path

import psycopg
import pytest
import yaml
from ansible_collections.erpops.odoo.plugins.module_utils.backup import manifest as mf
from ansible_collections.erpops.odoo.plugins.module_utils.backup import storage
from ansible_collections.erpops.odoo.plugins.module_utils.backup.backup import BackupRequest, run_backup
from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError
from ansible_collections.erpops.odoo.plugins.module_utils.backup.restore import RestoreRequest, run_restore
from ansible_collections.erpops.odoo.plugins.module_utils.backup.streams import tree_digest_of_dir, walk_files

from .conftest import REPO, Lab, fingerprint, make_bucket


def _objects(client, bucket: str, folder: str) -> dict[str, bytes]:
    """Every object under ``folder`` (ending in /): relative key -> content."""
    return {o["Key"][len(folder):]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            for o in storage.list_objects(client, bucket, folder)}


def _put_all(client, bucket: str, folder: str, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        client.put_object(Bucket=bucket, Key=folder + rel, Body=data)


@pytest.fixture(scope="module")
def att(bk: Lab, small_source: dict, lab_env: dict[str, str]) -> dict:
    """An attachments bucket holding the generated filestore under ``<run>/src`` and a backup made from it."""
    bucket = make_bucket(lab_env, "erpops-attach-" + secrets.token_hex(4)).bucket
    run = "attach-" + secrets.token_hex(3)
    client = bk.s3.client()
    files = {rel: Path(full).read_bytes() for rel, full in walk_files(small_source["filestore"])}
    _put_all(client, bucket, run + "/src/", files)
    # neighbours that are not part of the prefix "src": an aside copy and another tenant
    client.put_object(Bucket=bucket, Key=run + "/src.old-000000/zz/aside", Body=b"aside")
    client.put_object(Bucket=bucket, Key=run + "/src-staging/zz/other", Body=b"other tenant")
    tenant = run
    res = run_backup(BackupRequest(conn=bk.pg, db_name=small_source["db"], tenant=tenant, s3=bk.s3,
                                   attachments_bucket=bucket, attachments_prefix=run + "/src"))
    return {"bucket": bucket, "run": run, "files": files, "tenant": tenant, "backup": res, "client": client}


def _req(bk: Lab, att: dict, target: str, prefix: str, **kw) -> RestoreRequest:
    return RestoreRequest(conn=bk.pg, s3=bk.s3, tenant=kw.pop("tenant", att["tenant"]), target_db=target,
                          attachments_bucket=kw.pop("bucket", att["bucket"]), attachments_prefix=prefix, **kw)


def test_backup_reads_exactly_the_prefix(att: dict, small_source: dict) -> None:
    fs = att["backup"]["manifest"]["erpops"]["filestore"]
    assert fs == tree_digest_of_dir(small_source["filestore"]).as_manifest()
    assert fs["files"] == small_source["filestore_files"] > 100


def test_restore_into_an_empty_prefix_round_trips(bk: Lab, att: dict, small_source: dict) -> None:
    client, bucket, run = att["client"], att["bucket"], att["run"]
    target = bk.dbs.name("attach_rt")
    prefix = run + "/restored"  # no trailing slash: the folder is "<prefix>/"
    # check mode: reports an empty target, creates nothing
    plan = run_restore(_req(bk, att, target, prefix), check_mode=True)
    assert plan["attachments"] == {"bucket": bucket, "prefix": prefix + "/", "location": "s3://%s/%s/" % (
        bucket, prefix), "existing_objects": 0, "existing_bytes": 0, "replaced": False}
    assert plan["validation"] is None and not plan["replaced_existing"]
    assert _objects(client, bucket, prefix + "/") == {} and not bk.dbs.exists(target)

    out = run_restore(_req(bk, att, target, prefix))
    want = att["backup"]["manifest"]["erpops"]["filestore"]
    assert out["validation"]["filestore"] == want
    assert out["old_attachments_prefix"] is None and out["old_filestore"] is None
    # the same keys under the new prefix, byte for byte; neighbours of the source prefix not copied
    assert _objects(client, bucket, prefix + "/") == att["files"]
    assert fingerprint(bk.conninfo, target) == fingerprint(bk.conninfo, small_source["db"])
    # and a backup of the restored prefix has the same tree digest
    again = run_backup(BackupRequest(conn=bk.pg, db_name=target, tenant=run + "-again", s3=bk.s3,
                                     attachments_bucket=bucket, attachments_prefix=prefix + "/"))
    assert again["manifest"]["erpops"]["filestore"] == want


def test_non_empty_prefix_refused_without_overwrite(bk: Lab, att: dict) -> None:
    client, bucket = att["client"], att["bucket"]
    folder = att["run"] + "/busy/"
    _put_all(client, bucket, folder, {"ab/old1": b"old one", "cd/old2": b"old two"})
    target = bk.dbs.name("attach_busy")
    for check in (True, False):
        with pytest.raises(BackupError, match=r"attachments prefix s3://%s/%s \(2 objects\) exists; set overwrite"
                           % (bucket, folder)) as err:
            run_restore(_req(bk, att, target, folder), check_mode=check)
        assert err.value.kind == "target_exists"
    assert _objects(client, bucket, folder) == {"ab/old1": b"old one", "cd/old2": b"old two"}
    assert not bk.dbs.exists(target)


def _old_state(bk: Lab, att: dict, bucket: str, folder: str, target: str) -> dict[str, bytes]:
    """Objects under ``folder`` (one with the key of a restored file, other content) and a database with a marker."""
    client = att["client"]
    colliding = sorted(att["files"])[0]
    old = {colliding: b"an older version of this attachment", "zz/only-old": b"gone after the restore"}
    _put_all(client, bucket, folder, old)
    with psycopg.connect(bk.conninfo, dbname="postgres", autocommit=True) as c:
        c.execute('CREATE DATABASE "%s"' % target)
    with psycopg.connect(bk.conninfo, dbname=target, autocommit=True) as c:
        c.execute("CREATE TABLE marker (note text); INSERT INTO marker VALUES ('old database')")
    return old


def _aside_keys(client, bucket: str, folder: str) -> list[str]:
    return [o["Key"] for o in storage.list_objects(client, bucket, folder.rstrip("/") + ".old-")]


def test_overwrite_with_failed_validation_puts_the_old_objects_back(bk: Lab, att: dict, small_source: dict) -> None:
    client, bucket = att["client"], att["bucket"]
    # a private backup whose manifest disagrees with its filestore (the parts themselves are intact)
    tenant = att["run"] + "-rb"
    res = run_backup(BackupRequest(conn=bk.pg, db_name=small_source["db"], tenant=tenant, s3=bk.s3,
                                   attachments_bucket=bucket, attachments_prefix=att["run"] + "/src"))
    man = res["manifest"]
    man["erpops"]["filestore"]["tree_sha256"] = "0" * 64
    client.put_object(Bucket=bk.s3.bucket, Key=mf.backup_prefix(bk.s3.prefix, tenant, res["backup_id"]) + mf.MANIFEST,
                      Body=mf.dumps(man))
    folder = att["run"] + "/rb/"
    target = bk.dbs.name("attach_rb")
    old = _old_state(bk, att, bucket, folder, target)
    with pytest.raises(BackupError, match="filestore differs from the manifest") as err:
        run_restore(_req(bk, att, target, folder, tenant=tenant, overwrite=True))
    assert err.value.kind == "validation"
    assert _objects(client, bucket, folder) == old, "the old objects are back, nothing restored is left"
    assert _aside_keys(client, bucket, folder) == []
    assert bk.dbs.all_like(target) == {target}
    with psycopg.connect(bk.conninfo, dbname=target) as c:
        assert c.execute("SELECT note FROM marker").fetchone()[0] == "old database"


def test_overwrite_replaces_in_a_versioned_bucket_and_keep_old(bk: Lab, att: dict, lab_env: dict[str, str]) -> None:
    client = att["client"]
    bucket = make_bucket(lab_env, "erpops-attach-v-" + secrets.token_hex(3)).bucket
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    folder = att["run"] + "/ow/"
    target = bk.dbs.name("attach_ow")
    old = _old_state(bk, att, bucket, folder, target)
    # check mode: says what it would replace, changes nothing
    plan = run_restore(_req(bk, att, target, folder, bucket=bucket, overwrite=True), check_mode=True)
    assert plan["replaced_existing"] and plan["attachments"]["existing_objects"] == 2
    assert plan["attachments"]["replaced"] and plan["attachments"]["existing_bytes"] == sum(map(len, old.values()))
    assert _objects(client, bucket, folder) == old

    out = run_restore(_req(bk, att, target, folder, bucket=bucket, overwrite=True))
    assert out["replaced_existing"] and out["attachments"]["replaced"] and out["old_attachments_prefix"] is None
    assert _objects(client, bucket, folder) == att["files"], "old objects gone, the restored ones in place"
    assert _aside_keys(client, bucket, folder) == []
    with psycopg.connect(bk.conninfo, dbname=target) as c:
        assert c.execute("SELECT to_regclass('marker')").fetchone()[0] is None
    # versioning: the deletes left delete markers, the old bytes stay as noncurrent versions
    versions = client.list_object_versions(Bucket=bucket, Prefix=folder + "zz/only-old")
    assert [m["IsLatest"] for m in versions.get("DeleteMarkers", [])] == [True]
    assert [v["IsLatest"] for v in versions.get("Versions", [])] == [False]

    # again, keeping the replaced objects: they are under the aside prefix, byte for byte
    kept = run_restore(_req(bk, att, target, folder, bucket=bucket, overwrite=True, keep_old=True))
    aside = kept["old_attachments_prefix"]
    assert aside.startswith(att["run"] + "/ow.old-") and aside.endswith("/")
    assert _objects(client, bucket, aside) == att["files"]
    assert _objects(client, bucket, folder) == att["files"]
    bk.dbs.names.add(kept["old_database"])


def test_restore_playbook_into_the_tenants_attachments_bucket(bk: Lab, att: dict, small_source: dict, run_playbook,
                                                              tmp_path: Path) -> None:
    """backup.yml and restore.yml pass the tenant's attachments bucket and prefix through."""
    client, bucket, run = att["client"], att["bucket"], att["run"]
    inv = tmp_path / "inventory"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "group_vars" / "all" / "backup.yml").symlink_to(REPO / "inventories/lab/group_vars/all/backup.yml")
    target = bk.dbs.name("attach_pb")
    host = run.replace("-", "_")
    (inv / "hosts.yml").write_text(yaml.safe_dump({"attach_lab": {
        "hosts": {host: {"erpops_environment": "staging", "odoo_backup_db_name": small_source["db"],
                         "odoo_backup_attachments_bucket": bucket,
                         "odoo_backup_attachments_prefix": run + "/src"}},
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}))
    env = {"ERPOPS_BACKUP_BUCKET": bk.s3.bucket}
    res = run_playbook("playbooks/backup.yml", "-e", "backup_hosts=%s" % host, "-e", "backup_prune=false",
                       inventory=str(inv), extra_env=env)
    [entry] = storage.catalogue(client, bk.s3, host)
    assert entry.manifest and entry.manifest["erpops"]["filestore"] == att["backup"]["manifest"]["erpops"]["filestore"]
    args = ("-e", "restore_hosts=%s" % host, "-e", "restore_target_db=%s" % target,
            "-e", "restore_attachments_prefix=%s/pb" % run)
    res = run_playbook("playbooks/restore.yml", "--check", *args, inventory=str(inv), extra_env=env)
    assert "would be restored" in res.stdout and _objects(client, bucket, run + "/pb/") == {}
    res = run_playbook("playbooks/restore.yml", *args, inventory=str(inv), extra_env=env)
    assert "restored and validated into %s" % target in res.stdout
    assert _objects(client, bucket, run + "/pb/") == att["files"]
    # the tenant's own prefix (the restore's default) already holds objects: refused, unchanged
    res = run_playbook("playbooks/restore.yml", "-e", "restore_hosts=%s" % host, "-e",
                       "restore_target_db=%s" % bk.dbs.name("attach_pb2"), inventory=str(inv), extra_env=env,
                       check=False)
    assert res.returncode != 0 and "attachments prefix s3://%s/%s/src/" % (bucket, run) in res.stdout
    assert _objects(client, bucket, run + "/src/") == att["files"]


class _NoAsideDeletes:
    """The real client, except that deleting anything under an aside prefix fails (a storage policy, say)."""

    def __init__(self, client) -> None:
        self._client = client

    def __getattr__(self, name: str):
        return getattr(self._client, name)

    def delete_objects(self, **kw):
        if any(".old-" in o["Key"] for o in kw["Delete"]["Objects"]):
            raise PermissionError("AccessDenied: no deletes under aside prefixes")
        return self._client.delete_objects(**kw)


class _Settings(storage.S3Settings):
    def client(self):
        return _NoAsideDeletes(super().client())


def test_aside_copy_that_cannot_be_deleted_is_a_warning_not_a_failure(bk: Lab, att: dict) -> None:
    client, bucket = att["client"], att["bucket"]
    folder = att["run"] + "/warn/"
    target = bk.dbs.name("attach_warn")
    old = _old_state(bk, att, bucket, folder, target)
    s3 = _Settings(**dataclasses.asdict(bk.s3))
    out = run_restore(RestoreRequest(conn=bk.pg, s3=s3, tenant=att["tenant"], target_db=target, overwrite=True,
                                     attachments_bucket=bucket, attachments_prefix=folder))
    aside = out["old_attachments_prefix"]
    assert aside and [w for w in out["warnings"] if aside in w and "could not be deleted" in w]
    assert _objects(client, bucket, folder) == att["files"]
    assert _objects(client, bucket, aside) == old
    assert out["old_database"] is None and bk.dbs.all_like(target) == {target}, "the replaced database was dropped"
