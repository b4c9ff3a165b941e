# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL access for backup and restore: a psycopg (3 or 2) connection plus the client binaries."""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import os
import re
from dataclasses import dataclass
from typing import Any

from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError

try:  # psycopg 3 first, psycopg2 as a fallback: both are common on managed hosts
    import psycopg as _driver  # type: ignore[import-not-found]

    HAS_DRIVER = True
except ImportError:  # pragma: no cover - depends on the host
    try:
        import psycopg2 as _driver  # type: ignore[import-not-found,no-redef]

        HAS_DRIVER = True
    except ImportError:
        _driver = None
        HAS_DRIVER = False

#: Odoo tables whose row counts go into the manifest and are compared after a restore (present ones only)
KEY_TABLES = (
    "res_company", "res_partner", "res_users", "res_groups", "res_currency",
    "ir_module_module", "ir_config_parameter", "ir_attachment", "ir_cron", "ir_mail_server",
    "mail_message", "account_account", "account_journal", "account_move", "account_move_line",
    "product_template", "product_product", "sale_order", "sale_order_line", "purchase_order",
    "stock_picking", "stock_move", "project_project", "project_task", "hr_employee",
)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$\-.]{0,62}$")


def quote_ident(name: str) -> str:
    """Quote a PostgreSQL identifier (database or role name)."""
    return '"%s"' % name.replace('"', '""')


def check_db_name(name: str) -> str:
    """Database names we create or rename to: letters, digits, ``_ - . $``, at most 63 characters."""
    if not _IDENT.match(name or ""):
        raise BackupError("invalid database name %r" % name, kind="input")
    return name


@dataclass
class PgConn:
    """Where and how to connect. ``password`` is passed to libpq and the client binaries by environment."""

    host: str | None = None
    port: int = 5432
    user: str | None = None
    password: str | None = None
    sslmode: str | None = None
    maintenance_db: str = "postgres"
    bin_dir: str | None = None
    connect_timeout: int = 10

    def bin(self, name: str) -> str:
        return os.path.join(self.bin_dir, name) if self.bin_dir else name

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for var, val in (("PGHOST", self.host), ("PGPORT", self.port), ("PGUSER", self.user),
                         ("PGPASSWORD", self.password), ("PGSSLMODE", self.sslmode),
                         ("PGCONNECT_TIMEOUT", self.connect_timeout)):
            if val not in (None, ""):
                env[var] = str(val)
        return env

    def connect(self, dbname: str | None = None, autocommit: bool = True) -> Any:
        if not HAS_DRIVER:
            raise BackupError("psycopg (3) or psycopg2 is required on the host running the backup", kind="input")
        kwargs: dict[str, Any] = {"dbname": dbname or self.maintenance_db, "connect_timeout": self.connect_timeout}
        for k in ("host", "port", "user", "password", "sslmode"):
            v = getattr(self, k)
            if v not in (None, ""):
                kwargs[k] = v
        try:
            conn = _driver.connect(**kwargs)
        except Exception as exc:  # noqa: BLE001 - driver-specific OperationalError types
            raise BackupError(
                "database unreachable: cannot connect to %s as %s on %s:%s: %s"
                % (kwargs["dbname"], self.user or "(default user)", self.host or "(local socket)", self.port,
                   str(exc).strip()),
                kind="database_unreachable")
        conn.autocommit = autocommit
        return conn


def query(conn: Any, sql: str, params: tuple | None = None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []


def execute(conn: Any, sql: str, params: tuple | None = None) -> None:
    with conn.cursor() as cur:
        cur.execute(sql, params)


def database_exists(conn: Any, name: str) -> bool:
    return bool(query(conn, "SELECT 1 FROM pg_database WHERE datname = %s", (name,)))


def present_tables(conn: Any, names: tuple[str, ...] | list[str] = KEY_TABLES) -> list[str]:
    rows = query(conn, "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname = ANY(%s)",
                 (list(names),))
    found = {r[0] for r in rows}
    return [n for n in names if n in found]


def row_counts(conn: Any, tables: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in tables:
        out[t] = int(query(conn, "SELECT count(*) FROM public.%s" % quote_ident(t))[0][0])  # noqa: S608 - quoted identifier
    return out


def server_version(conn: Any) -> str:
    """``major.minor`` of the server, e.g. ``15.8`` (Odoo's manifest ``pg_version``)."""
    num = int(query(conn, "SHOW server_version_num")[0][0])
    return "%d.%d" % (num // 10000, num % 100) if num >= 100000 else "%d.%d" % (num // 10000, (num // 100) % 100)


def terminate_connections(conn: Any, dbname: str) -> None:
    execute(conn, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                  "AND pid <> pg_backend_pid()", (dbname,))


def rename_database(conn: Any, old: str, new: str) -> None:
    terminate_connections(conn, old)
    execute(conn, "ALTER DATABASE %s RENAME TO %s" % (quote_ident(old), quote_ident(new)))


def drop_database(conn: Any, name: str) -> None:
    terminate_connections(conn, name)
    execute(conn, "DROP DATABASE IF EXISTS %s" % quote_ident(name))


def create_database(conn: Any, name: str, owner: str | None = None, template: str = "template0") -> None:
    sql = "CREATE DATABASE %s TEMPLATE %s ENCODING 'UTF8'" % (quote_ident(name), quote_ident(template))
    if owner:
        sql += " OWNER %s" % quote_ident(owner)
    execute(conn, sql)
