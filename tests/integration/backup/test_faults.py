"""Bad input and faults: corrupted/truncated parts, S3 gone mid-backup, database unreachable."""

from __future__ import annotations

import dataclasses
import os
import socket
from pathlib import Path

import psycopg
import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.backup import manifest as mf
from ansible_collections.erpops.odoo.plugins.module_utils.backup import pg, storage
from ansible_collections.erpops.odoo.plugins.module_utils.backup.backup import BackupRequest, run_backup
from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError
from ansible_collections.erpops.odoo.plugins.module_utils.backup.restore import RestoreRequest, run_restore

from tests.support.tcp_proxy import CuttingProxy

from .conftest import Lab


@pytest.fixture(scope="module")
def good_backup(bk: Lab, small_source: dict) -> dict:
    return run_backup(BackupRequest(conn=bk.pg, db_name=small_source["db"], tenant="faults", s3=bk.s3,
                                    filestore_dir=small_source["filestore"]))


def _key(bk: Lab, backup: dict, part: str) -> str:
    return backup["manifest"]["erpops"]["parts"][part]["key"]


def _catalogue(bk: Lab, tenant: str) -> dict[str, bool]:
    return {e.backup_id: e.complete for e in storage.catalogue(bk.s3.client(), bk.s3, tenant, read_manifests=False)}


@pytest.mark.parametrize("damage", ["corrupt", "truncate"])
@pytest.mark.parametrize("part", ["db", "filestore"])
def test_damaged_part_fails_on_checksum_before_touching_target(bk: Lab, small_source: dict, damage: str,
                                                               part: str, tmp_path: Path) -> None:
    # a private copy of a good backup, then damage one part of it
    src = run_backup(BackupRequest(conn=bk.pg, db_name=small_source["db"], tenant="dmg-%s-%s" % (part, damage),
                                   s3=bk.s3, filestore_dir=small_source["filestore"]))
    client = bk.s3.client()
    key = _key(bk, src, part)
    blob = client.get_object(Bucket=bk.s3.bucket, Key=key)["Body"].read()
    if damage == "corrupt":  # same size, one byte flipped in the middle
        mid = len(blob) // 2
        blob = blob[:mid] + bytes([blob[mid] ^ 0xFF]) + blob[mid + 1:]
    else:
        blob = blob[: len(blob) - 1000]
    client.put_object(Bucket=bk.s3.bucket, Key=key, Body=blob)

    # an existing target with overwrite=true: it must survive untouched; no new database appears
    target = bk.dbs.name("dmg")
    with psycopg.connect(bk.conninfo, dbname="postgres", autocommit=True) as c:
        c.execute('CREATE DATABASE "%s"' % target)
    with psycopg.connect(bk.conninfo, dbname=target, autocommit=True) as c:
        c.execute("CREATE TABLE marker (note text); INSERT INTO marker VALUES ('untouched')")
    fs = tmp_path / "fs"
    fs.mkdir()
    (fs / "keep.txt").write_text("old filestore")
    before = bk.dbs.all_like("bk_")
    with pytest.raises(BackupError, match="checksum mismatch for .*%s" % os.path.basename(key)) as err:
        run_restore(RestoreRequest(conn=bk.pg, s3=bk.s3, tenant="dmg-%s-%s" % (part, damage), target_db=target,
                                   filestore_dir=str(fs), overwrite=True))
    assert err.value.kind == "checksum"
    assert bk.dbs.all_like("bk_") == before
    with psycopg.connect(bk.conninfo, dbname=target) as c:
        assert c.execute("SELECT note FROM marker").fetchone()[0] == "untouched"
    assert [p.name for p in fs.iterdir()] == ["keep.txt"]


def test_s3_unreachable_mid_backup_real_connection_drop(bk: Lab, small_source: dict, good_backup: dict) -> None:
    """The S3 endpoint goes away (connections cut, port closed) in the middle of the filestore upload."""
    proxy = CuttingProxy(int(bk.s3.endpoint_url.rsplit(":", 1)[1]), cut_after=12 * 1024 * 1024)
    cut = dataclasses.replace(bk.s3, endpoint_url=proxy.url, max_attempts=2, connect_timeout=2, read_timeout=5)
    try:
        with pytest.raises(BackupError) as err:
            run_backup(BackupRequest(conn=bk.pg, db_name=small_source["db"], tenant="faults", s3=cut,
                                     filestore_dir=small_source["filestore"]))
    finally:
        proxy.close()
    assert err.value.kind == "storage"
    assert "S3 " in str(err.value) and "failed" in str(err.value)
    assert proxy.sent > 12 * 1024 * 1024, "the cut happened mid-transfer, not before"
    # the failed run could not even clean up (storage gone): it is there, incomplete, for prune to remove
    assert len([b for b, complete in _catalogue(bk, "faults").items() if not complete]) == 1
    # storage is back: no complete manifest for the failed run, the earlier backup is intact and restorable
    cat = _catalogue(bk, "faults")
    assert cat[good_backup["backup_id"]] is True
    assert [b for b, complete in cat.items() if complete] == [good_backup["backup_id"]]
    assert storage.latest_complete(bk.s3.client(), bk.s3, "faults").backup_id == good_backup["backup_id"]
    target = bk.dbs.name("after_cut")
    out = run_restore(RestoreRequest(conn=bk.pg, s3=bk.s3, tenant="faults", target_db=target,
                                     filestore_dir=str(bk.workdir / "filestore" / target)))
    assert out["backup_id"] == good_backup["backup_id"]


