# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL settings drift (``pg_settings`` vs desired) with PostgreSQL's own unit rules.

``shared_buffers: 128MB`` and a live ``setting = 16384`` with ``unit = 8kB`` are the same value;
``statement_timeout: 1min`` equals ``60000`` ms; booleans accept ``on/off/true/false/yes/no/1/0``;
enum values compare case-insensitively. Reads go through a ``fetch(sql, params) -> rows`` callable,
so the unit tests fake only that edge.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import re
from typing import Any
from collections.abc import Callable

from ansible_collections.erpops.odoo.plugins.module_utils.drift.errors import DriftError

Fetch = Callable  # fetch(sql, params) -> rows (subscripted only in annotations: Python 3.8)

# PostgreSQL memory units are powers of 1024 and time units as in postgresql.conf (guc.c)
MEMORY_UNITS = {"B": 1, "kB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}
TIME_UNITS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60000, "h": 3600000, "d": 86400000}
_VALUE = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)\s*$")
_UNIT = re.compile(r"^(\d*)\s*([A-Za-z]+)$")
_TRUE = ("on", "true", "yes", "1", "t", "y")
_FALSE = ("off", "false", "no", "0", "f", "n")


def unit_factor(unit: str | None) -> tuple[str, float] | None:
    """``8kB`` → ("memory", 8192); ``ms`` → ("time", 1); None for unit-less settings."""
    if not unit:
        return None
    m = _UNIT.match(unit.strip())
    if not m:
        return None
    mult = float(m.group(1)) if m.group(1) else 1.0
    base = m.group(2)
    if base in MEMORY_UNITS:
        return "memory", mult * MEMORY_UNITS[base]
    if base in TIME_UNITS:
        return "time", mult * TIME_UNITS[base]
    return None


def to_base(value: Any, unit: str | None) -> float | None:
    """A value in bytes (memory) or milliseconds (time); a bare number is in the setting's ``unit``.

    None when the value is not a number with a known unit of the right family.
    """
    fam = unit_factor(unit)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) * (fam[1] if fam else 1.0)
    m = _VALUE.match(str(value))
    if not m:
        return None
    number, suffix = float(m.group(1)), m.group(2)
    if not suffix:
        return number * (fam[1] if fam else 1.0)
    if fam is None:
        return None
    table = MEMORY_UNITS if fam[0] == "memory" else TIME_UNITS
    if suffix not in table:
        return None
    return number * table[suffix]


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def same(desired: Any, live: str, vartype: str, unit: str | None) -> bool:
    """Does the desired value equal the live ``pg_settings.setting`` under PostgreSQL's rules?"""
    if vartype == "bool":
        return as_bool(desired) is not None and as_bool(desired) == as_bool(live)
    if vartype in ("integer", "real"):
        d, l_ = to_base(desired, unit), to_base(live, unit)
        if d is None or l_ is None:
            return str(desired).strip() == str(live).strip()
        if d == l_:
            return True
        # -1 / 0 sentinels are compared as given; otherwise allow float rounding
        return abs(d - l_) <= 1e-9 * max(abs(d), abs(l_))
    if vartype == "enum":
        return str(desired).strip().lower() == str(live).strip().lower()
    return str(desired).strip().strip("'") == str(live).strip()


def display(live: str, unit: str | None) -> str:
    """A live setting with its unit made readable: ``16384`` (8kB) → ``16384 x 8kB (128MB)``."""
    fam = unit_factor(unit)
    if fam is None:
        return live
    base = to_base(live, unit)
    if base is None or base < 0:
        return "%s %s" % (live, unit)
    table = MEMORY_UNITS if fam[0] == "memory" else TIME_UNITS
    best = None
    for name, factor in sorted(table.items(), key=lambda kv: kv[1]):
        if factor <= base and (base / factor) == int(base / factor):
            best = "%d%s" % (base / factor, name)
    return "%s (%s, unit %s)" % (live, best or live, unit)


QUERY = ("SELECT name, setting, unit, vartype, pending_restart, source FROM pg_settings "
         "WHERE name = ANY(%s) ORDER BY name")


def check_settings(fetch: Fetch, desired: dict[str, Any], target: str = "postgresql") -> list[dict[str, Any]]:
    """Drift items for every desired setting that differs from ``pg_settings`` (one query)."""
    if not isinstance(desired, dict):
        raise DriftError("postgresql.settings: a mapping of setting name to value, got %r" % (desired,))
    if not desired:
        return []
    names = sorted(str(k).lower() for k in desired)
    rows = {r[0]: r for r in fetch(QUERY, (names,))}
    items = []
    for key in sorted(desired):
        name = str(key).lower()
        want = desired[key]
        base = {"source": "postgresql", "kind": "pg_settings", "name": name, "resource": "%s setting %s"
                % (target, name), "path": name, "instance": None, "namespace": None, "remediable": False}
        row = rows.get(name)
        if row is None:
            items.append(dict(base, change="unknown", desired=want, live=None,
                              message="no such setting in pg_settings"))
            continue
        setting, unit, vartype, pending, source = row[1:6]
        if not same(want, setting, vartype, unit):
            items.append(dict(base, change="changed", desired=want, live=display(setting, unit),
                              message="source %s%s" % (source, ", pending restart" if pending else "")))
        elif pending:
            items.append(dict(base, change="pending_restart", desired=want, live=display(setting, unit),
                              message="changed in the configuration; takes effect after a restart"))
    return items
