# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore a backup: verify everything first, then restore beside (never over) what exists, then validate.

Order of operations, each step only if the previous one passed:

1. read and check the manifest; refuse an existing target database/filestore (a non-empty directory, or objects
   under the attachments prefix) unless ``overwrite``;
2. download every part into a scratch directory and check size and SHA-256 — *nothing* touched yet;
3. with ``overwrite``: rename the existing database (and filestore directory) aside;
4. create the target database, ``pg_restore`` into it, extract the filestore — or, for an attachments bucket,
   move the existing objects aside (server-side copy to ``<prefix>.old-<hex>/``, then delete) and upload the tar
   members straight from the verified tar (see ``attachments.py``);
5. validate: row counts and the filestore tree digest (of the directory, or of the objects read back) equal the
   manifest, key tables readable;
6. optionally neutralize (SQL path; see ``NEUTRALIZE_SQL``) and check it took effect;
7. optionally check ``/web/health`` through the instance's route (``health.py``; Kubernetes): Odoo serves it;
8. on success drop what was renamed/moved aside; on any failure in 4-7 drop what was created and put it back.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable  # noqa: UP035 - Python 3.8 on managed hosts

from ansible_collections.erpops.odoo.plugins.module_utils.backup import manifest as mf
from ansible_collections.erpops.odoo.plugins.module_utils.backup import pg
from ansible_collections.erpops.odoo.plugins.module_utils.backup.attachments import AttachmentTarget
from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError
from ansible_collections.erpops.odoo.plugins.module_utils.backup.health import HealthCheck, check_health
from ansible_collections.erpops.odoo.plugins.module_utils.backup.storage import S3Settings, get_json, latest_complete
from ansible_collections.erpops.odoo.plugins.module_utils.backup.streams import (
    TreeDigest, download_verified, head_size, safe_extract_tar, storage_error, tree_digest_of_dir,
)

#: The host (SQL) neutralization path, equivalent in intent to ``odoo-bin neutralize`` for the core parts:
#: outgoing and incoming mail servers off, scheduled actions off, the database marked neutralized.
#: On Kubernetes the image's ``odoo-bin neutralize -d DB`` run as a Job is the preferred path (see
#: docs/runbooks/restore.md); it also covers payment/delivery providers and IAP.
NEUTRALIZE_SQL = """
DO $$
BEGIN
  IF to_regclass('public.ir_mail_server') IS NOT NULL THEN
    UPDATE ir_mail_server SET active = false;
  END IF;
  IF to_regclass('public.fetchmail_server') IS NOT NULL THEN
    UPDATE fetchmail_server SET active = false;
  END IF;
  IF to_regclass('public.ir_cron') IS NOT NULL THEN
    UPDATE ir_cron SET active = false;
  END IF;
  IF to_regclass('public.ir_config_parameter') IS NOT NULL THEN
    UPDATE ir_config_parameter SET value = 'true' WHERE key = 'database.is_neutralized';
    IF NOT FOUND THEN
      INSERT INTO ir_config_parameter (key, value) VALUES ('database.is_neutralized', 'true');
    END IF;
  END IF;
END
$$;
"""


@dataclass
class RestoreRequest:
    conn: pg.PgConn
    s3: S3Settings
    tenant: str
    target_db: str
    backup_id: str | None = None
    overwrite: bool = False
    keep_old: bool = False
    owner: str | None = None
    jobs: int = 2
    filestore_dir: str | None = None
    #: restore the filestore into this bucket (same client and settings as ``s3``) instead of a directory
    attachments_bucket: str | None = None
    attachments_prefix: str = ""
    neutralize: bool = False
    work_dir: str | None = None
    #: last validation step: Odoo's /web/health through the route (None = skipped)
    verify: HealthCheck | None = None


def _part_local_name(name: str) -> str:
    return {"db": "db.part", "filestore": "filestore.tar", "odoo_zip": "odoo.zip"}.get(name, name)


