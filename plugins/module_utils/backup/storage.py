# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""S3-compatible storage: client settings and the catalogue of backups under a tenant prefix."""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import datetime
import json
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.erpops.odoo.plugins.module_utils.backup import manifest as mf
from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError
from ansible_collections.erpops.odoo.plugins.module_utils.backup.streams import storage_error

try:
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    HAS_BOTO3 = True
except ImportError:  # pragma: no cover - depends on the host
    boto3 = None
    Config = None
    HAS_BOTO3 = False


@dataclass
class S3Settings:
    bucket: str
    prefix: str = "odoo-backups"
    endpoint_url: str | None = None
    region: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    session_token: str | None = None
    part_size: int = 16 * 1024 * 1024
    concurrency: int = 4
    max_attempts: int = 3
    connect_timeout: int = 10
    read_timeout: int = 60

    def client(self) -> Any:
        if not HAS_BOTO3:
            raise BackupError("boto3 is required on the host running the backup", kind="input")
        cfg = Config(retries={"max_attempts": self.max_attempts, "mode": "standard"},
                     connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                     max_pool_connections=max(10, self.concurrency * 2),
                     s3={"addressing_style": "path"} if self.endpoint_url else None)
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint_url or None, region_name=self.region or None,
            aws_access_key_id=self.access_key or None, aws_secret_access_key=self.secret_key or None,
            aws_session_token=self.session_token or None, config=cfg)


@dataclass
class BackupEntry:
    """One backup id found under a tenant prefix."""

    backup_id: str
    keys: list[str] = field(default_factory=list)
    complete: bool = False
    time: datetime.datetime | None = None
    last_modified: datetime.datetime | None = None
    manifest: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"backup_id": self.backup_id, "complete": self.complete,
                "time": mf.iso(self.time) if self.time else None, "objects": len(self.keys)}


def list_objects(client: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out.extend(page.get("Contents", []))
    except Exception as exc:  # noqa: BLE001
        raise storage_error("list", "s3://%s/%s" % (bucket, prefix), exc)
    return out


def get_json(client: Any, bucket: str, key: str) -> dict[str, Any]:
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:  # noqa: BLE001
        raise storage_error("get_object", key, exc)
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError as exc:
        raise BackupError("%s is not valid JSON: %s" % (key, exc), kind="checksum")


def catalogue(client: Any, settings: S3Settings, tenant: str, read_manifests: bool = True) -> list[BackupEntry]:
    """Every backup id under ``<prefix>/<tenant>/``, oldest first. Complete = has ``manifest.json``."""
    base = mf.tenant_prefix(settings.prefix, tenant)
    entries: dict[str, BackupEntry] = {}
    for obj in list_objects(client, settings.bucket, base):
        rest = obj["Key"][len(base):]
        if "/" not in rest:
            continue
        bid, name = rest.split("/", 1)
        e = entries.setdefault(bid, BackupEntry(bid))
        e.keys.append(obj["Key"])
        lm = obj.get("LastModified")
        if lm is not None and (e.last_modified is None or lm > e.last_modified):
            e.last_modified = lm
        if name == mf.MANIFEST:
            e.complete = True
    for e in entries.values():
        e.time = mf.backup_id_time(e.backup_id) or e.last_modified
        if e.complete and read_manifests:
            e.manifest = get_json(client, settings.bucket, base + e.backup_id + "/" + mf.MANIFEST)
            started = (e.manifest.get("erpops") or {}).get("started_at")
            if started:
                e.time = mf.parse_iso(started)
    return sorted(entries.values(), key=lambda e: (e.time or datetime.datetime.min.replace(
        tzinfo=mf.UTC), e.backup_id))


def latest_complete(client: Any, settings: S3Settings, tenant: str) -> BackupEntry:
    done = [e for e in catalogue(client, settings, tenant) if e.complete]
    if not done:
        raise BackupError("no complete backup for tenant %s under s3://%s/%s" % (
            tenant, settings.bucket, mf.tenant_prefix(settings.prefix, tenant)), kind="input")
    return done[-1]
