#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: credential_inventory
short_description: Validate the integration inventory and report overdue credentials
version_added: 0.1.0
description:
  - Validates the integration inventory (name, owner, systems, backend, where the credential lives, rotation
    period, last rotation) and fails with one message naming every problem - unknown integrations,
    missing admin credentials, missing store or target settings, secrets placed in the inventory.
  - Reports for each integration when its credential was last rotated (from the store when it can tell,
    else the inventory's C(last_rotation)), when it is next due and whether it is overdue.
  - Selects the integrations to rotate - C(all), C(overdue), C(none) or names.
  - Reads only metadata (never secret values are returned).
author: erpops platform team (@erpops)
attributes:
  check_mode:
    support: full
    description: The module never changes anything.
  diff_mode:
    support: none
    description: The module changes no state, so there is nothing to diff.
  platform:
    platforms: posix
    support: full
    description: Runs on the controller or any POSIX host with the Python requirements.
options:
  integrations:
    description: The integration inventory (see the runbook C(docs/runbooks/rotate_credentials.md)).
    type: list
    elements: dict
    required: true
  admin_credential_keys:
    description:
      - "For each admin credential reference, the names of its keys that have a value (never the values),
        e.g. C({prod_postgres: [admin_user, admin_password]})."
    type: dict
    default: {}
  select:
    description: What to select for rotation - C(all), C(overdue), C(none) and/or integration names.
    type: list
    elements: str
    default: [overdue]
  query_stores:
    description: Ask each store when its current credential was created (else only the inventory's C(last_rotation)).
    type: bool
    default: true
  now:
    description: Reference time (ISO 8601) for the report; defaults to the current time.
    type: str
"""

EXAMPLES = r"""
- name: Validate the inventory and report overdue credentials
  erpops.odoo.credential_inventory:
    integrations: "{{ erpops_integrations }}"
    admin_credential_keys:
      prod_postgres: [admin_user, admin_password]
    select: [overdue]
  register: inventory
"""

RETURN = r"""
report:
  description: One row per integration.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: odoo-db, owner: platform, systems: [odoo], backend: postgresql, store: "secretsmanager:prod/odoo/db",
       rotation_period_days: 30, last_rotation: "2026-11-02T00:00:00Z", last_rotation_source: store, age_days: 31,
       next_due: "2026-12-02T00:00:00Z", overdue: true}
report_lines:
  description: The report as aligned text lines.
  returned: always
  type: list
  elements: str
overdue:
  description: Names of overdue integrations.
  returned: always
  type: list
  elements: str
selected:
  description: Names of the integrations selected for rotation, in inventory order.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.erpops.odoo.plugins.module_utils.rotation import inventory
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.core import RotationError, utcnow
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.runner import build_store


def main():
    module = AnsibleModule(
        argument_spec={
            "integrations": {"type": "list", "elements": "dict", "required": True},
            # names of the admin credentials available per target, never their values
            "admin_credential_keys": {"type": "dict", "default": {}, "no_log": False},
            "select": {"type": "list", "elements": "str", "default": ["overdue"]},
            "query_stores": {"type": "bool", "default": True},
            "now": {"type": "str"},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        entries = inventory.validate(p["integrations"], p["admin_credential_keys"])
        now = inventory.parse_date(p["now"]) if p["now"] else utcnow()
        last = {}
        if p["query_stores"]:
            for entry in entries:
                last[entry["name"]] = build_store(entry["store"], "%s: store" % entry["name"]).last_rotated()
        rows = inventory.report(entries, now, last)
        overdue = [r["name"] for r in rows if r["overdue"]]
        selected = inventory.select(entries, p["select"], overdue)
    except RotationError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, report=rows, report_lines=inventory.format_report(rows), overdue=overdue,
                     selected=selected)


if __name__ == "__main__":
    main()
