# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Take a backup: database dump + filestore streamed to S3, verified, then the manifest — last.

Consistency: one REPEATABLE READ transaction exports a snapshot; row counts, the module list and every
``pg_dump`` (``--snapshot``) read that same snapshot, so the manifest's counts describe exactly the dump.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import os
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.erpops.odoo.plugins.module_utils.backup import manifest as mf
from ansible_collections.erpops.odoo.plugins.module_utils.backup import pg
from ansible_collections.erpops.odoo.plugins.module_utils.backup.attachments import list_attachments
from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError
from ansible_collections.erpops.odoo.plugins.module_utils.backup.storage import S3Settings, list_objects
from ansible_collections.erpops.odoo.plugins.module_utils.backup.streams import (
    CHUNK, FaultHook, MultipartWriter, PartResult, TreeDigest, copy_stream, storage_error, tar_dir_to,
    tar_objects_to, verify_uploaded, walk_files,
)


@dataclass
class BackupRequest:
    conn: pg.PgConn
    db_name: str
    tenant: str
    s3: S3Settings
    dump_format: str = "custom"
    jobs: int = 2
    compress: int = 6
    filestore_dir: str | None = None
    attachments_bucket: str | None = None
    attachments_prefix: str = ""
    odoo_zip: bool = False
    source_revision: str | None = None
    verify: str = "full"
    work_dir: str | None = None
    backup_id: str | None = None
    fault_hook: FaultHook | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SourceInfo:
    snapshot: str | None
    pg_version: str
    base_version: str | None
    modules: dict[str, str]
    row_counts: dict[str, int]


def inspect_source(conn: Any) -> SourceInfo:
    """Inside the (already open) snapshot transaction: versions, installed modules, key table counts."""
    tables = pg.present_tables(conn)
    modules: dict[str, str] = {}
    base_version = None
    if "ir_module_module" in tables:
        for name, version in pg.query(conn, "SELECT name, latest_version FROM ir_module_module "
                                            "WHERE state = 'installed' ORDER BY name"):
            modules[name] = version or ""
        base_version = modules.get("base") or None
    return SourceInfo(snapshot=None, pg_version=pg.server_version(conn), base_version=base_version,
                      modules=modules, row_counts=pg.row_counts(conn, tables))


def _run_dump_to(argv: list[str], env: dict[str, str], sink: Any, what: str) -> None:
    """Run a dump command and stream its stdout into ``sink``; a failed dump raises with its stderr."""
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=env)
        except OSError as exc:
            raise BackupError("cannot run %s: %s" % (argv[0], exc), kind="dump")
        try:
            copy_stream(proc.stdout, sink)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        rc = proc.wait()
        if rc != 0:
            err.seek(0)
            msg = err.read().decode("utf-8", "replace").strip()
            raise BackupError("%s failed (exit %d): %s" % (what, rc, msg[-2000:]),
                              kind="database_unreachable" if "connection" in msg and "failed" in msg else "dump")


def _dump_args(req: BackupRequest, snapshot: str | None, fmt: str) -> list[str]:
    argv = [req.conn.bin("pg_dump"), "--no-password", "-d", req.db_name]
    if snapshot:
        argv += ["--snapshot", snapshot]
    if fmt == "custom":
        argv += ["-Fc", "-Z", str(req.compress)]
    elif fmt == "plain":
        argv += ["-Fp", "--no-owner"]
    return argv


class _ZipSink:
    """Adapts a MultipartWriter for ``zipfile`` (write/tell/flush, no seek)."""

    def __init__(self, w: MultipartWriter) -> None:
        self.w = w

    def write(self, b: bytes) -> int:
        return self.w.write(b)

    def tell(self) -> int:
        return self.w.tell()

    def flush(self) -> None:
        self.w.flush()


