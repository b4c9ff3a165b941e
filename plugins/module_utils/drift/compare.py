# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Field paths, ignore rules and the desired-vs-live comparison of one object (pure functions).

The comparison is *restricted to the fields the desired object sets*: a field the API server
defaults (``imagePullPolicy``, ``sessionAffinity``, ``dnsPolicy``...) or a controller writes
(``status``, ``deployment.kubernetes.io/revision``) is never visited, so it can never be reported.
Values are taken from the server-side dry-run apply of the desired object (``dry``), which holds
the desired values *after* API normalisation (quantities, defaults inside list items), and compared
with the live object. Lists of named items (containers, env, ports, volumes, ...) are compared by
name, so an item another manager added to the live list is reported (``added``).

Paths look like ``spec.template.spec.containers[odoo].env[PGAPPNAME].value``: ``[x]`` is a list item
by name (or by index for unnamed lists), keys holding ``.``, ``/`` or brackets are quoted:
``metadata.annotations["erpops.io/config-hash"]``.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import json
import re
from typing import Any

from ansible_collections.erpops.odoo.plugins.module_utils.drift.errors import DriftError

MISSING = object()
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")
_TOKEN = re.compile(r'\.?([A-Za-z0-9_\-*]+)|\[("(?:[^"\\]|\\.)*"|[^\]]*)\]')

# path tokens: ("k", key) for a mapping key, ("b", text) for a list item (by name or index)
Token = tuple  # (str, str)


def fmt(path: tuple[Token, ...]) -> str:
    """A path as text (the form users write in ignore rules)."""
    out = []
    for kind, value in path:
        if kind == "b":
            out.append("[%s]" % value)
        elif _PLAIN_KEY.match(value):
            out.append(("." if out else "") + value)
        else:
            out.append("[%s]" % json.dumps(value))
    return "".join(out)


def parse(text: str) -> tuple[Token, ...]:
    """Parse a path or ignore pattern (``*`` matches any key, ``[*]`` any list item)."""
    if not isinstance(text, str) or not text:
        raise DriftError("ignore path %r: a field path such as 'spec.replicas' or "
                         "'spec.template.spec.containers[*].image'" % (text,))
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos or (pos == 0 and text.startswith(".")):
            raise DriftError("ignore path %r: cannot parse at character %d" % (text, pos + 1))
        if m.group(1) is not None:
            out.append(("k", m.group(1)))
        else:
            inner = m.group(2)
            if inner.startswith('"'):
                try:
                    out.append(("k", json.loads(inner)))
                except ValueError:
                    raise DriftError("ignore path %r: bad quoted key %s" % (text, inner))
            else:
                out.append(("b", inner))
        pos = m.end()
    return tuple(out)


def matches(pattern: tuple[Token, ...], path: tuple[Token, ...]) -> bool:
    """True when ``pattern`` names ``path`` or one of its parents (``*`` is one segment)."""
    if len(pattern) > len(path):
        return False
    return all(pk == k and pv in ("*", v)
               for (pk, pv), (k, v) in zip(pattern, path))  # noqa: B905 - strict= is Python 3.10+


class IgnoreRules:
    """User ignore rules: ``[{kind, paths, name?, namespace?}]`` (``name``/``namespace`` are globs)."""

    def __init__(self, rules: list[dict[str, Any]] | None = None) -> None:
        self.rules: list[dict[str, Any]] = []
        for i, rule in enumerate(rules or []):
            if not isinstance(rule, dict) or not isinstance(rule.get("kind"), str):
                raise DriftError("ignore[%d]: a mapping with 'kind' and 'paths', got %r" % (i, rule))
            unknown = set(rule) - {"kind", "paths", "name", "namespace", "reason"}
            if unknown:
                raise DriftError("ignore[%d]: unknown keys %s (kind, paths, name, namespace, reason)"
                                 % (i, ", ".join(sorted(unknown))))
            paths = rule.get("paths")
            if isinstance(paths, str):
                paths = [paths]
            if not isinstance(paths, list) or not paths:
                raise DriftError("ignore[%d]: 'paths' must be a non-empty list of field paths" % i)
            self.add(rule["kind"], paths, rule.get("name"), rule.get("namespace"), rule.get("reason") or "user rule")

    def add(self, kind: str, paths: list[str], name: str | None = None, namespace: str | None = None,
            reason: str = "user rule") -> None:
        self.rules.append({"kind": kind, "patterns": [parse(p) for p in paths], "name": name,
                           "namespace": namespace, "reason": reason})

    def ignored(self, kind: str, namespace: str | None, name: str, path: tuple[Token, ...]) -> str | None:
        """The reason a field is ignored, or None."""
        import fnmatch  # noqa: PLC0415 - tiny, used only here

        for rule in self.rules:
            if rule["kind"] not in (kind, "*"):
                continue
            if rule["name"] and not fnmatch.fnmatchcase(name, rule["name"]):
                continue
            if rule["namespace"] and not fnmatch.fnmatchcase(namespace or "", rule["namespace"]):
                continue
            if any(matches(p, path) for p in rule["patterns"]):
                return rule["reason"]
        return None


