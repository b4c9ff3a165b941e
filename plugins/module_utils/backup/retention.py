# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grandfather-father-son retention and the pruning of a tenant's backups.

Policy semantics (as restic's ``--keep-daily`` etc.): for the ``daily`` most recent *days that have a
backup*, keep the newest backup of that day; the same per ISO week for ``weekly``, per calendar month for
``monthly`` and per year for ``yearly`` (all in UTC). ``keep_last`` keeps the N newest regardless. The newest
complete backup is always kept. Only complete (manifest present) backups count; incomplete ones are removed
once older than ``incomplete_after`` and are never taken for the newest.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import datetime
from dataclasses import dataclass
from typing import Any, Callable, Sequence  # noqa: UP035 - Python 3.8 on managed hosts

from ansible_collections.erpops.odoo.plugins.module_utils.backup import manifest as mf
from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError
from ansible_collections.erpops.odoo.plugins.module_utils.backup.storage import BackupEntry, S3Settings, catalogue
from ansible_collections.erpops.odoo.plugins.module_utils.backup.streams import storage_error


@dataclass(frozen=True)
class Policy:
    daily: int = 7
    weekly: int = 4
    monthly: int = 12
    yearly: int = 0
    keep_last: int = 1
    incomplete_after_hours: float = 24.0

    def __post_init__(self) -> None:
        for name in ("daily", "weekly", "monthly", "yearly", "keep_last"):
            if getattr(self, name) < 0:
                raise BackupError("retention %s must be >= 0" % name, kind="input")
        if self.incomplete_after_hours < 0:
            raise BackupError("incomplete_after_hours must be >= 0", kind="input")


PERIODS: dict[str, Callable[[datetime.datetime], Any]] = {
    "daily": lambda t: t.date(),
    "weekly": lambda t: tuple(t.isocalendar())[:2],
    "monthly": lambda t: (t.year, t.month),
    "yearly": lambda t: t.year,
}


def select(backups: Sequence[tuple[str, datetime.datetime]], policy: Policy) -> dict[str, list[str]]:
    """Pure GFS selection over complete backups ``(id, time)``.

    Returns ``{backup_id: [reasons]}`` for every backup kept; a backup absent from the result is pruned.
    """
    ordered = sorted(backups, key=lambda b: (b[1], b[0]), reverse=True)  # newest first
    keep: dict[str, list[str]] = {}
    if not ordered:
        return keep
    keep.setdefault(ordered[0][0], []).append("newest")
    for bid, _ts in ordered[: policy.keep_last]:
        keep.setdefault(bid, []).append("last")
    for name, period_of in PERIODS.items():
        limit = getattr(policy, name)
        seen: list[Any] = []
        for bid, ts in ordered:
            if len(seen) >= limit:
                break
            p = period_of(ts.astimezone(mf.UTC))
            if p in seen:
                continue
            seen.append(p)
            keep.setdefault(bid, []).append(name)
    return keep


def plan(entries: Sequence[BackupEntry], policy: Policy, now: datetime.datetime) -> dict[str, Any]:
    """Which backups to keep and delete (complete ones by GFS, incomplete ones by age)."""
    complete = [(e.backup_id, e.time) for e in entries if e.complete and e.time is not None]
    kept = select(complete, policy)  # type: ignore[arg-type]
    keep, delete = [], []
    cutoff = now - datetime.timedelta(hours=policy.incomplete_after_hours)
    for e in entries:
        if e.complete:
            if e.backup_id in kept:
                keep.append({"backup_id": e.backup_id, "time": mf.iso(e.time) if e.time else None,
                             "reasons": kept[e.backup_id]})
            else:
                delete.append({"backup_id": e.backup_id, "time": mf.iso(e.time) if e.time else None,
                               "reason": "retention"})
        else:
            seen = e.last_modified or e.time
            if seen is not None and seen < cutoff:
                delete.append({"backup_id": e.backup_id, "time": mf.iso(seen), "reason": "incomplete"})
            else:
                keep.append({"backup_id": e.backup_id, "time": mf.iso(seen) if seen else None,
                             "reasons": ["incomplete-recent"]})
    return {"keep": keep, "delete": delete}


def _locked(client: Any, bucket: str, key: str, version_id: str | None, now: datetime.datetime) -> str | None:
    """Why a version cannot be deleted (retention or legal hold), or None; from HEAD's object-lock fields."""
    kw: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        kw["VersionId"] = version_id
    try:
        head = client.head_object(**kw)
    except Exception as exc:  # noqa: BLE001
        if "404" in str(exc) or "405" in str(exc) or "MethodNotAllowed" in str(exc):
            return None  # a delete marker: nothing stored, nothing locked
        raise storage_error("head_object", key, exc)
    until = head.get("ObjectLockRetainUntilDate")
    if until is not None and until > now:
        return "%s retention until %s" % (head.get("ObjectLockMode") or "object-lock", mf.iso(until))
    if head.get("ObjectLockLegalHoldStatus") == "ON":
        return "legal hold"
    return None


def bucket_protection(client: Any, bucket: str) -> dict[str, Any]:
    out: dict[str, Any] = {"versioning": "Disabled", "object_lock": False}
    try:
        out["versioning"] = client.get_bucket_versioning(Bucket=bucket).get("Status") or "Disabled"
    except Exception as exc:  # noqa: BLE001
        raise storage_error("get_bucket_versioning", bucket, exc)
    try:
        cfg = client.get_object_lock_configuration(Bucket=bucket).get("ObjectLockConfiguration") or {}
        out["object_lock"] = cfg.get("ObjectLockEnabled") == "Enabled"
    except Exception as exc:  # noqa: BLE001
        if "ObjectLockConfigurationNotFound" not in str(exc):
            raise storage_error("get_object_lock_configuration", bucket, exc)
    return out


def _versions(client: Any, bucket: str, prefix: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    try:
        for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                out.append((v["Key"], v.get("VersionId")))
    except Exception as exc:  # noqa: BLE001
        raise storage_error("list_object_versions", prefix, exc)
    return out


def run_prune(s3: S3Settings, tenant: str, policy: Policy, *, check_mode: bool = False,
              purge_versions: bool = False, now: datetime.datetime | None = None) -> dict[str, Any]:
    """Apply ``policy`` to ``<prefix>/<tenant>/``. In check mode only the plan is returned.

    Deleting a backup removes ``manifest.json`` first (so a half-deleted backup reads as incomplete, never as
    complete-but-broken). With object lock, a backup with any locked object is skipped whole and reported.
    With versioning, plain deletes leave noncurrent versions (the bucket's lifecycle expires them) unless
    ``purge_versions`` deletes every version too.
    """
    now = now or mf.utcnow()
    client = s3.client()
    entries = catalogue(client, s3, tenant)
    result = plan(entries, policy, now)
    protection = bucket_protection(client, s3.bucket)
    result.update(changed=bool(result["delete"]), deleted=[], locked=[], protection=protection,
                  policy=policy.__dict__.copy())
    if check_mode or not result["delete"]:
        return result
    by_id = {e.backup_id: e for e in entries}
    for item in result["delete"]:
        e = by_id[item["backup_id"]]
        base = mf.backup_prefix(s3.prefix, tenant, e.backup_id)
        if protection["versioning"] != "Disabled" and (purge_versions or protection["object_lock"]):
            targets = _versions(client, s3.bucket, base)
        else:
            targets = [(k, None) for k in e.keys]
        if protection["object_lock"]:
            reasons = {}
            for key, vid in targets:
                why = _locked(client, s3.bucket, key, vid, now)
                if why:
                    reasons[key] = why
            if reasons:
                result["locked"].append({"backup_id": e.backup_id, "objects": reasons})
                continue
            if not purge_versions:
                targets = [(k, None) for k in e.keys]
        targets.sort(key=lambda kv: (not kv[0].endswith("/" + mf.MANIFEST), kv[0]))  # manifest first
        for key, vid in targets:
            kw: dict[str, Any] = {"Bucket": s3.bucket, "Key": key}
            if vid:
                kw["VersionId"] = vid
            try:
                client.delete_object(**kw)
            except Exception as exc:  # noqa: BLE001
                raise storage_error("delete_object", key, exc)
        result["deleted"].append(item)
    result["changed"] = bool(result["deleted"])
    return result
