# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signed approvals: requirements per risk class and verification with ``ssh-keygen -Y verify``.

An approval is a small YAML/JSON file, signed by the approver with their SSH key::

    change_id: CHG-2025-042
    risk_class: high
    approver: alice@erpops.example      # the principal in allowed_signers
    timestamp: "2025-03-10T09:30:00Z"
    decision: approve                   # or reject (a verified rejection vetoes the change)
    comment: reviewed migration plan

    ssh-keygen -Y sign -f ~/.ssh/id_ed25519 -n erpops-release approval.yml   # writes approval.yml.sig

It counts only when the signature verifies for the named approver against ``allowed_signers``
(namespace ``erpops-release``), it names the change being gated, its risk class is at least the
gated class, it is not older than ``max_age_hours`` nor in the future, the approver is a known
approver with a role, and the approver is not the author. The same person counts once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime as _dt
import json
import os
import subprocess
from dataclasses import dataclass

try:
    import yaml
except ImportError:  # pragma: no cover - JSON approvals still work
    yaml = None

from ansible_collections.erpops.odoo.plugins.module_utils.policy.calendar import UTC, parse_instant
from ansible_collections.erpops.odoo.plugins.module_utils.policy.errors import PolicyError, fail
from ansible_collections.erpops.odoo.plugins.module_utils.policy.risk import RISK_CLASSES, class_index

NAMESPACE = "erpops-release"
MAX_FILE_BYTES = 64 * 1024
FUTURE_SKEW = _dt.timedelta(minutes=5)
APPROVAL_KEYS = ("change_id", "risk_class", "approver", "timestamp", "decision", "role", "comment")
DEFAULT_REQUIREMENTS = {
    "low": {"min_approvers": 0, "roles": []},
    "medium": {"min_approvers": 1, "roles": []},
    "high": {"min_approvers": 2, "roles": ["release-manager"]},
    "critical": {"min_approvers": 3, "roles": ["release-manager", "business-owner"]},
}
_POLICY_KEYS = ("namespace", "max_age_hours", "requirements", "approvers")


@dataclass(frozen=True)
class ApprovalPolicy:
    namespace: str
    max_age_hours: float
    requirements: dict  # class -> (min_approvers, roles tuple)
    approvers: dict  # identity (lower case) -> roles tuple


@dataclass
class ApprovalResult:
    satisfied: bool
    required: dict
    verified: list
    rejected: list
    missing: list
    vetoed: list


def load_approval_policy(data):
    """Validate the ``approvals`` section of the policy."""
    data = {} if data is None else data
    if not isinstance(data, dict):
        fail("approvals", data, "a mapping")
    unknown = sorted(str(k) for k in data if k not in _POLICY_KEYS)
    if unknown:
        raise PolicyError("approvals: unknown key %r (allowed: %s)" % (unknown[0], ", ".join(_POLICY_KEYS)))
    namespace = data.get("namespace", NAMESPACE)
    if not isinstance(namespace, str) or not namespace:
        fail("approvals.namespace", namespace, "a non-empty string")
    max_age = data.get("max_age_hours", 168)
    if isinstance(max_age, bool) or not isinstance(max_age, (int, float)) or max_age <= 0:
        fail("approvals.max_age_hours", max_age, "a positive number of hours")
    reqs = {}
    raw = dict(DEFAULT_REQUIREMENTS)
    given = data.get("requirements") or {}
    if not isinstance(given, dict):
        fail("approvals.requirements", given, "a mapping of risk class to {min_approvers, roles}")
    for cls in given:
        class_index(cls, "approvals.requirements key")
    raw.update(given)
    for cls in RISK_CLASSES:
        f = "approvals.requirements.%s" % cls
        req = raw[cls]
        if not isinstance(req, dict) or set(req) - {"min_approvers", "roles"}:
            fail(f, req, "a mapping with min_approvers and roles")
        n = req.get("min_approvers", 0)
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 10:
            fail(f + ".min_approvers", n, "an integer between 0 and 10")
        roles = req.get("roles") or []
        if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
            fail(f + ".roles", roles, "a list of role names")
        if len(set(roles)) > max(n, 0):
            fail(f + ".roles", roles, "at most min_approvers (%d) distinct roles (each needs its own approver)" % n)
        reqs[cls] = (n, tuple(roles))
    approvers = {}
    raw_approvers = data.get("approvers") or {}
    if not isinstance(raw_approvers, dict):
        fail("approvals.approvers", raw_approvers, "a mapping of identity to {roles: [...]}")
    for ident, spec in raw_approvers.items():
        f = "approvals.approvers[%r]" % (ident,)
        if not isinstance(ident, str) or not ident.strip():
            fail(f, ident, "an identity string (the allowed_signers principal)")
        if not isinstance(spec, dict) or set(spec) - {"roles", "name"}:
            fail(f, spec, "a mapping with roles")
        roles = spec.get("roles") or []
        if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
            fail(f + ".roles", roles, "a list of role names")
        approvers[ident.strip().lower()] = tuple(roles)
    return ApprovalPolicy(namespace, float(max_age), reqs, approvers)


