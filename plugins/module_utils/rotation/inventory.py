# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The integration inventory: validation, selection and the overdue report.

An integration entry (YAML, usually ``erpops_integrations`` in group_vars)::

    - name: odoo-db                     # unique, [a-z0-9-]
      owner: platform-team              # who answers for it
      systems: [odoo, postgresql]       # systems that use the credential
      backend: postgresql               # postgresql | redis | odoo_master | api_key
      store: {type: secretsmanager, secret_id: prod/odoo/db}   # where the credential lives
      target: {host: db.internal, user_prefix: odoo, owner_role: odoo_owner}  # backend options, no secrets
      admin_credentials: prod_postgres  # key in erpops_rotation_admin_credentials (postgresql/redis)
      rotation_period_days: 30
      last_rotation: "2026-11-02"       # fallback when the store cannot say
      password_policy: {length: 40}     # optional

Admin credentials never live in the inventory itself: entries name a reference, and validation only
learns which keys each reference has (never their values).
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.erpops.odoo.plugins.module_utils.rotation.core import UTC, RotationError, isoformat

BACKENDS = ("postgresql", "redis", "odoo_master", "api_key")
STORE_TYPES = ("secretsmanager", "kubernetes")
REQUIRED = ("name", "owner", "systems", "backend", "store", "rotation_period_days")
OPTIONAL = ("target", "admin_credentials", "last_rotation", "password_policy", "description")
#: admin keys each backend needs from its admin_credentials reference
ADMIN_KEYS = {"postgresql": ("admin_user", "admin_password"), "redis": ("admin_password",)}
#: target keys each backend requires
TARGET_KEYS = {"postgresql": ("host", "user_prefix"), "redis": ("host", "username")}
SECRET_KEY_RE = re.compile(r"(password|passwd|secret|token)$", re.IGNORECASE)
NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def parse_date(value) -> datetime.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = str(value).strip().replace("Z", "+00:00")
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            parsed = datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise RotationError("not a date: %r (use YYYY-MM-DD or ISO 8601)" % value)


