# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release gate: risk class + calendars + approvals (+ break-glass) -> a decision with reasons.

The policy is plain data (see ``inventories/examples/governance/policy.yml``)::

    risk: {base: low, rules: [...]}             # optional; default rules in risk.DEFAULT_RULES
    calendars: {default: {...}, acme-de: {...}} # see calendar.py
    tenants: {acme: {calendar: acme-de}}        # when present, an unknown tenant is an error
    environments: {production: {calendar: default}, staging: {enforce_calendar: false}}
    approvals: {namespace: erpops-release, max_age_hours: 168, requirements: {...}, approvers: {...}}
    operations: {rollback: {freeze_exempt: true, window_exempt: true}}
    break_glass: {allowed: true, min_reason_length: 15}

:func:`decide` never raises on bad input: any :class:`PolicyError` becomes a *denied* decision
naming the problem (the gate fails closed).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime as _dt
from dataclasses import dataclass

from ansible_collections.erpops.odoo.plugins.module_utils.policy import approvals as _approvals
from ansible_collections.erpops.odoo.plugins.module_utils.policy import calendar as _cal
from ansible_collections.erpops.odoo.plugins.module_utils.policy import risk as _risk
from ansible_collections.erpops.odoo.plugins.module_utils.policy.errors import PolicyError, fail

POLICY_KEYS = ("risk", "calendars", "tenants", "environments", "approvals", "operations", "break_glass",
               "description")
DEFAULT_OPERATIONS = {"rollback": {"freeze_exempt": True, "window_exempt": True}}


@dataclass(frozen=True)
class Policy:
    risk_base: str
    risk_rules: list
    calendars: dict
    tenants: dict
    environments: dict
    approvals: object
    operations: dict
    break_glass_allowed: bool
    break_glass_min_reason: int


def _section(data, key, kind=dict):
    value = data.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        fail("policy.%s" % key, value, "a %s" % ("mapping" if kind is dict else "list"))
    return value


def _keys(value, field, allowed):
    if not isinstance(value, dict):
        fail(field, value, "a mapping")
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise PolicyError("%s: unknown key %r (allowed: %s)" % (field, unknown[0], ", ".join(allowed)))
    return value


def load_policy(data):
    """Validate the whole policy (every calendar, rule and approver) into a :class:`Policy`."""
    if isinstance(data, Policy):
        return data
    _keys(data, "policy", POLICY_KEYS)
    risk = _keys(_section(data, "risk"), "policy.risk", ("base", "rules"))
    base = risk.get("base", "low")
    _risk.class_index(base, "policy.risk.base")
    rules = _risk.load_rules(risk.get("rules"))
    calendars = {name: _cal.load_calendar(spec, name) for name, spec in _section(data, "calendars").items()}

    def calendar_ref(value, field):
        if value is not None and value not in calendars:
            raise PolicyError("%s: unknown calendar %r (known: %s)" % (field, value, ", ".join(sorted(calendars))
                                                                       or "none"))
        return value

    tenants = {}
    for name, raw in _section(data, "tenants").items():
        spec = _keys(raw or {}, "policy.tenants.%s" % name, ("calendar", "description"))
        tenants[str(name)] = calendar_ref(spec.get("calendar"), "policy.tenants.%s.calendar" % name)
    environments = {}
    for name, raw in _section(data, "environments").items():
        spec = _keys(raw or {}, "policy.environments.%s" % name, ("calendar", "enforce_calendar", "description"))
        enforce = spec.get("enforce_calendar", True)
        if not isinstance(enforce, bool):
            fail("policy.environments.%s.enforce_calendar" % name, enforce, "a boolean")
        environments[str(name)] = {
            "calendar": calendar_ref(spec.get("calendar"), "policy.environments.%s.calendar" % name),
            "enforce_calendar": enforce,
        }
    operations = {k: dict(v) for k, v in DEFAULT_OPERATIONS.items()}
    for name, raw in _section(data, "operations").items():
        if name not in _risk.OPERATIONS:
            fail("policy.operations key", name, "one of %s" % ", ".join(_risk.OPERATIONS))
        spec = _keys(raw or {}, "policy.operations.%s" % name, ("freeze_exempt", "window_exempt"))
        for flag, value in spec.items():
            if not isinstance(value, bool):
                fail("policy.operations.%s.%s" % (name, flag), value, "a boolean")
        operations.setdefault(name, {}).update(spec)
    bg = _keys(_section(data, "break_glass"), "policy.break_glass", ("allowed", "min_reason_length"))
    bg_allowed = bg.get("allowed", True)
    if not isinstance(bg_allowed, bool):
        fail("policy.break_glass.allowed", bg_allowed, "a boolean")
    bg_min = bg.get("min_reason_length", 15)
    if isinstance(bg_min, bool) or not isinstance(bg_min, int) or not 1 <= bg_min <= 1000:
        fail("policy.break_glass.min_reason_length", bg_min, "an integer between 1 and 1000")
    return Policy(
        risk_base=base, risk_rules=rules, calendars=calendars, tenants=tenants, environments=environments,
        approvals=_approvals.load_approval_policy(data.get("approvals")), operations=operations,
        break_glass_allowed=bg_allowed, break_glass_min_reason=bg_min,
    )


