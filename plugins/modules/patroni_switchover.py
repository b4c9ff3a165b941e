#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: patroni_switchover
short_description: Planned switchover of a Patroni cluster to a named or the best replica
version_added: 0.1.0
description:
  - Reads the cluster, checks the request before changing anything, asks the leader's REST API for a
    switchover (C(POST /switchover)) and waits until the new leader accepts writes (its C(GET /primary)
    answers 200, the check HAProxy routes writes by).
  - "Pre-checks: the cluster has a leader and is not paused; the candidate is a member, a healthy replica
    (C(running)/C(streaming)), not tagged C(nofailover), with a known lag of at most O(max_lag_bytes), and a
    synchronous standby when synchronous mode is on. Without O(candidate) the best such replica is chosen
    (synchronous first, then the smallest lag)."
  - Naming the current leader as O(candidate) changes nothing (idempotent).
  - When the switchover does not complete within O(wait_timeout), the module fails with the cluster state;
    Patroni keeps the old leader (or elects one), and the module waits up to 30 more seconds for a leader
    before reporting.
author: erpops platform team (@erpops)
extends_documentation_fragment:
  - erpops.odoo.patroni_api
attributes:
  check_mode:
    support: full
    description: Runs every pre-check and reports in RV(msg) which member would take over; changes nothing.
  diff_mode:
    support: full
    description: The leader before and after.
  platform:
    platforms: posix
    support: full
    description: Runs on the controller or any POSIX host with the Python requirements.
options:
  candidate:
    description: Member to switch over to; omit to pick the best healthy replica.
    type: str
  max_lag_bytes:
    description: Largest replication lag (bytes) a candidate may have.
    type: int
    default: 1048576
  wait_timeout:
    description: Seconds to wait for the new leader to accept writes.
    type: float
    default: 60.0
seealso:
  - module: erpops.odoo.patroni_info
"""

EXAMPLES = r"""
- name: What would happen?
  erpops.odoo.patroni_switchover:
  check_mode: true
  register: plan

- name: Switch over to pg2
  erpops.odoo.patroni_switchover:
    candidate: pg2
    api_username: patroni
    api_password: "{{ vault_patroni_rest_password }}"
"""

RETURN = r"""
msg:
  description: What happened (or would happen in check mode).
  returned: always
  type: str
plan:
  description: The checked plan, with C(action) (C(switchover) or C(none)), C(leader), C(candidate) and C(reason).
  returned: always
  type: dict
leader_before:
  description: Leader before the switchover.
  returned: always
  type: str
leader_after:
  description: Leader afterwards (the candidate in check mode).
  returned: always
  type: str
seconds:
  description: Seconds from the request until the new leader accepted writes.
  returned: when a switchover ran
  type: float
cluster:
  description: Cluster summary afterwards (same keys as erpops.odoo.patroni_info); on failure, the state found.
  returned: always
  type: dict
cluster_before:
  description: Cluster summary before.
  returned: success
  type: dict
diff:
  description: Leader before and after.
  returned: diff mode
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.erpops.odoo.plugins.module_utils.patroni import args
from ansible_collections.erpops.odoo.plugins.module_utils.patroni.errors import PatroniError
from ansible_collections.erpops.odoo.plugins.module_utils.patroni.switchover import run_switchover


def main():
    module = AnsibleModule(argument_spec=args.switchover_argument_spec(), supports_check_mode=True)
    p = module.params
    try:
        result = run_switchover(args.client_from(p), p["candidate"], p["max_lag_bytes"], wait_timeout=p["wait_timeout"],
                                check_mode=module.check_mode, member_urls=p["member_api_urls"])
    except PatroniError as exc:
        module.fail_json(msg=str(exc), kind=exc.kind, changed=False, **exc.details)
    if module._diff:
        result["diff"] = {"before": {"leader": result["leader_before"]}, "after": {"leader": result["leader_after"]}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