def resolve_manifest(client: Any, req: RestoreRequest) -> dict[str, Any]:
    if req.backup_id:
        key = mf.backup_prefix(req.s3.prefix, req.tenant, req.backup_id) + mf.MANIFEST
        try:
            client.head_object(Bucket=req.s3.bucket, Key=key)
        except Exception as exc:  # noqa: BLE001
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
            if code in ("404", "NoSuchKey", "NotFound"):
                raise BackupError("backup %s of tenant %s has no manifest (incomplete or missing)"
                                  % (req.backup_id, req.tenant), kind="input")
            raise storage_error("head_object", key, exc)
        man = get_json(client, req.s3.bucket, key)
    else:
        entry = latest_complete(client, req.s3, req.tenant)
        man = entry.manifest or {}
    return mf.validate_manifest(man)


def _restore_db_argv(req: RestoreRequest, path: str) -> list[str]:
    argv = [req.conn.bin("pg_restore"), "--no-password", "--exit-on-error", "--no-owner", "-d", req.target_db,
            "-j", str(max(1, req.jobs))]
    if req.owner:
        argv += ["--role", req.owner]
    return [*argv, path]


def validate_restore(conn: Any, man: dict[str, Any], filestore_dir: str | None,
                     filestore_tree: Callable[[], TreeDigest] | None = None) -> dict[str, Any]:
    """Compare the restored database and filestore with the manifest; raises on the first difference.

    The filestore is ``filestore_dir``, or whatever ``filestore_tree()`` reads (the attachments bucket).
    """
    er = man["erpops"]
    expected: dict[str, int] = er.get("row_counts") or {}
    tables = list(expected)
    present = pg.present_tables(conn, tables)
    missing = sorted(set(tables) - set(present))
    if missing:
        raise BackupError("restored database lacks tables %s" % ", ".join(missing), kind="validation")
    counts = pg.row_counts(conn, tables)
    diff = {t: {"expected": expected[t], "restored": counts[t]} for t in tables if counts[t] != expected[t]}
    if diff:
        raise BackupError("row counts differ from the manifest: %s" % diff, kind="validation", details={"diff": diff})
    for t in tables:  # readable end to end, not just countable
        pg.query(conn, "SELECT * FROM public.%s ORDER BY 1 DESC LIMIT 1" % pg.quote_ident(t))  # noqa: S608
    result: dict[str, Any] = {"row_counts": counts, "tables_checked": len(tables), "filestore": None}
    want_fs = er.get("filestore")
    if want_fs and (filestore_dir or filestore_tree):
        tree = filestore_tree() if filestore_tree else tree_digest_of_dir(str(filestore_dir))
        got = tree.as_manifest()
        if got != want_fs:
            raise BackupError("filestore differs from the manifest: expected %s, restored %s" % (want_fs, got),
                              kind="validation")
        result["filestore"] = got
    return result


def neutralize(conn: Any) -> dict[str, Any]:
    pg.execute(conn, NEUTRALIZE_SQL)
    state: dict[str, Any] = {}
    if pg.present_tables(conn, ["ir_cron"]):
        state["active_crons"] = int(pg.query(conn, "SELECT count(*) FROM ir_cron WHERE active")[0][0])
    if pg.present_tables(conn, ["ir_mail_server"]):
        state["active_mail_servers"] = int(pg.query(conn, "SELECT count(*) FROM ir_mail_server WHERE active")[0][0])
    if pg.present_tables(conn, ["ir_config_parameter"]):
        rows = pg.query(conn, "SELECT value FROM ir_config_parameter WHERE key = 'database.is_neutralized'")
        state["is_neutralized"] = bool(rows and rows[0][0] == "true")
    if state.get("active_crons") or state.get("active_mail_servers") or state.get("is_neutralized") is False:
        raise BackupError("neutralization did not take effect: %s" % state, kind="validation")
    return state


def check_request(req: RestoreRequest) -> None:
    """Option combinations, checked before anything is read or changed."""
    pg.check_db_name(req.target_db)
    if req.attachments_bucket and req.filestore_dir:
        raise BackupError("filestore_dir (or data_dir) and attachments_bucket are mutually exclusive: the filestore "
                          "is restored into a directory or into a bucket, not both", kind="input")
    if req.attachments_prefix and not req.attachments_bucket:
        raise BackupError("attachments_prefix needs attachments_bucket", kind="input")


