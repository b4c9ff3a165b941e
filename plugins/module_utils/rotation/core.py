# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The four-step rotation state machine, independent of where credentials live.

A rotation combines a *target* (the system that must accept the credential: PostgreSQL, Redis, Odoo's
``admin_passwd``, an API key consumer) with a *store* (where consumers read the current credential:
AWS Secrets Manager or a Kubernetes Secret). The steps follow AWS Secrets Manager's rotation model:

1. ``create``  - generate a new value and record it as *pending* in the store;
2. ``set``     - make the target accept the pending value (without invalidating the current one);
3. ``test``    - log in / verify with the pending value;
4. ``finish``  - promote pending to current in the store, then let the target retire what it must.

Any failure in 1-3 discards the pending value and rolls the target back where that is possible; the
store's current credential is never touched, so it stays valid and current. Error messages never contain
secret values. Nothing here imports AnsibleModule; ``check_mode`` is passed explicitly.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import datetime
from dataclasses import dataclass, field


UTC = datetime.timezone.utc  # noqa: UP017 - datetime.UTC is Python 3.11+, modules run on 3.8+


class RotationError(Exception):
    """Any rotation, store, target or inventory problem; the message is safe to show (no secrets)."""


STEPS = ("create", "set", "test", "finish")


@dataclass
class StoredCredential:
    """A credential as a store holds it. ``value`` is secret; everything else may be shown."""

    value: dict
    version: str
    rotated_at: datetime.datetime | None = None

    def __repr__(self) -> str:  # never leak the value through tracebacks or debug output
        return "StoredCredential(version=%r, rotated_at=%r, value=<hidden>)" % (self.version, self.rotated_at)


class Store:
    """Where consumers read the current credential. Subclasses implement the network calls."""

    kind = ""

    def describe(self) -> str:
        raise NotImplementedError

    def check(self) -> None:
        """Preflight before anything is written (e.g. the Deployments to restart exist)."""

    def read_current(self) -> StoredCredential | None:
        """The current credential, or ``None`` if the store has none yet."""
        raise NotImplementedError

    def last_rotated(self) -> datetime.datetime | None:
        """When the current credential was created (``None``: no credential or unknown)."""
        current = self.read_current()
        return current.rotated_at if current is not None else None

    def put_pending(self, value: dict) -> str:
        """Record ``value`` as pending; returns its version id. Never makes it current."""
        raise NotImplementedError

    def discard_pending(self, version: str) -> None:
        """Forget a pending version (best effort; called on failure)."""
        raise NotImplementedError

    def promote(self, version: str, value: dict, previous: StoredCredential | None) -> None:
        """Make the pending ``version`` current (the previous current becomes previous)."""
        raise NotImplementedError

    def after_promote(self, check_mode: bool) -> list[str]:
        """Consumers' follow-up after promotion (e.g. rolling restarts); returns what was (or would be) done."""
        return []


class Target:
    """The system that must accept the credential."""

    backend = ""

    def check(self) -> None:
        """Preflight (admin credentials present, reachable); raise :class:`RotationError` otherwise."""

    def plan(self, current: StoredCredential | None) -> dict:
        """Non-secret facts about the pending credential, e.g. ``{"username": "odoo_b"}``."""
        return {}

    def build_value(self, plan: dict, secret: str) -> dict:
        """The value to store for the new credential (may contain ``secret`` or a hash of it)."""
        raise NotImplementedError

    def set(self, plan: dict, value: dict, secret: str, current: StoredCredential | None) -> None:
        raise NotImplementedError

    def test(self, plan: dict, value: dict, secret: str) -> None:
        raise NotImplementedError

    def rollback(self, plan: dict, value: dict, secret: str, current: StoredCredential | None) -> None:
        """Undo ``set`` where the target allows it (best effort)."""

    def retire(self, plan: dict, current: StoredCredential | None, check_mode: bool) -> list[str]:
        """After promotion: retire the previous credential if this target does that; returns actions."""
        return []


@dataclass
class RotationResult:
    changed: bool
    integration: str
    backend: str
    store: str
    current_version: str | None
    current_user: str | None
    rotated_at: str | None
    due: bool
    steps: list = field(default_factory=list)
    actions: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "changed": self.changed,
            "integration": self.integration,
            "backend": self.backend,
            "store": self.store,
            "current_version": self.current_version,
            "current_user": self.current_user,
            "rotated_at": self.rotated_at,
            "due": self.due,
            "steps": list(self.steps),
            "actions": list(self.actions),
        }


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(UTC)