def _parse_approval(text, path):
    try:
        data = json.loads(text) if text.lstrip().startswith("{") or yaml is None else yaml.safe_load(text)
    except Exception as exc:  # noqa: BLE001 - any parse error means "not a valid approval"
        raise PolicyError("approval %s: not valid YAML/JSON (%s)" % (path, exc))
    if not isinstance(data, dict):
        fail("approval %s" % path, data, "a mapping with change_id, risk_class, approver, timestamp")
    unknown = sorted(str(k) for k in data if k not in APPROVAL_KEYS)
    if unknown:
        raise PolicyError("approval %s: unknown key %r (allowed: %s)" % (path, unknown[0], ", ".join(APPROVAL_KEYS)))
    for key in ("change_id", "risk_class", "approver", "timestamp"):
        if data.get(key) in (None, ""):
            fail("approval %s.%s" % (path, key), data.get(key), "a value")
    if not isinstance(data["approver"], str):
        fail("approval %s.approver" % path, data["approver"], "an identity string")
    if data.get("decision", "approve") not in ("approve", "reject"):
        fail("approval %s.decision" % path, data.get("decision"), "approve or reject")
    return data


def verify_signature(data_path, sig_path, identity, allowed_signers, *, namespace=NAMESPACE, ssh_keygen="ssh-keygen"):
    """Run ``ssh-keygen -Y verify``; returns ``(ok, message)``. Missing tools or files raise PolicyError."""
    for label, path in (("allowed_signers", allowed_signers), ("signature", sig_path)):
        if not path or not os.path.isfile(path):
            raise PolicyError("%s file %r not found" % (label, path))
    cmd = [ssh_keygen, "-Y", "verify", "-f", allowed_signers, "-I", identity, "-n", namespace, "-s", sig_path]
    try:
        with open(data_path, "rb") as fh:
            proc = subprocess.run(cmd, stdin=fh, capture_output=True, timeout=30, check=False)
    except OSError as exc:
        raise PolicyError("cannot run %r to verify approvals: %s" % (ssh_keygen, exc))
    except subprocess.TimeoutExpired:
        return False, "ssh-keygen timed out"
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace").strip().splitlines()
    return proc.returncode == 0, (out[-1] if out else "exit %d" % proc.returncode)


def _match_roles(required, candidates):
    """True when each required role can be given to a distinct approver (tiny bipartite matching)."""
    required = list(required)

    def assign(i, used):
        if i == len(required):
            return True
        for who, roles in candidates.items():
            if who not in used and required[i] in roles and assign(i + 1, used | {who}):
                return True
        return False

    return assign(0, frozenset())


def _approval_paths(approvals):
    out = []
    for i, item in enumerate(approvals or []):
        if isinstance(item, str):
            out.append((item, item + ".sig"))
        elif isinstance(item, dict) and isinstance(item.get("path"), str):
            out.append((item["path"], item.get("signature") or item["path"] + ".sig"))
        else:
            fail("approvals[%d]" % i, item, "a path or a mapping with path (and optional signature)")
    return out