def run_restore(req: RestoreRequest, check_mode: bool = False) -> dict[str, Any]:
    t0 = time.monotonic()
    check_request(req)
    client = req.s3.client()
    man = resolve_manifest(client, req)
    er = man["erpops"]
    backup_id = er["backup_id"]
    base = mf.backup_prefix(req.s3.prefix, req.tenant, backup_id)
    parts = er["parts"]
    if er.get("filestore") and not (req.filestore_dir or req.attachments_bucket):
        raise BackupError("the backup has a filestore: set filestore_dir, data_dir or attachments_bucket for the "
                          "restored database", kind="input")
    att: AttachmentTarget | None = None
    if req.attachments_bucket:
        if not er.get("filestore"):
            raise BackupError("backup %s has no filestore: leave attachments_bucket unset" % backup_id, kind="input")
        # keep it simple: the attachments bucket is reached with the client and settings of the backup storage
        att = AttachmentTarget(client, req.attachments_bucket, req.attachments_prefix, part_size=req.s3.part_size,
                               concurrency=req.s3.concurrency)

    admin = req.conn.connect(req.conn.maintenance_db, autocommit=True)
    try:
        db_exists = pg.database_exists(admin, req.target_db)
        existing_objects = att.existing() if att else []
        fs_exists = bool(existing_objects) or bool(
            req.filestore_dir and os.path.isdir(req.filestore_dir) and os.listdir(req.filestore_dir))
        if (db_exists or fs_exists) and not req.overwrite:
            if db_exists:
                what = "database %s" % req.target_db
            elif att:
                what = "attachments prefix %s (%d objects)" % (att.location, len(existing_objects))
            else:
                what = "filestore %s" % req.filestore_dir
            raise BackupError("restore target %s exists; set overwrite to replace it (the old one is kept "
                              "renamed until the restore validates)" % what, kind="target_exists")
        if att:
            att.check_replaceable(existing_objects)
        result: dict[str, Any] = {
            "changed": True, "backup_id": backup_id, "target_db": req.target_db, "manifest": man,
            "replaced_existing": db_exists or fs_exists, "source": "s3://%s/%s" % (req.s3.bucket, base),
            # the recovery point: how old the restored data is (RPO actually achieved by this backup)
            "backup_age_seconds": round((mf.utcnow() - mf.parse_iso(er["finished_at"])).total_seconds(), 1),
        }
        if att:
            result["attachments"] = {
                "bucket": att.bucket, "prefix": att.folder, "location": att.location,
                "existing_objects": len(existing_objects),
                "existing_bytes": sum(size for _rel, _key, size in existing_objects),
                "replaced": bool(existing_objects)}
        if check_mode:
            for p in parts.values():
                if head_size(client, req.s3.bucket, p["key"]) != p["size"]:
                    raise BackupError("part %s has a different size than the manifest says" % p["key"],
                                      kind="checksum")
            result["validation"] = None
            return result

        scratch = tempfile.mkdtemp(prefix="erpops-restore-", dir=req.work_dir)
        try:
            # 2. download and verify everything before touching the target
            local: dict[str, str] = {}
            t_dl = time.monotonic()
            for name in sorted(parts):
                if name == "odoo_zip":
                    continue  # an export for Odoo's database manager, not needed for this restore
                p = parts[name]
                local[name] = os.path.join(scratch, _part_local_name(name))
                download_verified(client, req.s3.bucket, p["key"], local[name], size=p["size"], sha256=p["sha256"])
            download_s = time.monotonic() - t_dl
            db_src = local["db"]
            if er["dump_format"] == "directory":
                db_src = os.path.join(scratch, "db.dir")
                safe_extract_tar(local["db"], db_src)
                os.unlink(local["db"])

            t_rs = time.monotonic()
            validation, aside_db, aside_fs, warnings = _swap_in(
                req, admin, man, db_exists=db_exists, fs_exists=fs_exists, db_src=db_src,
                fs_tar=local.get("filestore"), att=att, existing_objects=existing_objects)
            restore_s = time.monotonic() - t_rs
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    finally:
        admin.close()
    keep_fs = aside_fs if req.keep_old or warnings else None
    result.update(validation=validation, old_database=aside_db if req.keep_old else None,
                  old_filestore=None if att else keep_fs, old_attachments_prefix=keep_fs if att else None,
                  timings={"download_verify_seconds": round(download_s, 3),
                           "restore_validate_seconds": round(restore_s, 3),
                           "total_seconds": round(time.monotonic() - t0, 3)})
    if warnings:
        result["warnings"] = warnings
    return result