def isoformat(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def is_due(current: StoredCredential | None, period_days: int | None, now: datetime.datetime) -> bool:
    """A credential is due when there is none, its age is unknown, or it is older than ``period_days``."""
    if current is None or period_days is None or current.rotated_at is None:
        return True
    rotated = current.rotated_at if current.rotated_at.tzinfo else current.rotated_at.replace(
        tzinfo=UTC)
    return now - rotated >= datetime.timedelta(days=period_days)


def rotate(integration: str, target: Target, store: Store, new_secret, *, check_mode: bool,
           force: bool = True, period_days: int | None = None, now=utcnow) -> RotationResult:
    """Run one rotation. ``new_secret`` is a zero-argument callable returning a fresh secret string.

    With ``force=False`` nothing happens unless the current credential is older than ``period_days``
    (this makes a second run idempotent). In check mode only reads happen; the result says what would
    rotate. Raises :class:`RotationError`; after any failure before ``finish`` the store's current
    credential is unchanged.
    """
    target.check()
    store.check()
    current = store.read_current()
    due = is_due(current, period_days, now())

    def result(changed, cred, steps, actions, user=None):
        shown = cred.value.get("username") if cred is not None and user is None else user
        return RotationResult(changed=changed, integration=integration, backend=target.backend,
                              store=store.describe(), current_version=cred.version if cred else None,
                              current_user=shown, rotated_at=isoformat(cred.rotated_at) if cred else None,
                              due=due, steps=steps, actions=actions)

    if not force and not due:
        return result(False, current, [], [])
    plan = target.plan(current)
    if check_mode:
        actions = ["would rotate %s credential in %s" % (target.backend, store.describe())]
        if plan.get("username"):
            actions.append("would set a new password for %s and promote it" % plan["username"])
        actions.extend(store.after_promote(check_mode=True))
        actions.extend(target.retire(plan, current, check_mode=True))
        return result(True, current, [], actions)

    secret = new_secret()
    value = target.build_value(plan, secret)
    steps = []
    step = "create"
    version = None
    try:
        version = store.put_pending(value)
        steps.append("create")
        step = "set"
        target.set(plan, value, secret, current)
        steps.append("set")
        step = "test"
        target.test(plan, value, secret)
        steps.append("test")
        step = "finish"
        store.promote(version, value, current)
    except Exception as exc:  # noqa: BLE001 - every failure must leave the current credential current
        cleanup = []
        if step in ("set", "test", "finish"):
            try:
                target.rollback(plan, value, secret, current)
            except Exception as rexc:  # noqa: BLE001
                cleanup.append("target rollback failed: %s" % _safe(rexc, secret))
        if version is not None:
            try:
                store.discard_pending(version)
            except Exception as dexc:  # noqa: BLE001
                cleanup.append("discarding the pending version failed: %s" % _safe(dexc, secret))
        kept = ("version %s" % current.version) if current else "none (store was empty)"
        raise RotationError(
            "rotation of %s (%s in %s) failed at step %s: %s; the current credential is unchanged and still "
            "current (%s)%s" % (integration, target.backend, store.describe(), step, _safe(exc, secret), kept,
                                "; " + "; ".join(cleanup) if cleanup else ""))
    steps.append("finish")
    promoted = StoredCredential(value=value, version=version, rotated_at=now())
    actions = []
    try:
        actions.extend(store.after_promote(check_mode=False))
        actions.extend(target.retire(plan, current, check_mode=False))
    except Exception as exc:  # noqa: BLE001
        raise RotationError(
            "rotation of %s (%s in %s) promoted version %s, but the follow-up failed: %s"
            % (integration, target.backend, store.describe(), version, _safe(exc, secret)))
    return result(True, promoted, steps, actions, user=plan.get("username") or value.get("username"))


def _safe(exc: BaseException, *secrets_: str) -> str:
    """The exception text with any secret value masked (defence in depth; messages should not carry them)."""
    text = str(exc) or exc.__class__.__name__
    for s in secrets_:
        if s:
            text = text.replace(s, "********")
    return text
