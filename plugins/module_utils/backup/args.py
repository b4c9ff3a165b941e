# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs of odoo_backup, odoo_restore and odoo_backup_prune, assembled from shared pieces.

``DATABASE_OPTIONS`` is documented by the ``erpops.odoo.backup_database`` doc fragment and
``STORAGE_OPTIONS`` by ``erpops.odoo.backup_storage``; keep each pair in step.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import os
from typing import Any

from ansible.module_utils.basic import env_fallback

from ansible_collections.erpops.odoo.plugins.module_utils.backup import pg
from ansible_collections.erpops.odoo.plugins.module_utils.backup.health import HealthCheck
from ansible_collections.erpops.odoo.plugins.module_utils.backup.storage import S3Settings

DATABASE_OPTIONS: dict[str, dict[str, Any]] = {
    "login_host": {"type": "str", "fallback": (env_fallback, ["PGHOST"])},
    "login_port": {"type": "int", "default": 5432, "fallback": (env_fallback, ["PGPORT"])},
    "login_user": {"type": "str", "fallback": (env_fallback, ["PGUSER"])},
    "login_password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["PGPASSWORD"])},
    "ssl_mode": {"type": "str", "choices": ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]},
    "maintenance_db": {"type": "str", "default": "postgres"},
    "pg_bin_dir": {"type": "path"},
    "connect_timeout": {"type": "int", "default": 10},
}

STORAGE_OPTIONS: dict[str, dict[str, Any]] = {
    "bucket": {"type": "str", "required": True},
    "prefix": {"type": "str", "default": "odoo-backups"},
    "tenant": {"type": "str", "required": True},
    "endpoint_url": {"type": "str", "fallback": (env_fallback, ["S3_ENDPOINT_URL", "AWS_ENDPOINT_URL"])},
    "region": {"type": "str", "fallback": (env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION"])},
    "access_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["AWS_ACCESS_KEY_ID"])},
    "secret_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["AWS_SECRET_ACCESS_KEY"])},
    "session_token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["AWS_SESSION_TOKEN"])},
    "part_size_mb": {"type": "int", "default": 16},
    "concurrency": {"type": "int", "default": 4},
    "max_attempts": {"type": "int", "default": 3},
}

BACKUP_OPTIONS: dict[str, dict[str, Any]] = {
    "db_name": {"type": "str", "required": True},
    "dump_format": {"type": "str", "default": "custom", "choices": ["custom", "directory"]},
    "jobs": {"type": "int", "default": 2},
    "compress": {"type": "int", "default": 6},
    "filestore_dir": {"type": "path"},
    "data_dir": {"type": "path"},
    "attachments_bucket": {"type": "str"},
    "attachments_prefix": {"type": "str", "default": ""},
    "odoo_zip": {"type": "bool", "default": False},
    "source_revision": {"type": "str"},
    "verify": {"type": "str", "default": "full", "choices": ["full", "size"]},
    "work_dir": {"type": "path"},
}

RESTORE_OPTIONS: dict[str, dict[str, Any]] = {
    "target_db": {"type": "str", "required": True},
    "backup_id": {"type": "str"},
    "overwrite": {"type": "bool", "default": False},
    "keep_old": {"type": "bool", "default": False},
    "owner": {"type": "str"},
    "jobs": {"type": "int", "default": 2},
    "filestore_dir": {"type": "path"},
    "data_dir": {"type": "path"},
    "attachments_bucket": {"type": "str"},
    "attachments_prefix": {"type": "str", "default": ""},
    "neutralize": {"type": "bool", "default": False},
    "work_dir": {"type": "path"},
    "verify_url": {"type": "str"},
    "verify_headers": {"type": "dict", "default": {}},
    "verify_validate_certs": {"type": "bool", "default": True},
    "verify_retries": {"type": "int", "default": 30},
    "verify_delay": {"type": "float", "default": 2.0},
}

#: the filestore goes to (backup: comes from) a directory or an attachments bucket, never both
FILESTORE_EXCLUSIVE: list[tuple[str, str]] = [
    ("filestore_dir", "attachments_bucket"), ("data_dir", "attachments_bucket")]

PRUNE_OPTIONS: dict[str, dict[str, Any]] = {
    "daily": {"type": "int", "default": 7},
    "weekly": {"type": "int", "default": 4},
    "monthly": {"type": "int", "default": 12},
    "yearly": {"type": "int", "default": 0},
    "keep_last": {"type": "int", "default": 1},
    "incomplete_after_hours": {"type": "float", "default": 24.0},
    "purge_versions": {"type": "bool", "default": False},
}


def _merge(*specs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for s in specs:
        out.update({k: dict(v) for k, v in s.items()})
    return out


def backup_argument_spec() -> dict[str, dict[str, Any]]:
    return _merge(DATABASE_OPTIONS, STORAGE_OPTIONS, BACKUP_OPTIONS)


def restore_argument_spec() -> dict[str, dict[str, Any]]:
    return _merge(DATABASE_OPTIONS, STORAGE_OPTIONS, RESTORE_OPTIONS)


def prune_argument_spec() -> dict[str, dict[str, Any]]:
    return _merge(STORAGE_OPTIONS, PRUNE_OPTIONS)


def pg_conn(params: dict[str, Any]) -> pg.PgConn:
    return pg.PgConn(host=params.get("login_host"), port=int(params.get("login_port") or 5432),
                     user=params.get("login_user"), password=params.get("login_password"),
                     sslmode=params.get("ssl_mode"), maintenance_db=params.get("maintenance_db") or "postgres",
                     bin_dir=params.get("pg_bin_dir"), connect_timeout=int(params.get("connect_timeout") or 10))


def s3_settings(params: dict[str, Any]) -> S3Settings:
    return S3Settings(bucket=params["bucket"], prefix=params.get("prefix") or "",
                      endpoint_url=params.get("endpoint_url"), region=params.get("region"),
                      access_key=params.get("access_key"), secret_key=params.get("secret_key"),
                      session_token=params.get("session_token"),
                      part_size=int(params.get("part_size_mb") or 16) * 1024 * 1024,
                      concurrency=int(params.get("concurrency") or 4),
                      max_attempts=int(params.get("max_attempts") or 3))


def filestore_dir(params: dict[str, Any], db_name: str) -> str | None:
    """``filestore_dir`` as given, else ``<data_dir>/filestore/<db_name>`` (Odoo's layout), else None."""
    if params.get("filestore_dir"):
        return params["filestore_dir"]
    if params.get("data_dir"):
        return os.path.join(params["data_dir"], "filestore", db_name)
    return None


def health_check(params: dict[str, Any]) -> HealthCheck | None:
    """The route check of a restore (``verify_*`` options), or None without ``verify_url``."""
    if not params.get("verify_url"):
        return None
    return HealthCheck(url=params["verify_url"], headers={str(k): str(v) for k, v in
                                                          (params.get("verify_headers") or {}).items()},
                       validate_certs=bool(params.get("verify_validate_certs", True)),
                       retries=int(params.get("verify_retries", 30)), delay=float(params.get("verify_delay", 2.0)))
