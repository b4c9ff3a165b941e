# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Patroni dynamic configuration drift: ``GET /config`` vs the desired mapping.

Only keys the desired mapping sets are compared (Patroni fills in many defaults). Values compare
as PostgreSQL would read them: ``"on"`` equals ``true``, ``"100"`` equals ``100``, and
``postgresql.parameters`` with units (``"128MB"``) equal their value in another unit when both
carry a unit (``"131072kB"``).
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

from typing import Any
from collections.abc import Callable

from ansible_collections.erpops.odoo.plugins.module_utils.drift import compare as cmp
from ansible_collections.erpops.odoo.plugins.module_utils.drift import pg
from ansible_collections.erpops.odoo.plugins.module_utils.drift.errors import DriftError


def _suffix(value: Any) -> bool:
    return str(value).strip()[-1:].isalpha()


def same(desired: Any, live: Any) -> bool:
    """Equal as Patroni/PostgreSQL would read them (booleans, numbers, values with units)."""
    if desired == live:
        return True
    if live is None or desired is None or isinstance(desired, (dict, list)) or isinstance(live, (dict, list)):
        return False
    if isinstance(desired, bool) or isinstance(live, bool):
        bd = pg.as_bool(desired)
        return bd is not None and bd == pg.as_bool(live)
    if not _suffix(desired) and not _suffix(live):
        d, l_ = pg.to_base(desired, None), pg.to_base(live, None)
        if d is not None and l_ is not None:
            return d == l_
    elif _suffix(desired) and _suffix(live):
        for unit in ("B", "ms"):  # memory, then time: both values must carry a unit of the same family
            d, l_ = pg.to_base(desired, unit), pg.to_base(live, unit)
            if d is not None and l_ is not None:
                return d == l_
    return str(desired).strip().lower() == str(live).strip().lower()


def _walk(desired: Any, live: Any, path: tuple) -> list[dict[str, Any]]:
    if isinstance(desired, dict):
        out = []
        for key in sorted(desired):
            sub = live.get(key, cmp.MISSING) if isinstance(live, dict) else cmp.MISSING
            out.extend(_walk(desired[key], sub, (*path, ("k", str(key)))))
        return out
    live_v = None if live is cmp.MISSING else live
    if desired is None:  # None = the key must not be set
        return [] if live_v is None else [{"path": path, "desired": None, "live": live_v}]
    if live is cmp.MISSING or not same(desired, live_v):
        return [{"path": path, "desired": desired, "live": live_v}]
    return []


def check_config(get_config: Callable[[], dict[str, Any]], desired: dict[str, Any], target: str = "patroni"
                 ) -> list[dict[str, Any]]:
    """Drift items of the Patroni dynamic configuration (one ``GET /config``)."""
    if not isinstance(desired, dict):
        raise DriftError("patroni.config: a mapping (the dynamic configuration), got %r" % (desired,))
    if not desired:
        return []
    live = get_config()
    if not isinstance(live, dict):
        raise DriftError("patroni %s: GET /config did not return a JSON object: %r" % (target, live))
    items = []
    for d in _walk(desired, live, ()):
        path = cmp.fmt(d["path"])
        items.append({"source": "patroni", "kind": "PatroniConfig", "name": path, "path": path,
                      "resource": "%s dynamic configuration" % target, "instance": None, "namespace": None,
                      "change": "changed" if d["live"] is not None else "missing_key", "desired": d["desired"],
                      "live": d["live"], "remediable": False,
                      "message": "PATCH /config (patronictl edit-config) to restore"})
    return items


def client_getter(client: Any) -> Callable[[], dict[str, Any]]:
    """``GET /config`` through the collection's Patroni REST client (first member that answers)."""

    def get() -> dict[str, Any]:
        base, resp = client.get_any("/config")
        if resp.status != 200:
            raise DriftError("patroni: GET %s/config answered %s: %r" % (base, resp.status, resp.body))
        return resp.body

    return get
