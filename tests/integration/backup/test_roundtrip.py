"""Backup -> restore -> validate on a generated Odoo database (real PostgreSQL, lab S3)."""

from __future__ import annotations

import json
import shutil

import psycopg
import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.backup import manifest as mf
from ansible_collections.erpops.odoo.plugins.module_utils.backup import storage
from ansible_collections.erpops.odoo.plugins.module_utils.backup.backup import BackupRequest, run_backup
from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError
from ansible_collections.erpops.odoo.plugins.module_utils.backup.restore import RestoreRequest, run_restore
from ansible_collections.erpops.odoo.plugins.module_utils.backup.streams import tree_digest_of_dir

from .conftest import Lab, fingerprint


def test_backup_restore_gives_equal_database_and_filestore(bk: Lab, big_source: dict) -> None:
    pgconn, s3, dbs, conninfo, workdir = bk.pg, bk.s3, bk.dbs, bk.conninfo, bk.workdir
    src = big_source["db"]
    assert big_source["db_bytes"] + big_source["filestore_bytes"] > 0.8 * 1024 * 1024 * 150  # "a few hundred MB"
    res = run_backup(BackupRequest(conn=pgconn, db_name=src, tenant="acme", s3=s3,
                                   filestore_dir=big_source["filestore"], source_revision="rel-2026.12.1"))
    man = res["manifest"]
    er = man["erpops"]
    # the manifest: Odoo fields, parts with size+sha256 as stored, counts, times, revision
    assert (man["db_name"], man["version"], man["major_version"], man["odoo_dump"]) == (src, "17.0", "17.0", "1")
    assert man["pg_version"].startswith("15.") and "account" in man["modules"] and "l10n_x1" not in man["modules"]
    assert er["row_counts"]["account_move_line"] == big_source["sizes"]["moves"] * 4
    assert er["filestore"]["files"] == big_source["filestore_files"]
    assert er["source_revision"] == "rel-2026.12.1" and er["started_at"] <= er["finished_at"]
    client = s3.client()
    base = mf.backup_prefix(s3.prefix, "acme", res["backup_id"])
    keys = {o["Key"][len(base):]: o["Size"] for o in storage.list_objects(client, s3.bucket, base)}
    assert set(keys) == {"started.json", "db.dump", "filestore.tar", "manifest.json"}
    for part in er["parts"].values():
        assert keys[part["key"][len(base):]] == part["size"]
    assert json.loads(client.get_object(Bucket=s3.bucket, Key=base + "manifest.json")["Body"].read()) == man

    target = dbs.name("rt")
    fs_target = workdir / "filestore" / target
    out = run_restore(RestoreRequest(conn=pgconn, s3=s3, tenant="acme", target_db=target,
                                     filestore_dir=str(fs_target), jobs=2))
    assert out["backup_id"] == res["backup_id"] and out["validation"]["row_counts"] == er["row_counts"]
    assert out["backup_age_seconds"] >= 0
    # equal database: every table's full content, the columns and the indexes
    assert fingerprint(conninfo, target) == fingerprint(conninfo, src)
    # equal filestore: same relative paths, sizes and content hashes
    assert tree_digest_of_dir(str(fs_target)).entries == tree_digest_of_dir(big_source["filestore"]).entries


def test_directory_format_parallel_with_odoo_zip_and_neutralize(bk: Lab, small_source: dict) -> None:
    pgconn, s3, dbs, conninfo, workdir = bk.pg, bk.s3, bk.dbs, bk.conninfo, bk.workdir
    import io
    import zipfile

    src = small_source["db"]
    res = run_backup(BackupRequest(conn=pgconn, db_name=src, tenant="zipper", s3=s3, dump_format="directory",
                                   jobs=2, filestore_dir=small_source["filestore"], odoo_zip=True))
    er = res["manifest"]["erpops"]
    assert er["dump_format"] == "directory" and set(er["parts"]) == {"db", "filestore", "odoo_zip"}
    # the Odoo zip: dump.sql (plain, no owner) + filestore/ + Odoo's manifest fields
    blob = s3.client().get_object(Bucket=s3.bucket, Key=er["parts"]["odoo_zip"]["key"])["Body"].read()
    zf = zipfile.ZipFile(io.BytesIO(blob))
    names = zf.namelist()
    assert "dump.sql" in names and "manifest.json" in names
    assert sum(n.startswith("filestore/") for n in names) == small_source["filestore_files"]
    zman = json.loads(zf.read("manifest.json"))
    assert set(zman) == {"odoo_dump", "db_name", "version", "version_info", "major_version", "pg_version", "modules"}
    head = zf.open("dump.sql").read(200_000).decode()
    assert "CREATE TABLE public.res_partner" in head and "OWNER TO" not in head

    target = dbs.name("dir")
    out = run_restore(RestoreRequest(conn=pgconn, s3=s3, tenant="zipper", target_db=target, jobs=2,
                                     filestore_dir=str(workdir / "filestore" / target), neutralize=True))
    assert out["validation"]["neutralized"] == {"active_crons": 0, "active_mail_servers": 0, "is_neutralized": True}
    with psycopg.connect(conninfo, dbname=target) as c:
        assert c.execute("SELECT count(*) FROM ir_cron WHERE active").fetchone()[0] == 0
        assert c.execute("SELECT value FROM ir_config_parameter WHERE key = 'database.is_neutralized'"
                         ).fetchone()[0] == "true"
    with psycopg.connect(conninfo, dbname=src) as c:  # the source is untouched
        assert c.execute("SELECT count(*) FROM ir_cron WHERE active").fetchone()[0] == 25