def _named(items: Any) -> bool:
    return (isinstance(items, list) and bool(items)
            and all(isinstance(x, dict) and isinstance(x.get("name"), str) for x in items))


def _by_name(items: Any) -> dict[str, Any]:
    return {x["name"]: x for x in items if isinstance(x, dict) and "name" in x} if isinstance(items, list) else {}


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return a == b


def diff(desired: Any, dry: Any, live: Any, path: tuple[Token, ...] = ()) -> list[dict[str, Any]]:
    """Differences between ``dry`` (desired after the API) and ``live``, visiting only what ``desired`` sets.

    Returns ``[{path (tuple), change: changed|added|removed, desired, live}]``.
    """
    if dry is MISSING or dry is None:
        dry = desired
    out: list[dict[str, Any]] = []
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return [{"path": path, "change": "changed", "desired": dry, "live": None if live is MISSING else live}]
        dry_d = dry if isinstance(dry, dict) else desired
        for key in sorted(desired):
            out.extend(diff(desired[key], dry_d.get(key, MISSING), live.get(key, MISSING), (*path, ("k", key))))
        return out
    if _named(desired):
        if not isinstance(live, list):
            return [{"path": path, "change": "changed", "desired": dry, "live": None if live is MISSING else live}]
        dry_by, live_by = _by_name(dry), _by_name(live)
        wanted = []
        for item in desired:
            name = item["name"]
            wanted.append(name)
            sub = (*path, ("b", name))
            if name not in live_by:
                out.append({"path": sub, "change": "removed", "desired": dry_by.get(name, item), "live": None})
            else:
                out.extend(diff(item, dry_by.get(name, item), live_by[name], sub))
        for item in live:
            name = item.get("name") if isinstance(item, dict) else None
            if name not in wanted:
                out.append({"path": (*path, ("b", str(name))), "change": "added", "desired": None, "live": item})
        return out
    if isinstance(desired, list):
        live_v = None if live is MISSING else live
        dry_l = dry if isinstance(dry, list) else desired
        if (isinstance(live_v, list) and len(live_v) == len(dry_l) == len(desired)
                and all(isinstance(x, dict) for x in desired)):
            for i, item in enumerate(desired):
                out.extend(diff(item, dry_l[i], live_v[i], (*path, ("b", str(i)))))
            return out
        if not _deep_equal(dry_l, live_v):
            out.append({"path": path, "change": "changed", "desired": dry_l, "live": live_v})
        return out
    live_v = None if live is MISSING else live
    if not _equal(dry, live_v):
        out.append({"path": path, "change": "changed", "desired": dry, "live": live_v})
    return out


def _deep_equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(_deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_deep_equal(x, y) for x, y in zip(a, b))  # noqa: B905
    return _equal(a, b)


def value_at(obj: Any, path: tuple[Token, ...]) -> Any:
    """The value at ``path`` (list items by name, else by index); MISSING when absent."""
    cur = obj
    for kind, value in path:
        if kind == "k":
            if not isinstance(cur, dict) or value not in cur:
                return MISSING
            cur = cur[value]
        else:
            if not isinstance(cur, list):
                return MISSING
            named = _by_name(cur)
            if value in named:
                cur = named[value]
            elif value.isdigit() and int(value) < len(cur):
                cur = cur[int(value)]
            else:
                return MISSING
    return cur
