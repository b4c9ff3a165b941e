# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Risk classification of a proposed change by ordered, configurable rules.

A change says *what* changes (``kinds``) and *where* (``tenants``, ``environment``). Rules are
evaluated in order, starting from ``base`` (``low``); each matching rule applies one action:

* ``at_least: <class>`` raises the class to at least that class,
* ``set: <class>`` replaces it (use sparingly: it can lower the class),
* ``escalate: <n>`` raises it by ``n`` classes (capped at ``critical``),

and ``stop: true`` ends the evaluation. A rule matches when every condition of its ``when`` holds:
``environments`` (any of), ``kinds`` (any of), ``kinds_all`` (all of), ``tenants`` (any of),
``operations`` (any of), ``min_tenants`` (at least that many tenants at once).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from dataclasses import dataclass, field

from ansible_collections.erpops.odoo.plugins.module_utils.policy.errors import PolicyError, fail

RISK_CLASSES = ("low", "medium", "high", "critical")
KINDS = ("image", "odoo_conf", "modules_update", "modules_install", "db_migration", "infrastructure", "credentials")
OPERATIONS = ("deploy", "upgrade", "rollback", "rotate_credentials", "restore", "other")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
_WHEN_KEYS = ("environments", "kinds", "kinds_all", "tenants", "operations", "min_tenants")
_RULE_KEYS = ("name", "when", "at_least", "set", "escalate", "stop", "description")
CHANGE_KEYS = (
    "id", "kinds", "tenants", "environment", "author", "summary", "operation", "duration_minutes",
    "image", "modules_update", "modules_install", "revision_before", "revision_after", "ticket", "details",
)

#: The default rules: production is where risk lives; wide changes escalate.
DEFAULT_RULES = (
    {"name": "production-odoo-conf", "when": {"environments": ["production"], "kinds": ["odoo_conf"]},
     "at_least": "low"},
    {"name": "production-image", "when": {"environments": ["production"], "kinds": ["image", "modules_update"]},
     "at_least": "medium"},
    {"name": "production-credentials", "when": {"environments": ["production"], "kinds": ["credentials"]},
     "at_least": "medium"},
    {"name": "production-modules-install", "when": {"environments": ["production"], "kinds": ["modules_install"]},
     "at_least": "high"},
    {"name": "production-db-migration", "when": {"environments": ["production"], "kinds": ["db_migration"]},
     "at_least": "high"},
    {"name": "production-infrastructure", "when": {"environments": ["production"], "kinds": ["infrastructure"]},
     "at_least": "high"},
    {"name": "staging-db-migration", "when": {"environments": ["staging"], "kinds": ["db_migration"]},
     "at_least": "medium"},
    {"name": "production-migration-and-infrastructure",
     "when": {"environments": ["production"], "kinds_all": ["db_migration", "infrastructure"]}, "escalate": 1},
    {"name": "many-tenants", "when": {"min_tenants": 5}, "escalate": 1},
)


@dataclass(frozen=True)
class Change:
    id: str
    kinds: tuple
    tenants: tuple
    environment: str
    author: str
    operation: str = "deploy"
    summary: str = ""
    duration_minutes: int = 60
    extra: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Rule:
    name: str
    when: dict = field(hash=False)
    action: str = "at_least"
    arg: object = "low"
    stop: bool = False


@dataclass(frozen=True)
class Classification:
    risk_class: str
    reasons: tuple

    def as_dict(self):
        return {"risk_class": self.risk_class, "reasons": list(self.reasons)}


def class_index(value, field_name="risk_class"):
    if value not in RISK_CLASSES:
        fail(field_name, value, "one of %s" % ", ".join(RISK_CLASSES))
    return RISK_CLASSES.index(value)


def _str_list(value, field_name, pattern=_NAME_RE, choices=None):
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        fail(field_name, value, "a list of strings")
    out = []
    for i, item in enumerate(value):
        f = "%s[%d]" % (field_name, i)
        if choices is not None:
            if item not in choices:
                fail(f, item, "one of %s" % ", ".join(choices))
        elif not isinstance(item, str) or not pattern.match(item):
            fail(f, item, "a name of letters, digits and . _ @ + -")
        if item not in out:
            out.append(item)
    return tuple(out)


def normalize_change(data):
    """Validate a change mapping into a :class:`Change` (errors name the field and the value)."""
    if isinstance(data, Change):
        return data
    if not isinstance(data, dict):
        fail("change", data, "a mapping with id, kinds, environment, author")
    unknown = sorted(str(k) for k in data if k not in CHANGE_KEYS)
    if unknown:
        raise PolicyError("change: unknown key %r (allowed: %s)" % (unknown[0], ", ".join(CHANGE_KEYS)))
    cid = data.get("id")
    if not isinstance(cid, str) or not _ID_RE.match(cid):
        fail("change.id", cid, "an identifier of letters, digits and . _ : - (max 64)")
    kinds = _str_list(data.get("kinds"), "change.kinds", choices=KINDS)
    if not kinds:
        fail("change.kinds", data.get("kinds"), "a non-empty list of %s" % ", ".join(KINDS))
    env = data.get("environment")
    if not isinstance(env, str) or not _NAME_RE.match(env):
        fail("change.environment", env, "an environment name such as 'production'")
    author = data.get("author")
    if not isinstance(author, str) or not _NAME_RE.match(author):
        fail("change.author", author, "the author's identity (as in allowed_signers), e.g. 'dev@example.com'")
    operation = data.get("operation", "deploy")
    if operation not in OPERATIONS:
        fail("change.operation", operation, "one of %s" % ", ".join(OPERATIONS))
    duration = data.get("duration_minutes", 60)
    if isinstance(duration, bool) or not isinstance(duration, int) or not 1 <= duration <= 14 * 24 * 60:
        fail("change.duration_minutes", duration, "an integer number of minutes between 1 and 20160")
    summary = data.get("summary") or ""
    if not isinstance(summary, str):
        fail("change.summary", summary, "a string")
    extra = {k: data[k] for k in CHANGE_KEYS[8:] if data.get(k) not in (None, "", [], {})}
    return Change(id=cid, kinds=kinds, tenants=_str_list(data.get("tenants"), "change.tenants"),
                  environment=env, author=author, operation=operation, summary=summary,
                  duration_minutes=duration, extra=extra)


