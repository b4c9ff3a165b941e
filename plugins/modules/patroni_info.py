#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: patroni_info
short_description: Read a Patroni cluster's members, roles, lag, timeline and pending restarts
version_added: 0.1.0
description:
  - Reads C(GET /cluster) from the first Patroni REST API that answers and returns one consistent summary.
  - Read-only; never changes anything.
author: erpops platform team (@erpops)
extends_documentation_fragment:
  - erpops.odoo.patroni_api
attributes:
  check_mode:
    support: full
    description: Read-only, behaves the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so has no diff.
  platform:
    platforms: posix
    support: full
    description: Runs on the controller or any POSIX host with the Python requirements.
seealso:
  - module: erpops.odoo.patroni_switchover
"""

EXAMPLES = r"""
- name: Read the cluster from a node's own REST API
  erpops.odoo.patroni_info:
  register: pg

- name: Wait until there is a leader and every replica streams
  erpops.odoo.patroni_info:
    api_url: [http://10.0.0.11:8008, http://10.0.0.12:8008]
  register: pg
  until: pg.healthy and pg.members | length == 3
  retries: 30
  delay: 2
"""

RETURN = r"""
leader:
  description: Name of the leader (primary), or null when there is none.
  returned: always
  type: str
replicas:
  description: Names of the members that are not the leader.
  returned: always
  type: list
  elements: str
sync_standbys:
  description: Names of the synchronous standbys (synchronous mode).
  returned: always
  type: list
  elements: str
members:
  description:
    - One entry per member with C(name), C(role) (C(leader), C(replica), C(sync_standby)), C(sync), C(state),
      C(host), C(port), C(api_url), C(timeline), C(lag_bytes) (null when unknown), C(pending_restart), C(nofailover).
  returned: always
  type: list
  elements: dict
timeline:
  description: The leader's timeline.
  returned: always
  type: int
max_lag_bytes:
  description: Largest known replica lag in bytes.
  returned: always
  type: int
pending_restart:
  description: Members whose PostgreSQL needs a restart for a changed parameter.
  returned: always
  type: list
  elements: str
paused:
  description: Whether the cluster is in maintenance mode.
  returned: always
  type: bool
scheduled_switchover:
  description: A scheduled switchover, if any.
  returned: always
  type: dict
healthy:
  description: There is a running leader and every other member is a streaming replica.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.erpops.odoo.plugins.module_utils.patroni import args
from ansible_collections.erpops.odoo.plugins.module_utils.patroni.cluster import read_cluster
from ansible_collections.erpops.odoo.plugins.module_utils.patroni.errors import PatroniError


def main():
    module = AnsibleModule(argument_spec=args.info_argument_spec(), supports_check_mode=True)
    try:
        state = read_cluster(args.client_from(module.params))
    except PatroniError as exc:
        module.fail_json(msg=str(exc), kind=exc.kind, changed=False, **exc.details)
    module.exit_json(changed=False, **state)


if __name__ == "__main__":
    main()