def calendars_for(change, policy):
    """``(calendars, enforce)`` for a change: one calendar per tenant (or the environment's, or ``default``)."""
    env = policy.environments.get(change.environment)
    if policy.environments and env is None:
        raise PolicyError("change.environment: unknown environment %r (known: %s)"
                          % (change.environment, ", ".join(sorted(policy.environments))))
    env = env or {"calendar": None, "enforce_calendar": True}
    fallback = env["calendar"] or ("default" if "default" in policy.calendars else None)
    names = []
    if policy.tenants:
        for tenant in change.tenants:
            if tenant not in policy.tenants:
                raise PolicyError("change.tenants: unknown tenant %r (known: %s)"
                                  % (tenant, ", ".join(sorted(policy.tenants))))
    for tenant in change.tenants or (None,):
        name = policy.tenants.get(tenant) if tenant else None
        name = name or fallback
        if name and name not in names:
            names.append(name)
    if env["enforce_calendar"] and not names:
        raise PolicyError("no calendar for environment %r%s: set environments.%s.calendar or a 'default' calendar "
                          "(or enforce_calendar: false)" % (change.environment, " / tenants %s" % ", ".join(
                              change.tenants) if change.tenants else "", change.environment))
    return [policy.calendars[n] for n in names], env["enforce_calendar"]


def _change_summary(change):
    out = {"id": change.id, "kinds": list(change.kinds), "tenants": list(change.tenants),
           "environment": change.environment, "author": change.author, "operation": change.operation,
           "summary": change.summary, "duration_minutes": change.duration_minutes}
    out.update(change.extra)
    return out


