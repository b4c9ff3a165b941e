# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup manifest and the bucket layout.

Layout: ``<prefix>/<tenant>/<backup_id>/`` holds ``started.json`` (written first), the parts
(``db.dump`` or ``db.dir.tar``, ``filestore.tar``, optionally ``odoo.zip``) and ``manifest.json``, written
last and only after every part was verified. A backup without ``manifest.json`` is incomplete.

The manifest's top level carries Odoo's own dump manifest fields (``odoo_dump``, ``db_name``, ``version``,
``version_info``, ``major_version``, ``pg_version``, ``modules``); everything erpops adds lives under the
``erpops`` key.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import datetime
import json
import re
import secrets
from typing import Any

from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
STARTED = "started.json"
PART_NAMES = {"custom": "db.dump", "directory": "db.dir.tar"}
FILESTORE = "filestore.tar"
ODOO_ZIP = "odoo.zip"
_ID = re.compile(r"^(\d{8}T\d{6}Z)-([0-9a-f]{6})$")
UTC = datetime.timezone.utc  # noqa: UP017 - datetime.UTC needs Python 3.11; modules run on 3.8+
_SEG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(UTC)


def iso(ts: datetime.datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def new_backup_id(now: datetime.datetime | None = None) -> str:
    """Sortable and unique: ``20261203T101500Z-1a2b3c``."""
    ts = (now or utcnow()).astimezone(UTC)
    return "%s-%s" % (ts.strftime("%Y%m%dT%H%M%SZ"), secrets.token_hex(3))


def backup_id_time(backup_id: str) -> datetime.datetime | None:
    m = _ID.match(backup_id)
    if not m:
        return None
    return datetime.datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def check_segment(what: str, value: str) -> str:
    if not _SEG.match(value or ""):
        raise BackupError("%s %r must be 1-128 of [A-Za-z0-9_.-], starting with a letter or digit" % (what, value),
                          kind="input")
    return value


def tenant_prefix(prefix: str, tenant: str) -> str:
    prefix = prefix.strip("/")
    check_segment("tenant", tenant)
    return "%s/%s/" % (prefix, tenant) if prefix else "%s/" % tenant


def backup_prefix(prefix: str, tenant: str, backup_id: str) -> str:
    return tenant_prefix(prefix, tenant) + check_segment("backup_id", backup_id) + "/"


def odoo_versions(base_version: str | None) -> dict[str, Any]:
    """Odoo's version fields from ``ir_module_module.latest_version`` of ``base`` (e.g. ``17.0.1.3``)."""
    if not base_version:
        return {"version": None, "version_info": None, "major_version": None}
    nums = base_version.split(".")
    series = ".".join(nums[:2]) if len(nums) >= 2 else base_version
    m = re.match(r"^(?:saas~)?(\d+)\.(\d+)", series)
    info = [int(m.group(1)), int(m.group(2)), 0, "final", 0, ""] if m else None
    return {"version": series, "version_info": info, "major_version": series}


def build_manifest(*, db_name: str, base_version: str | None, pg_version: str, modules: dict[str, str],
                   backup_id: str, tenant: str, started_at: datetime.datetime, finished_at: datetime.datetime,
                   parts: dict[str, dict[str, Any]], row_counts: dict[str, int],
                   filestore: dict[str, Any] | None, dump_format: str, source_revision: str | None = None,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The complete manifest (Odoo-compatible top level + ``erpops`` section)."""
    man: dict[str, Any] = {"odoo_dump": "1", "db_name": db_name}
    man.update(odoo_versions(base_version))
    man["pg_version"] = pg_version
    man["modules"] = dict(sorted(modules.items()))
    man["erpops"] = {
        "format_version": FORMAT_VERSION,
        "status": "complete",
        "backup_id": backup_id,
        "tenant": tenant,
        "started_at": iso(started_at),
        "finished_at": iso(finished_at),
        "duration_seconds": round((finished_at - started_at).total_seconds(), 3),
        "source_revision": source_revision,
        "dump_format": dump_format,
        "parts": parts,
        "row_counts": dict(sorted(row_counts.items())),
        "filestore": filestore,
    }
    if extra:
        man["erpops"].update(extra)
    return man


def odoo_zip_manifest(man: dict[str, Any]) -> dict[str, Any]:
    """The manifest Odoo's database manager reads inside its zip (no erpops section)."""
    return {k: v for k, v in man.items() if k != "erpops"}


def dumps(man: dict[str, Any]) -> bytes:
    return (json.dumps(man, indent=2, sort_keys=False) + "\n").encode("utf-8")


def validate_manifest(man: Any) -> dict[str, Any]:
    """Check the structure a restore relies on; raises :class:`BackupError` (kind ``checksum``)."""
    if not isinstance(man, dict) or not isinstance(man.get("erpops"), dict):
        raise BackupError("manifest is not an erpops backup manifest", kind="checksum")
    er = man["erpops"]
    if er.get("format_version") != FORMAT_VERSION:
        raise BackupError("unsupported manifest format_version %r" % er.get("format_version"), kind="checksum")
    if er.get("status") != "complete":
        raise BackupError("backup %s is not complete" % er.get("backup_id"), kind="checksum")
    parts = er.get("parts")
    if not isinstance(parts, dict) or "db" not in parts:
        raise BackupError("manifest lists no database part", kind="checksum")
    for name, part in parts.items():
        if not isinstance(part, dict) or not isinstance(part.get("size"), int) \
                or not re.match(r"^[0-9a-f]{64}$", str(part.get("sha256", ""))) or not part.get("key"):
            raise BackupError("manifest part %r lacks key, size or sha256" % name, kind="checksum")
    if er.get("dump_format") not in PART_NAMES:
        raise BackupError("unknown dump_format %r" % er.get("dump_format"), kind="checksum")
    return man