def _aside_name(name: str) -> str:
    return "%s_old_%s" % (name[:48], secrets.token_hex(3))


def _swap_in(req: RestoreRequest, admin: Any, man: dict[str, Any], *, db_exists: bool, fs_exists: bool,
             db_src: str, fs_tar: str | None, att: AttachmentTarget | None = None,
             existing_objects: list[tuple[str, str, int]] | None = None,
             ) -> tuple[dict[str, Any], str | None, str | None, list[str]]:
    """Steps 3-8: rename/move aside, restore, validate, neutralize, route check; roll back on failure.

    Returns the validation, the database and filestore (directory or attachments prefix) set aside, and
    warnings (an aside copy of attachments that could not be deleted after a successful restore).
    """
    aside_db = _aside_name(req.target_db) if db_exists else None
    aside_fs = "%s.old-%s" % (req.filestore_dir, secrets.token_hex(3)) if fs_exists and not att else None
    created_db = False
    created_fs = False
    if aside_db:
        pg.rename_database(admin, req.target_db, aside_db)
    try:
        if aside_fs:
            os.rename(str(req.filestore_dir), aside_fs)
        pg.create_database(admin, req.target_db, owner=req.owner)
        created_db = True
        res = subprocess.run(_restore_db_argv(req, db_src), env=req.conn.env(), capture_output=True, text=True,
                             check=False)
        if res.returncode != 0:
            raise BackupError("pg_restore failed (exit %d): %s" % (res.returncode, res.stderr.strip()[-2000:]),
                              kind="restore")
        if fs_tar and att:
            # moved aside only now, after pg_restore passed: the window without attachments stays short
            att.move_aside(existing_objects or [])
            att.upload_tar(fs_tar)
        elif fs_tar and req.filestore_dir:
            os.makedirs(req.filestore_dir, exist_ok=True)
            created_fs = True
            safe_extract_tar(fs_tar, req.filestore_dir)
        conn = req.conn.connect(req.target_db, autocommit=True)
        try:
            validation = validate_restore(conn, man, req.filestore_dir, att.read_back if att else None)
            if req.neutralize:
                validation["neutralized"] = neutralize(conn)
        finally:
            conn.close()
        if req.verify:
            validation["route"] = check_health(req.verify)
    except BaseException as exc:
        # put everything back as it was
        if created_db:
            pg.drop_database(admin, req.target_db)
        if created_fs and req.filestore_dir:
            shutil.rmtree(req.filestore_dir, ignore_errors=True)
        if aside_db:
            pg.rename_database(admin, aside_db, req.target_db)
        if aside_fs and req.filestore_dir:
            os.rename(aside_fs, req.filestore_dir)
        if att:
            try:
                att.rollback()
            except Exception as rb:  # noqa: BLE001 - say where the old objects are, keep the first error's kind
                details = dict(getattr(exc, "details", {}) or {}, old_attachments_prefix=att.aside)
                raise BackupError(
                    "%s; putting the attachments back failed too (%s): the replaced objects are under s3://%s/%s"
                    % (exc, rb, att.bucket, att.aside), kind=getattr(exc, "kind", "restore"), details=details,
                ) from exc
        raise
    warnings: list[str] = []
    if not req.keep_old:
        if aside_db:
            pg.drop_database(admin, aside_db)
        if aside_fs:
            shutil.rmtree(aside_fs, ignore_errors=True)
        if att and att.aside:
            try:
                att.drop_aside()
            except BackupError as exc:  # the restore itself validated: report, do not undo it
                warnings.append("the replaced attachments under s3://%s/%s could not be deleted (%s); delete them "
                                "by hand" % (att.bucket, att.aside, exc))
    return validation, aside_db, (att.aside if att else aside_fs), warnings
