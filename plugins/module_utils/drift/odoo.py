# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Odoo-level drift in a tenant database: installed modules and ``ir_config_parameter`` keys.

Desired state per database::

    {"dbname": "acme", "instance": "acme-prod",
     "modules": {"sale": "17.0.1.2", "account": null},      # null: installed, any version
     "absent_modules": ["website"],                           # must not be installed
     "parameters": {"web.base.url": "https://erp.acme.example", "database.is_neutralized": null}}

``parameters`` with a null value must be absent. Values of keys that look secret
(``database.secret``, ``*password*``, ``*token*``, ``*key*``) are redacted in the items.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import hashlib
import re
from typing import Any
from collections.abc import Callable

from ansible_collections.erpops.odoo.plugins.module_utils.drift.errors import DriftError

Fetch = Callable  # fetch(sql, params) -> rows (subscripted only in annotations: Python 3.8)
_SECRET_KEY = re.compile(r"(secret|password|passwd|token|api_?key|private)", re.I)
MODULES_SQL = "SELECT name, state, latest_version FROM ir_module_module WHERE name = ANY(%s)"
PARAMS_SQL = "SELECT key, value FROM ir_config_parameter WHERE key = ANY(%s)"
KNOWN = {"dbname", "instance", "modules", "absent_modules", "parameters", "host", "port", "user", "password",
         "sslmode"}


def redact_param(key: str, value: Any) -> Any:
    if value is None or not _SECRET_KEY.search(key):
        return value
    return "<redacted> sha256:%s" % hashlib.sha256(str(value).encode()).hexdigest()[:12]


def _norm_modules(db: str, modules: Any) -> dict[str, dict[str, Any]]:
    if modules is None:
        return {}
    if isinstance(modules, list):
        modules = dict.fromkeys(modules)
    if not isinstance(modules, dict):
        raise DriftError("odoo[%s].modules: a list of names or a mapping name -> version, got %r" % (db, modules))
    out = {}
    for name, want in modules.items():
        if isinstance(want, dict):
            out[str(name)] = {"state": want.get("state", "installed"), "version": want.get("version")}
        else:
            out[str(name)] = {"state": "installed", "version": None if want is None else str(want)}
    return out


def check_database(fetch: Fetch, desired: dict[str, Any]) -> list[dict[str, Any]]:
    """Drift items for one tenant database (two queries)."""
    if not isinstance(desired, dict) or not isinstance(desired.get("dbname"), str):
        raise DriftError("odoo: every entry needs 'dbname', got %r" % (desired,))
    db = desired["dbname"]
    unknown = set(desired) - KNOWN
    if unknown:
        raise DriftError("odoo[%s]: unknown keys %s" % (db, ", ".join(sorted(unknown))))
    base = {"source": "odoo", "instance": desired.get("instance"), "namespace": None, "remediable": False}
    items: list[dict[str, Any]] = []
    modules = _norm_modules(db, desired.get("modules"))
    absent = list(desired.get("absent_modules") or [])
    names = sorted(set(modules) | set(absent))
    if names:
        rows = {r[0]: (r[1], r[2]) for r in fetch(MODULES_SQL, (names,))}
        for name in sorted(modules):
            want = modules[name]
            res = dict(base, kind="ir_module_module", name=name, resource="database %s module %s" % (db, name))
            state, version = rows.get(name, (None, None))
            if state is None:
                items.append(dict(res, change="missing", path="state", desired=want["state"], live=None,
                                  message="no ir_module_module row"))
                continue
            if state != want["state"]:
                items.append(dict(res, change="changed", path="state", desired=want["state"], live=state,
                                  message="module %s is %s" % (name, state)))
            if want["version"] and version != want["version"]:
                items.append(dict(res, change="changed", path="latest_version", desired=want["version"],
                                  live=version, message="installed version differs"))
        for name in sorted(absent):
            state = rows.get(name, (None, None))[0]
            if state in ("installed", "to upgrade", "to remove"):
                items.append(dict(base, kind="ir_module_module", name=name, change="unexpected", path="state",
                                  resource="database %s module %s" % (db, name), desired="uninstalled", live=state,
                                  message="module must not be installed"))
    params = desired.get("parameters") or {}
    if not isinstance(params, dict):
        raise DriftError("odoo[%s].parameters: a mapping key -> value, got %r" % (db, params))
    if params:
        rows = {r[0]: r[1] for r in fetch(PARAMS_SQL, (sorted(params),))}
        for key in sorted(params):
            want = params[key]
            live = rows.get(key)
            want_s = None if want is None else (str(want).lower() if isinstance(want, bool) else str(want))
            if want_s != live:
                items.append(dict(base, kind="ir_config_parameter", name=key, path="value",
                                  resource="database %s parameter %s" % (db, key),
                                  change="missing" if live is None else ("unexpected" if want is None else "changed"),
                                  desired=redact_param(key, want_s), live=redact_param(key, live),
                                  message="ir_config_parameter %s" % key))
    return items