def test_existing_target_refused_unless_overwrite(bk: Lab, small_source: dict) -> None:
    pgconn, s3, dbs, conninfo, workdir = bk.pg, bk.s3, bk.dbs, bk.conninfo, bk.workdir
    run_backup(BackupRequest(conn=pgconn, db_name=small_source["db"], tenant="ow", s3=s3,
                             filestore_dir=small_source["filestore"]))
    target = dbs.name("ow")
    fs = workdir / "filestore" / target
    with psycopg.connect(conninfo, dbname="postgres", autocommit=True) as c:
        c.execute('CREATE DATABASE "%s"' % target)
    with psycopg.connect(conninfo, dbname=target, autocommit=True) as c:
        c.execute("CREATE TABLE marker (note text); INSERT INTO marker VALUES ('old database')")
    req = RestoreRequest(conn=pgconn, s3=s3, tenant="ow", target_db=target, filestore_dir=str(fs))
    # check mode and the real run both refuse
    for check in (True, False):
        with pytest.raises(BackupError, match="exists; set overwrite") as err:
            run_restore(req, check_mode=check)
        assert err.value.kind == "target_exists"
    with psycopg.connect(conninfo, dbname=target) as c:
        assert c.execute("SELECT note FROM marker").fetchone()[0] == "old database"
    # check mode with overwrite: reports, changes nothing
    req.overwrite = True
    plan = run_restore(req, check_mode=True)
    assert plan["changed"] and plan["replaced_existing"] and plan["validation"] is None
    with psycopg.connect(conninfo, dbname=target) as c:
        assert c.execute("SELECT note FROM marker").fetchone()[0] == "old database"
    # overwrite with keep_old: the old one survives renamed
    req.keep_old = True
    out = run_restore(req)
    assert out["replaced_existing"] and out["old_database"] and dbs.exists(out["old_database"])
    dbs.names.add(out["old_database"])
    with psycopg.connect(conninfo, dbname=out["old_database"]) as c:
        assert c.execute("SELECT note FROM marker").fetchone()[0] == "old database"
    with psycopg.connect(conninfo, dbname=target) as c:
        assert c.execute("SELECT to_regclass('marker')").fetchone()[0] is None
    shutil.rmtree(out["old_filestore"], ignore_errors=True)


def test_failed_validation_puts_the_old_database_back(bk: Lab, small_source: dict) -> None:
    pgconn, s3, dbs, conninfo = bk.pg, bk.s3, bk.dbs, bk.conninfo
    """Overwrite, but the restored copy does not validate: it is dropped and the old one renamed back."""
    res = run_backup(BackupRequest(conn=pgconn, db_name=small_source["db"], tenant="rb", s3=s3))
    client = s3.client()
    key = mf.backup_prefix(s3.prefix, "rb", res["backup_id"]) + mf.MANIFEST
    man = res["manifest"]
    man["erpops"]["row_counts"]["res_partner"] += 1  # the manifest now disagrees with the dump
    client.put_object(Bucket=s3.bucket, Key=key, Body=mf.dumps(man))
    target = dbs.name("rb")
    with psycopg.connect(conninfo, dbname="postgres", autocommit=True) as c:
        c.execute('CREATE DATABASE "%s"' % target)
    with psycopg.connect(conninfo, dbname=target, autocommit=True) as c:
        c.execute("CREATE TABLE marker (note text); INSERT INTO marker VALUES ('still here')")
    before = dbs.all_like(target)
    with pytest.raises(BackupError, match="row counts differ") as err:
        run_restore(RestoreRequest(conn=pgconn, s3=s3, tenant="rb", target_db=target, overwrite=True))
    assert err.value.kind == "validation"
    assert dbs.all_like(target) == before == {target}, "no leftover renamed or half-restored database"
    with psycopg.connect(conninfo, dbname=target) as c:
        assert c.execute("SELECT note FROM marker").fetchone()[0] == "still here"
