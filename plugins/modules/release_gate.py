#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``erpops.odoo.release_gate`` module: evaluate a change against the release policy."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release_gate
short_description: Decide whether a change may be released now (risk class, freezes, signed approvals)
version_added: 0.1.0
author: erpops platform team (@erpops)
description:
  - Classifies a proposed change (what changes and where) into a risk class V(low), V(medium), V(high)
    or V(critical) by the ordered rules of the policy.
  - Checks the business calendars of the tenants or environment (payroll runs, month-end close, public
    holidays, bid deadlines, blackouts) for freezes overlapping the planned release, and the allowed
    release windows; returns the next allowed window when the release is blocked by the calendar.
  - Verifies signed approval files with C(ssh-keygen -Y verify) against an C(allowed_signers) file,
    enforcing the number of approvers and roles per risk class and separation of duties (the author
    cannot approve; each person counts once).
  - Supports a break-glass emergency path with a mandatory reason; the decision is then allowed and
    flagged RV(post_review_required).
  - Only evaluates, never changes anything (RV(changed) is always V(false)). Bad input (a malformed
    calendar or policy, an unknown tenant or time zone, overlapping or inverted windows) denies the
    release with a reason naming the field and value; the gate fails B(closed).
  - Run it where the policy, approval files and C(ssh-keygen) are, usually the controller
    (run it with C(delegate_to=localhost)).
  - See C(docs/governance.md) in the collection for the policy and calendar formats.
attributes:
  check_mode:
    support: full
    description: The module only evaluates; check mode returns the same decision.
  diff_mode:
    support: none
    description: The module changes no state, so there is nothing to diff.
  platform:
    platforms: posix
    support: full
    description: Runs on the controller or any POSIX host with the Python requirements.