def verify_approvals(change, risk_class, approvals, policy, *, allowed_signers, now, ssh_keygen="ssh-keygen",
                     verifier=verify_signature):
    """Verify approval files for ``change`` at ``risk_class``; returns an :class:`ApprovalResult`.

    A file that does not verify is *rejected* (listed with the reason), never an exception; an
    unusable setup (no allowed_signers, no ssh-keygen) raises :class:`PolicyError` (fail closed).
    """
    policy = policy if isinstance(policy, ApprovalPolicy) else load_approval_policy(policy)
    now = now.astimezone(UTC)
    n_required, roles_required = policy.requirements[risk_class]
    required = {"min_approvers": n_required, "roles": list(roles_required)}
    author = change.author.strip().lower()
    verified, rejected, vetoed = [], [], []
    counted = {}
    for path, sig in _approval_paths(approvals):
        name = os.path.basename(path)

        def reject(reason, approver=None, _name=name):
            rejected.append({"file": _name, "approver": approver, "reason": reason})

        try:
            if os.path.getsize(path) > MAX_FILE_BYTES:
                reject("file larger than %d bytes" % MAX_FILE_BYTES)
                continue
            with open(path, "rb") as fh:
                text = fh.read().decode("utf-8")
            data = _parse_approval(text, name)
        except (OSError, UnicodeDecodeError, PolicyError) as exc:
            reject(str(exc))
            continue
        ident = data["approver"].strip()
        key = ident.lower()
        if key not in policy.approvers:
            reject("approver %r is not listed in approvals.approvers" % ident, ident)
            continue
        if not os.path.isfile(sig):
            reject("signature file %s not found" % os.path.basename(sig), ident)
            continue
        ok, message = verifier(path, sig, ident, allowed_signers, namespace=policy.namespace, ssh_keygen=ssh_keygen)
        if not ok:
            reject("signature does not verify for %r in namespace %r: %s" % (ident, policy.namespace, message), ident)
            continue
        if str(data["change_id"]) != change.id:
            reject("signed for change %r, not %r" % (data["change_id"], change.id), ident)
            continue
        if data["risk_class"] not in RISK_CLASSES:
            reject("risk_class %r is not one of %s" % (data["risk_class"], ", ".join(RISK_CLASSES)), ident)
            continue
        if RISK_CLASSES.index(data["risk_class"]) < RISK_CLASSES.index(risk_class):
            reject("approved risk class %s is lower than the change's class %s" % (data["risk_class"], risk_class),
                   ident)
            continue
        try:
            stamp = parse_instant(data["timestamp"], "approval %s.timestamp" % name)
        except PolicyError as exc:
            reject(str(exc), ident)
            continue
        if stamp > now + FUTURE_SKEW:
            reject("timestamp %s is in the future" % data["timestamp"], ident)
            continue
        if now - stamp > _dt.timedelta(hours=policy.max_age_hours):
            reject("approval of %s is older than %g hours" % (data["timestamp"], policy.max_age_hours), ident)
            continue
        if key == author:
            reject("separation of duties: %r is the change author and cannot approve it" % ident, ident)
            continue
        if data.get("decision", "approve") == "reject":
            vetoed.append({"approver": ident, "comment": str(data.get("comment") or "")})
            continue
        if key in counted:
            reject("duplicate approval by %r (counted once)" % ident, ident)
            continue
        roles = policy.approvers[key]
        counted[key] = roles
        verified.append({"approver": ident, "roles": list(roles), "timestamp": stamp.isoformat().replace("+00:00", "Z"),
                         "risk_class": data["risk_class"], "file": name})
    missing = []
    if len(counted) < n_required:
        missing.append("risk class %s needs %d distinct approver(s) other than the author, %d verified"
                       % (risk_class, n_required, len(counted)))
    if roles_required and not _match_roles(roles_required, counted):
        missing.append("risk class %s needs approvals covering roles %s by distinct approvers (have: %s)"
                       % (risk_class, ", ".join(roles_required),
                          ", ".join("%s=%s" % (k, "/".join(v) or "-") for k, v in sorted(counted.items())) or "none"))
    for veto in vetoed:
        missing.append("rejected by %s%s" % (veto["approver"], (": " + veto["comment"]) if veto["comment"] else ""))
    return ApprovalResult(satisfied=not missing, required=required, verified=verified, rejected=rejected,
                          missing=missing, vetoed=vetoed)