def run_backup(req: BackupRequest, check_mode: bool = False) -> dict[str, Any]:
    """Back up ``req.db_name`` (and its filestore) to ``s3://bucket/<prefix>/<tenant>/<backup_id>/``."""
    if req.dump_format not in mf.PART_NAMES:
        raise BackupError("dump_format must be one of %s" % ", ".join(mf.PART_NAMES), kind="input")
    if req.verify not in ("full", "size"):
        raise BackupError("verify must be full or size", kind="input")
    if req.filestore_dir and req.attachments_bucket:
        raise BackupError("filestore_dir and attachments_bucket are mutually exclusive", kind="input")
    if req.filestore_dir and not os.path.isdir(req.filestore_dir):
        raise BackupError("filestore_dir %s is not a directory" % req.filestore_dir, kind="input")
    started = mf.utcnow()
    backup_id = req.backup_id or mf.new_backup_id(started)
    base = mf.backup_prefix(req.s3.prefix, req.tenant, backup_id)
    location = "s3://%s/%s" % (req.s3.bucket, base)

    conn = req.conn.connect(req.db_name, autocommit=False)
    try:
        pg.execute(conn, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = pg.query(conn, "SELECT pg_export_snapshot()")[0][0]
        info = inspect_source(conn)
        if check_mode:
            planned = [mf.PART_NAMES[req.dump_format]]
            if req.filestore_dir or req.attachments_bucket:
                planned.append(mf.FILESTORE)
            if req.odoo_zip:
                planned.append(mf.ODOO_ZIP)
            return {"changed": True, "backup_id": backup_id, "location": location, "manifest": None,
                    "parts": [*planned, mf.MANIFEST], "row_counts": info.row_counts,
                    "modules": len(info.modules), "pg_version": info.pg_version}
        client = req.s3.client()
        try:
            client.head_bucket(Bucket=req.s3.bucket)
        except Exception as exc:  # noqa: BLE001
            raise storage_error("head_bucket", req.s3.bucket, exc)
        try:
            man = _upload_all(req, client, conn, snapshot=snapshot, info=info, backup_id=backup_id, base=base,
                              started=started)
        except BaseException:
            _cleanup_incomplete(client, req.s3.bucket, base)
            raise
    finally:
        try:
            conn.rollback()
            conn.close()
        except Exception:  # noqa: BLE001, S110 - the server may be the thing that failed
            pass
    return {"changed": True, "backup_id": backup_id, "location": location, "manifest": man,
            "parts": sorted(man["erpops"]["parts"]), "row_counts": man["erpops"]["row_counts"],
            "modules": len(man["modules"]), "pg_version": man["pg_version"]}


def _put_small(client: Any, bucket: str, key: str, body: bytes) -> None:
    try:
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    except Exception as exc:  # noqa: BLE001
        raise storage_error("put_object", key, exc)


def _writer(req: BackupRequest, client: Any, key: str) -> MultipartWriter:
    return MultipartWriter(client, req.s3.bucket, key, part_size=req.s3.part_size,
                           concurrency=req.s3.concurrency, fault_hook=req.fault_hook)


def _upload_all(req: BackupRequest, client: Any, conn: Any, *, snapshot: str, info: SourceInfo, backup_id: str,
                base: str, started: Any) -> dict[str, Any]:
    bucket = req.s3.bucket
    env = req.conn.env()
    _put_small(client, bucket, base + mf.STARTED, mf.dumps({
        "backup_id": backup_id, "tenant": req.tenant, "db_name": req.db_name, "started_at": mf.iso(started)}))
    results: dict[str, PartResult] = {}

    # 1. database
    key = base + mf.PART_NAMES[req.dump_format]
    if req.dump_format == "custom":
        with _writer(req, client, key) as w:
            _run_dump_to(_dump_args(req, snapshot, "custom"), env, w, "pg_dump -Fc")
    else:
        scratch = tempfile.mkdtemp(prefix="erpops-dump-", dir=req.work_dir)
        try:
            target = os.path.join(scratch, "db")
            argv = [*_dump_args(req, snapshot, "directory"), "-Fd", "-j", str(max(1, req.jobs)),
                    "-Z", str(req.compress), "-f", target]
            res = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
            if res.returncode != 0:
                raise BackupError("pg_dump -Fd failed (exit %d): %s" % (res.returncode, res.stderr.strip()[-2000:]),
                                  kind="dump")
            with _writer(req, client, key) as w:
                tar_dir_to(w, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    results["db"] = w.result  # type: ignore[assignment]

    # 2. filestore
    tree: TreeDigest | None = None
    if req.filestore_dir or req.attachments_bucket:
        with _writer(req, client, base + mf.FILESTORE) as w:
            if req.filestore_dir:
                tree = tar_dir_to(w, req.filestore_dir)
            else:
                tree = tar_objects_to(w, client, str(req.attachments_bucket),
                                      list_attachments(client, str(req.attachments_bucket), req.attachments_prefix))
        results["filestore"] = w.result  # type: ignore[assignment]

    # 3. optional Odoo zip (plain SQL dump + filestore/ + Odoo manifest), readable by Odoo's database manager
    if req.odoo_zip:
        odoo_man = mf.odoo_zip_manifest(mf.build_manifest(
            db_name=req.db_name, base_version=info.base_version, pg_version=info.pg_version, modules=info.modules,
            backup_id=backup_id, tenant=req.tenant, started_at=started, finished_at=started, parts={},
            row_counts={}, filestore=None, dump_format=req.dump_format))
        with _writer(req, client, base + mf.ODOO_ZIP) as w, \
                zipfile.ZipFile(_ZipSink(w), "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            zf.writestr("manifest.json", mf.dumps(odoo_man))
            with zf.open("dump.sql", "w", force_zip64=True) as entry:
                _run_dump_to(_dump_args(req, snapshot, "plain"), env, entry, "pg_dump (plain, for odoo.zip)")
            if req.filestore_dir:
                for rel, full in walk_files(req.filestore_dir):
                    with open(full, "rb") as src, zf.open("filestore/" + rel, "w", force_zip64=True) as out:
                        copy_stream(src, out, CHUNK)
        results["odoo_zip"] = w.result  # type: ignore[assignment]

    # the snapshot is no longer needed
    conn.rollback()

    # 4. verify every part, then the manifest — last
    for part in results.values():
        verify_uploaded(client, bucket, part, reread=req.verify == "full")
    man = mf.build_manifest(
        db_name=req.db_name, base_version=info.base_version, pg_version=info.pg_version, modules=info.modules,
        backup_id=backup_id, tenant=req.tenant, started_at=started, finished_at=mf.utcnow(),
        parts={name: r.as_manifest() for name, r in results.items()}, row_counts=info.row_counts,
        filestore=tree.as_manifest() if tree else None, dump_format=req.dump_format,
        source_revision=req.source_revision, extra=dict(req.extra, verify=req.verify))
    if req.fault_hook is not None:
        req.fault_hook(base + mf.MANIFEST, 0)
    body = mf.dumps(man)
    _put_small(client, bucket, base + mf.MANIFEST, body)
    try:
        stored = int(client.head_object(Bucket=bucket, Key=base + mf.MANIFEST)["ContentLength"])
    except Exception as exc:  # noqa: BLE001
        raise storage_error("head_object", base + mf.MANIFEST, exc)
    if stored != len(body):
        raise BackupError("manifest size mismatch after upload", kind="checksum")
    return man


def _cleanup_incomplete(client: Any, bucket: str, base: str) -> None:
    """Best effort: remove what a failed backup wrote under its own prefix (never anything else).

    When the storage itself is down this fails quietly; ``odoo_backup_prune`` removes incomplete backups
    older than its threshold later. The manifest is never among them: it is written last.
    """
    try:
        objs = list_objects(client, bucket, base)
        for o in objs:
            client.delete_object(Bucket=bucket, Key=o["Key"])
    except Exception:  # noqa: BLE001, S110
        pass