@pytest.mark.parametrize("where", ["db.dump", "filestore.tar", "manifest.json"])
def test_upload_stopped_by_fault_hook_leaves_no_manifest(bk: Lab, small_source: dict, good_backup: dict,
                                                         where: str) -> None:
    def hook(key: str, part_number: int) -> None:
        # db.dump of the small database is one PUT (part 1), filestore.tar fails at part 2, the manifest is "part 0"
        when = {"db.dump": (1, 2), "filestore.tar": (2,), "manifest.json": (0,)}[where]
        if key.endswith(where) and part_number in when:
            raise BackupError("injected: storage lost at %s part %d" % (key, part_number), kind="storage")

    before = _catalogue(bk, "faults")
    uploads_before = _open_uploads(bk)
    with pytest.raises(BackupError, match="injected"):
        run_backup(BackupRequest(conn=bk.pg, db_name=small_source["db"], tenant="faults", s3=bk.s3,
                                 filestore_dir=small_source["filestore"], fault_hook=hook))
    cat = _catalogue(bk, "faults")
    assert cat[good_backup["backup_id"]] is True
    assert sum(cat.values()) == 1, "only the earlier backup is complete"
    # the failed run cleaned up after itself (storage was reachable for the cleanup)
    assert set(cat) == set(before)
    # and no multipart upload is left open
    assert _open_uploads(bk) == uploads_before


def _open_uploads(bk: Lab) -> set[str]:
    return {u["UploadId"] for u in bk.s3.client().list_multipart_uploads(Bucket=bk.s3.bucket).get("Uploads", [])}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("change", "needle"), [
    ({"port": "closed"}, "Connection refused"),
    ({"password": "wrong-password"}, "password authentication failed"),
])
def test_database_unreachable_is_a_clear_error(bk: Lab, small_source: dict, change: dict, needle: str) -> None:
    bad = dataclasses.replace(bk.pg, **{k: (_closed_port() if v == "closed" else v) for k, v in change.items()})
    for check in (True, False):
        with pytest.raises(BackupError, match="database unreachable") as err:
            run_backup(BackupRequest(conn=bad, db_name=small_source["db"], tenant="dbdown", s3=bk.s3),
                       check_mode=check)
        assert err.value.kind == "database_unreachable" and needle in str(err.value)
    with pytest.raises(BackupError, match="database unreachable"):
        run_restore(RestoreRequest(conn=bad, s3=bk.s3, tenant="faults", target_db="bk_never",
                                   filestore_dir=str(bk.workdir / "never")))
    assert _catalogue(bk, "dbdown") == {}, "nothing written to storage"


def test_missing_database_and_missing_backup(bk: Lab) -> None:
    with pytest.raises(BackupError, match=r'database "bk_no_such_db" does not exist'):
        run_backup(BackupRequest(conn=bk.pg, db_name="bk_no_such_db", tenant="x", s3=bk.s3))
    with pytest.raises(BackupError, match="no complete backup for tenant nobody"):
        run_restore(RestoreRequest(conn=bk.pg, s3=bk.s3, tenant="nobody", target_db="bk_never"))
    with pytest.raises(BackupError, match="has no manifest"):
        run_restore(RestoreRequest(conn=bk.pg, s3=bk.s3, tenant="faults", backup_id="20200101T000000Z-000000",
                                   target_db="bk_never"))


def test_check_mode_backup_writes_nothing(bk: Lab, small_source: dict) -> None:
    res = run_backup(BackupRequest(conn=bk.pg, db_name=small_source["db"], tenant="cm", s3=bk.s3,
                                   filestore_dir=small_source["filestore"]), check_mode=True)
    assert res["changed"] and res["manifest"] is None and res["row_counts"]["res_partner"] > 0
    assert res["parts"] == ["db.dump", "filestore.tar", "manifest.json"]
    assert _catalogue(bk, "cm") == {}
    assert mf.backup_id_time(res["backup_id"]) is not None
    assert pg.check_db_name(small_source["db"])