def evaluate(change, policy, *, at=None, approvals=(), allowed_signers=None, break_glass=False,
             break_glass_reason="", ssh_keygen="ssh-keygen", verifier=_approvals.verify_signature):
    """Evaluate a change; raises :class:`PolicyError` on bad input (use :func:`decide` to fail closed)."""
    policy = load_policy(policy)
    change = _risk.normalize_change(change)
    now = _cal.parse_instant(at, "at") if at not in (None, "") else _dt.datetime.now(_cal.UTC)
    if not isinstance(break_glass, bool):
        fail("break_glass", break_glass, "a boolean")
    reason_text = (break_glass_reason or "").strip() if isinstance(break_glass_reason, str) else break_glass_reason
    if break_glass:
        if not policy.break_glass_allowed:
            raise PolicyError("break_glass: the policy does not allow break-glass (policy.break_glass.allowed)")
        if not isinstance(reason_text, str) or len(reason_text) < policy.break_glass_min_reason:
            fail("break_glass_reason", break_glass_reason, "a mandatory reason of at least %d characters when "
                 "break_glass is true" % policy.break_glass_min_reason)

    classification = _risk.classify(change, policy.risk_rules, policy.risk_base)
    risk_class = classification.risk_class
    calendars, enforce = calendars_for(change, policy)
    duration = _dt.timedelta(minutes=change.duration_minutes)
    end = now + duration
    op = policy.operations.get(change.operation, {})
    blocking, notes = [], []

    freezes = _cal.freezes_during(now, end, calendars) if calendars else []
    if freezes:
        if not enforce:
            notes.append("calendar not enforced for environment %s; %d freeze(s) recorded"
                         % (change.environment, len(freezes)))
        elif op.get("freeze_exempt"):
            notes.append("%s is allowed during freezes (recorded): %s"
                         % (change.operation, "; ".join(f["reason"] for f in freezes)))
        else:
            blocking.extend("freeze: %s" % f["reason"] for f in freezes)
    in_window = True
    if calendars and any(c.release_windows for c in calendars):
        windows = [c for c in calendars if c.release_windows]
        in_window = any(s <= now and end <= e
                        for s, e in _cal.intersect_all([_cal.window_occurrences(c, now, end) for c in windows]))
        if not in_window:
            text = "outside the allowed release windows (%s) for %s .. %s" % (
                ", ".join(c.name for c in windows), now.astimezone(windows[0].tz).isoformat(),
                end.astimezone(windows[0].tz).isoformat())
            if not enforce:
                notes.append(text + " (not enforced)")
            elif op.get("window_exempt"):
                notes.append("%s is allowed outside release windows (recorded)" % change.operation)
            else:
                blocking.append(text)
    next_window = None
    if calendars and enforce and (freezes or not in_window):
        try:
            next_window = _cal.next_release_window(now, calendars, duration)
        except PolicyError as exc:
            notes.append(str(exc))

    result = _approvals.verify_approvals(change, risk_class, approvals, policy.approvals,
                                         allowed_signers=allowed_signers, now=now,
                                         ssh_keygen=ssh_keygen, verifier=verifier) if (
        approvals or policy.approvals.requirements[risk_class][0]) else None
    if result is None:
        result = _approvals.ApprovalResult(True, {"min_approvers": 0, "roles": []}, [], [], [], [])
    blocking.extend("approvals: %s" % m for m in result.missing)

    reasons = []
    if break_glass:
        reasons.append("break-glass by %s: %s" % (change.author, reason_text))
        reasons.extend("bypassed %s" % b for b in blocking)
        allowed = True
    elif blocking:
        reasons.extend(blocking)
        allowed = False
    else:
        reasons.append("%s-risk %s of %s allowed: no blocking freeze, inside release window, approvals satisfied"
                       % (risk_class, change.operation, change.id))
        allowed = True
    reasons.extend(notes)
    return {
        "allowed": allowed,
        "risk_class": risk_class,
        "risk_reasons": list(classification.reasons),
        "reasons": reasons,
        "freezes": freezes,
        "approvals": result.verified,
        "rejected_approvals": result.rejected,
        "required_approvals": result.required,
        "break_glass": bool(break_glass),
        "break_glass_reason": reason_text if break_glass else "",
        "post_review_required": bool(break_glass) or bool(op.get("freeze_exempt") and freezes and enforce),
        "next_window": next_window,
        "calendars": [c.name for c in calendars],
        "change": _change_summary(change),
        "evaluated_at": now.isoformat().replace("+00:00", "Z"),
        "planned_end": end.isoformat().replace("+00:00", "Z"),
        "error": None,
    }


def decide(change, policy, **kwargs):
    """Like :func:`evaluate`, but bad input yields a denied decision (fail closed) instead of raising."""
    try:
        return evaluate(change, policy, **kwargs)
    except PolicyError as exc:
        cid = change.get("id") if isinstance(change, dict) else getattr(change, "id", None)
        return {
            "allowed": False, "risk_class": None, "risk_reasons": [],
            "reasons": ["invalid governance input, failing closed: %s" % exc],
            "freezes": [], "approvals": [], "rejected_approvals": [], "required_approvals": {},
            "break_glass": bool(kwargs.get("break_glass")) is True, "break_glass_reason": "",
            "post_review_required": False, "next_window": None, "calendars": [],
            "change": {"id": cid if isinstance(cid, str) else None}, "evaluated_at": None, "planned_end": None,
            "error": str(exc),
        }
