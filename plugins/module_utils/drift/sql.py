# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only PostgreSQL access for the drift core (psycopg 3, else psycopg2): ``fetch(sql, params)``."""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import contextlib
from typing import Any

from ansible_collections.erpops.odoo.plugins.module_utils.drift.errors import DriftError

try:
    import psycopg as _driver
    HAS_DRIVER = True
except ImportError:  # pragma: no cover - depends on the controller
    try:
        import psycopg2 as _driver  # type: ignore[no-redef]
        HAS_DRIVER = True
    except ImportError:
        _driver = None
        HAS_DRIVER = False

CONN_KEYS = ("host", "port", "user", "password", "dbname", "sslmode")


class Reader:
    """One read-only connection; ``fetch`` runs a query and returns all rows."""

    def __init__(self, conn: dict[str, Any], dbname: str | None = None) -> None:
        if not HAS_DRIVER:
            raise DriftError("reading PostgreSQL needs the 'psycopg' (or 'psycopg2') Python library")
        params = {k: conn[k] for k in CONN_KEYS if conn.get(k) not in (None, "")}
        if dbname:
            params["dbname"] = dbname
        params.setdefault("dbname", "postgres")
        self.where = "%s:%s/%s" % (params.get("host", "local"), params.get("port", 5432), params["dbname"])
        try:
            self.conn = _driver.connect(connect_timeout=10, application_name="erpops-drift", **params)
        except Exception as exc:  # noqa: BLE001 - driver errors differ between psycopg versions
            raise DriftError("cannot connect to PostgreSQL %s: %s" % (self.where, str(exc).strip()))
        try:
            self.conn.autocommit = True
            self.conn.cursor().execute("SET default_transaction_read_only = on")
        except Exception as exc:  # noqa: BLE001
            self.close()
            raise DriftError("cannot open a read-only session on %s: %s" % (self.where, exc))

    def fetch(self, query: str, params: tuple = ()) -> list[Any]:
        try:
            cur = self.conn.cursor()
            cur.execute(query, params)
            return list(cur.fetchall())
        except Exception as exc:  # noqa: BLE001
            raise DriftError("query on %s failed: %s" % (self.where, str(exc).strip()))

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken connection
            self.conn.close()