def load_rules(rules):
    """Validate an ordered list of rules (``None`` = :data:`DEFAULT_RULES`)."""
    if rules is None:
        rules = DEFAULT_RULES
    if not isinstance(rules, (list, tuple)):
        fail("risk.rules", rules, "a list of rules")
    out = []
    for i, rule in enumerate(rules):
        f = "risk.rules[%d]" % i
        if isinstance(rule, Rule):
            out.append(rule)
            continue
        if not isinstance(rule, dict):
            fail(f, rule, "a mapping with name, when and one of at_least/set/escalate")
        unknown = sorted(str(k) for k in rule if k not in _RULE_KEYS)
        if unknown:
            raise PolicyError("%s: unknown key %r (allowed: %s)" % (f, unknown[0], ", ".join(_RULE_KEYS)))
        name = rule.get("name", "rule %d" % (i + 1))
        when = rule.get("when") or {}
        if not isinstance(when, dict):
            fail(f + ".when", when, "a mapping of conditions")
        bad = sorted(str(k) for k in when if k not in _WHEN_KEYS)
        if bad:
            raise PolicyError("%s.when: unknown condition %r (allowed: %s)" % (f, bad[0], ", ".join(_WHEN_KEYS)))
        cond = {
            "environments": _str_list(when.get("environments"), f + ".when.environments"),
            "kinds": _str_list(when.get("kinds"), f + ".when.kinds", choices=KINDS),
            "kinds_all": _str_list(when.get("kinds_all"), f + ".when.kinds_all", choices=KINDS),
            "tenants": _str_list(when.get("tenants"), f + ".when.tenants"),
            "operations": _str_list(when.get("operations"), f + ".when.operations", choices=OPERATIONS),
            "min_tenants": when.get("min_tenants"),
        }
        if cond["min_tenants"] is not None and (isinstance(cond["min_tenants"], bool)
                                                or not isinstance(cond["min_tenants"], int)
                                                or cond["min_tenants"] < 1):
            fail(f + ".when.min_tenants", cond["min_tenants"], "a positive integer")
        actions = [k for k in ("at_least", "set", "escalate") if k in rule]
        if len(actions) != 1:
            fail(f, rule, "exactly one of at_least, set, escalate")
        action = actions[0]
        arg = rule[action]
        if action == "escalate":
            if isinstance(arg, bool) or not isinstance(arg, int) or not 1 <= arg <= 3:
                fail(f + ".escalate", arg, "an integer between 1 and 3")
        else:
            class_index(arg, "%s.%s" % (f, action))
        stop = rule.get("stop", False)
        if not isinstance(stop, bool):
            fail(f + ".stop", stop, "a boolean")
        out.append(Rule(name=str(name), when=cond, action=action, arg=arg, stop=stop))
    return tuple(out)


def _matches(cond, change):
    if cond["environments"] and change.environment not in cond["environments"]:
        return False
    if cond["kinds"] and not set(cond["kinds"]) & set(change.kinds):
        return False
    if cond["kinds_all"] and not set(cond["kinds_all"]) <= set(change.kinds):
        return False
    if cond["tenants"] and not set(cond["tenants"]) & set(change.tenants):
        return False
    if cond["operations"] and change.operation not in cond["operations"]:
        return False
    return not (cond["min_tenants"] is not None and len(change.tenants) < cond["min_tenants"])


def classify(change, rules=None, base="low"):
    """Classify ``change`` (mapping or :class:`Change`) into a :class:`Classification` with reasons."""
    change = normalize_change(change)
    rules = load_rules(rules)
    level = class_index(base, "risk.base")
    reasons = ["base class %s" % base]
    for rule in rules:
        if not _matches(rule.when, change):
            continue
        before = level
        if rule.action == "at_least":
            level = max(level, RISK_CLASSES.index(rule.arg))
        elif rule.action == "set":
            level = RISK_CLASSES.index(rule.arg)
        else:
            level = min(level + rule.arg, len(RISK_CLASSES) - 1)
        verb = {"at_least": "at least %s", "set": "set to %s", "escalate": "escalate by %s"}[rule.action]
        reasons.append("rule '%s' (%s): %s -> %s" % (
            rule.name, verb % rule.arg, RISK_CLASSES[before], RISK_CLASSES[level]))
        if rule.stop:
            break
    return Classification(RISK_CLASSES[level], tuple(reasons))