options:
  change:
    description:
      - The proposed change.
      - V(id) (required), V(kinds) (required; any of V(image), V(odoo_conf), V(modules_update),
        V(modules_install), V(db_migration), V(infrastructure), V(credentials)), V(environment)
        (required), V(author) (required; the author's identity as in C(allowed_signers)), V(tenants),
        V(operation) (V(deploy), V(upgrade), V(rollback), V(rotate_credentials), V(restore), V(other)),
        V(duration_minutes) (default V(60)), V(summary), V(image), V(modules_update), V(modules_install),
        V(revision_before), V(revision_after), V(ticket), V(details).
    type: dict
    required: true
  policy:
    description:
      - The governance policy as data (risk rules, calendars, tenants, environments, approvals,
        operations, break-glass). Mutually exclusive with O(policy_file).
    type: dict
  policy_file:
    description: Path of a YAML or JSON file holding the policy. Mutually exclusive with O(policy).
    type: path
  approvals:
    description:
      - Paths of approval files; each is verified with its signature C(<path>.sig).
    type: list
    elements: path
    default: []
  approvals_dir:
    description:
      - A directory of approval files (C(*.yml), C(*.yaml), C(*.json)), each with a C(.sig) next to it;
        added to O(approvals).
    type: path
  allowed_signers:
    description:
      - The C(allowed_signers) file (see C(ssh-keygen(1)) ALLOWED SIGNERS) mapping approver identities to
        public keys. Required when approvals are given or needed.
    type: path
  at:
    description:
      - Evaluate as if the release started at this instant (ISO 8601 with UTC offset). Default is now.
    type: str
  break_glass:
    description: Emergency override; requires O(break_glass_reason). The decision is allowed and flagged.
    type: bool
    default: false
  break_glass_reason:
    description: Why break-glass is used (mandatory with O(break_glass); minimum length set by the policy).
    type: str
    default: ""
  fail_on_deny:
    description: Fail the task when the gate denies the release (the result is returned either way).
    type: bool
    default: true
  business_impact:
    description: Business-impact notes for the release notes.
    type: list
    elements: str
    default: []
  rollback_point:
    description: The rollback point (backup id, previous revision) for the release notes.
    type: str
  ssh_keygen:
    description: The C(ssh-keygen) executable used to verify signatures.
    type: str
    default: ssh-keygen
notes:
  - Sign an approval with C(ssh-keygen -Y sign -f ~/.ssh/id_ed25519 -n erpops-release approval.yml).
seealso:
  - name: ssh-keygen(1) signatures
    description: C(ssh-keygen -Y sign) and C(-Y verify), and the allowed_signers format.
    link: https://man.openbsd.org/ssh-keygen.1
"""

EXAMPLES = r"""
- name: Gate a production upgrade
  erpops.odoo.release_gate:
    change:
      id: CHG-2025-042
      kinds: [image, modules_update, db_migration]
      tenants: [acme]
      environment: production
      author: dev@erpops.example
      operation: upgrade
      duration_minutes: 90
      image: registry.example/odoo:17.0-20250310
    policy_file: "{{ inventory_dir }}/governance/policy.yml"
    approvals_dir: "{{ inventory_dir }}/governance/approvals/CHG-2025-042"
    allowed_signers: "{{ inventory_dir }}/governance/allowed_signers"
    business_impact: [Payroll users see the new timesheet view]
    rollback_point: backup-acme-20250310T2200
  delegate_to: localhost
  run_once: true
  register: gate

- name: Emergency fix during a freeze
  erpops.odoo.release_gate:
    change: "{{ change }}"
    policy_file: governance/policy.yml
    break_glass: true
    break_glass_reason: "INC-981 invoices cannot be posted; hotfix approved by phone"
  delegate_to: localhost
"""

RETURN = r"""
allowed:
  description: Whether the release may proceed.
  type: bool
  returned: always
risk_class:
  description: The risk class (V(null) when the input was invalid).
  type: str
  returned: always
  sample: high
risk_reasons:
  description: The rules that produced the risk class.
  type: list
  elements: str
  returned: always
reasons:
  description: Why the gate decided as it did (blocking reasons when denied).
  type: list
  elements: str
  returned: always
  sample: ["freeze: payroll run 'monthly' on 2025-03-31 (freeze 2025-03-28 .. 2025-03-31, Europe/Berlin)"]
freezes:
  description: Freezes overlapping the planned release (calendar, kind, name, reason, start, end, start_utc, end_utc).
  type: list
  elements: dict
  returned: always
approvals:
  description: Verified approvals that counted (approver, roles, timestamp, risk_class, file). No key material.
  type: list
  elements: dict
  returned: always
rejected_approvals:
  description: Approval files that did not count, with the reason (file, approver, reason).
  type: list
  elements: dict
  returned: always
required_approvals:
  description: What the risk class requires (min_approvers, roles).
  type: dict
  returned: always
break_glass:
  description: Whether break-glass was used.
  type: bool
  returned: always
break_glass_reason:
  description: The break-glass reason (empty otherwise).
  type: str
  returned: always
post_review_required:
  description: True after break-glass, or a freeze-exempt operation (rollback) during a freeze.
  type: bool
  returned: always
next_window:
  description: The next allowed release window (start, end, start_utc, end_utc, timezone, duration_minutes)
    when the calendar blocks the release now.
  type: dict
  returned: always
calendars:
  description: Names of the calendars applied.
  type: list
  elements: str
  returned: always
change:
  description: The normalised change.
  type: dict
  returned: always
evaluated_at:
  description: The instant evaluated (UTC).
  type: str
  returned: always
error:
  description: The input error that made the gate fail closed, or V(null).
  type: str
  returned: always
release_notes:
  description: Markdown release notes (what changed, risk class, approvals, business impact, rollback point).
  type: str
  returned: always
changed:
  description: Always V(false); the module only evaluates.
  type: bool
  returned: always
diff:
  description: Always empty; nothing changes.
  type: dict
  returned: always
"""

import json
import os

try:
    import yaml
except ImportError:  # pragma: no cover - JSON policies still work
    yaml = None

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.erpops.odoo.plugins.module_utils.policy.errors import PolicyError
from ansible_collections.erpops.odoo.plugins.module_utils.policy.gate import decide
from ansible_collections.erpops.odoo.plugins.module_utils.policy.notes import render_release_notes

ARGUMENT_SPEC = {
    "change": {"type": "dict", "required": True},
    "policy": {"type": "dict"},
    "policy_file": {"type": "path"},
    "approvals": {"type": "list", "elements": "path", "default": []},
    "approvals_dir": {"type": "path"},
    "allowed_signers": {"type": "path"},
    "at": {"type": "str"},
    "break_glass": {"type": "bool", "default": False},
    "break_glass_reason": {"type": "str", "default": ""},
    "fail_on_deny": {"type": "bool", "default": True},
    "business_impact": {"type": "list", "elements": "str", "default": []},
    "rollback_point": {"type": "str"},
    "ssh_keygen": {"type": "str", "default": "ssh-keygen", "no_log": False},  # a binary path, not a key
}


def _load_policy(params):
    if params["policy"] is not None:
        return params["policy"]
    path = params["policy_file"]
    try:
        with open(path) as fh:
            text = fh.read()
    except OSError as exc:
        raise PolicyError("policy_file %r cannot be read: %s" % (path, exc))
    try:
        return json.loads(text) if yaml is None else yaml.safe_load(text)
    except Exception as exc:  # noqa: BLE001 - any parse error is a policy error
        raise PolicyError("policy_file %r is not valid YAML: %s" % (path, exc))


def _approval_files(params):
    files = list(params["approvals"])
    folder = params["approvals_dir"]
    if folder:
        if not os.path.isdir(folder):
            raise PolicyError("approvals_dir %r is not a directory" % folder)
        files.extend(os.path.join(folder, n) for n in sorted(os.listdir(folder))
                     if n.endswith((".yml", ".yaml", ".json")))
    return files


def run_module(module):
    params = module.params
    try:
        policy = _load_policy(params)
        approvals = _approval_files(params)
    except PolicyError as exc:
        policy, approvals, load_error = None, [], str(exc)
    else:
        load_error = None
    if load_error:
        decision = decide(params["change"], None, at=params["at"])
        decision.update(allowed=False, error=load_error,
                        reasons=["invalid governance input, failing closed: %s" % load_error])
    else:
        decision = decide(params["change"], policy, at=params["at"], approvals=approvals,
                          allowed_signers=params["allowed_signers"], break_glass=params["break_glass"],
                          break_glass_reason=params["break_glass_reason"], ssh_keygen=params["ssh_keygen"])
    decision["release_notes"] = render_release_notes(decision, params["business_impact"], params["rollback_point"])
    result = dict(changed=False, diff={}, **decision)
    if not decision["allowed"] and params["fail_on_deny"]:
        module.fail_json(msg="release gate denied %s: %s" % (
            decision["change"].get("id"), "; ".join(decision["reasons"])), **result)
    module.exit_json(**result)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           mutually_exclusive=[("policy", "policy_file")],
                           required_one_of=[("policy", "policy_file")])
    run_module(module)


if __name__ == "__main__":
    main()