def validate(integrations, admin_refs: dict | None) -> list[dict]:
    """Check every entry; raise one :class:`RotationError` listing every problem by integration name.

    ``admin_refs`` maps each admin credential reference to the list of its keys that have a value.
    """
    if not isinstance(integrations, list):
        raise RotationError("the integration inventory must be a list of integrations")
    admin_refs = admin_refs or {}
    problems, seen, out = [], set(), []
    for index, entry in enumerate(integrations):
        label = entry.get("name") if isinstance(entry, dict) and entry.get("name") else "entry #%d" % (index + 1)
        if not isinstance(entry, dict):
            problems.append("%s: not a mapping" % label)
            continue
        missing = [k for k in REQUIRED if entry.get(k) in (None, "", [])]
        if missing:
            problems.append("%s: missing %s" % (label, ", ".join(missing)))
        unknown = sorted(set(entry) - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            problems.append("%s: unknown key(s) %s" % (label, ", ".join(unknown)))
        name = entry.get("name")
        if name is not None and not (isinstance(name, str) and NAME_RE.match(name)):
            problems.append("%s: name must be lower-case letters, digits and '-'" % label)
        if name in seen:
            problems.append("%s: duplicate integration name" % label)
        seen.add(name)
        backend = entry.get("backend")
        if backend is not None and backend not in BACKENDS:
            problems.append("%s: unknown backend %r (expected one of %s)" % (label, backend, ", ".join(BACKENDS)))
        store = entry.get("store")
        if store is not None:
            if not isinstance(store, dict) or store.get("type") not in STORE_TYPES:
                problems.append("%s: store.type must be one of %s" % (label, ", ".join(STORE_TYPES)))
            elif store["type"] == "secretsmanager" and not store.get("secret_id"):
                problems.append("%s: store.secret_id is required for secretsmanager" % label)
            elif store["type"] == "kubernetes" and not (store.get("namespace") and store.get("name")):
                problems.append("%s: store.namespace and store.name are required for kubernetes" % label)
        if not isinstance(entry.get("systems", []), list):
            problems.append("%s: systems must be a list" % label)
        period = entry.get("rotation_period_days")
        if period is not None and (not isinstance(period, int) or isinstance(period, bool) or period < 1):
            problems.append("%s: rotation_period_days must be a positive integer" % label)
        try:
            parse_date(entry.get("last_rotation"))
        except RotationError as exc:
            problems.append("%s: last_rotation %s" % (label, exc))
        target = entry.get("target") or {}
        if not isinstance(target, dict):
            problems.append("%s: target must be a mapping" % label)
            target = {}
        secretish = sorted(k for k in target if SECRET_KEY_RE.search(k))
        if secretish:
            problems.append("%s: target must not hold secrets (%s); name an admin_credentials reference instead"
                            % (label, ", ".join(secretish)))
        for key in TARGET_KEYS.get(backend, ()):
            if not target.get(key):
                problems.append("%s: target.%s is required for backend %s" % (label, key, backend))
        if backend in ADMIN_KEYS:
            ref = entry.get("admin_credentials")
            if not ref:
                problems.append("%s: missing admin credentials: set admin_credentials to a key of "
                                "erpops_rotation_admin_credentials" % label)
            elif ref not in admin_refs:
                problems.append("%s: missing admin credentials: reference %r is not defined in "
                                "erpops_rotation_admin_credentials" % (label, ref))
            else:
                absent = [k for k in ADMIN_KEYS[backend] if k not in (admin_refs.get(ref) or [])]
                if absent:
                    problems.append("%s: missing admin credentials: %s has no %s" % (label, ref, ", ".join(absent)))
        out.append(dict(entry))
    if problems:
        raise RotationError("invalid integration inventory: " + "; ".join(problems))
    return out


def select(integrations: list[dict], selectors, overdue: list[str]) -> list[str]:
    """Names to rotate: ``all``, ``overdue``, ``none`` or integration names (unknown names are an error)."""
    if isinstance(selectors, str):
        selectors = [s.strip() for s in selectors.split(",") if s.strip()]
    names = [i["name"] for i in integrations]
    unknown = sorted(s for s in selectors if s not in ("all", "overdue", "none") and s not in names)
    if unknown:
        raise RotationError("unknown integration(s) %s; known: %s" % (", ".join(unknown), ", ".join(names) or "none"))
    chosen = set()
    for s in selectors:
        if s == "all":
            chosen.update(names)
        elif s == "overdue":
            chosen.update(overdue)
        elif s != "none":
            chosen.add(s)
    return [n for n in names if n in chosen]


def report(integrations: list[dict], now: datetime.datetime, last_rotations: dict | None = None) -> list[dict]:
    """One row per integration: age, next due date and whether it is overdue.

    ``last_rotations`` maps names to the time their store says the current credential was created; the
    inventory's ``last_rotation`` is the fallback; a credential whose age is unknown is overdue.
    """
    rows = []
    for entry in integrations:
        from_store = (last_rotations or {}).get(entry["name"])
        last = from_store or parse_date(entry.get("last_rotation"))
        period = entry["rotation_period_days"]
        if last is None:
            age, due_at, overdue = None, None, True
        else:
            age = (now - last).days
            due_at = last + datetime.timedelta(days=period)
            overdue = now >= due_at
        store = entry["store"]
        where = ("secretsmanager:%s" % store.get("secret_id") if store.get("type") == "secretsmanager"
                 else "kubernetes:%s/%s" % (store.get("namespace"), store.get("name")))
        rows.append({
            "name": entry["name"], "owner": entry["owner"], "systems": list(entry.get("systems") or []),
            "backend": entry["backend"], "store": where, "rotation_period_days": period,
            "last_rotation": isoformat(last), "last_rotation_source": "store" if from_store else
            ("inventory" if last else "unknown"), "age_days": age, "next_due": isoformat(due_at), "overdue": overdue,
        })
    return rows


def format_report(rows: list[dict]) -> list[str]:
    """Human-readable lines (for the playbook's debug output)."""
    lines = ["%-28s %-16s %-12s %-8s %-10s %s" % ("INTEGRATION", "OWNER", "BACKEND", "AGE(d)", "PERIOD(d)", "STATUS")]
    for r in rows:
        lines.append("%-28s %-16s %-12s %-8s %-10s %s" % (
            r["name"], r["owner"], r["backend"], "?" if r["age_days"] is None else r["age_days"],
            r["rotation_period_days"], "OVERDUE" if r["overdue"] else "ok until %s" % r["next_due"]))
    return lines
