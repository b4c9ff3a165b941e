#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: odoo_backup_prune
short_description: Apply grandfather-father-son retention to a tenant's Odoo backups
version_added: 0.1.0
description:
  - Keeps, for the O(daily) most recent days that have a complete backup, the newest backup of each day; the
    same per ISO week (O(weekly)), calendar month (O(monthly)) and year (O(yearly)), all in UTC; plus the
    O(keep_last) newest. Everything else complete is deleted.
  - The newest complete (verified) backup is always kept, whatever the policy.
  - Incomplete backups (no C(manifest.json)) older than O(incomplete_after_hours) are deleted; younger ones may
    still be running and are kept.
  - A deleted backup loses its manifest first, so a half-deleted backup reads as incomplete, never as complete.
  - Versioned buckets - deletes leave noncurrent versions (expire them with a lifecycle rule) unless
    O(purge_versions=true). Object lock - a backup with any version under retention or legal hold is not
    touched and is reported in RV(locked).
  - Check mode is the dry-run listing.
author:
  - erpops platform team (@erpops)
extends_documentation_fragment:
  - erpops.odoo.backup_storage
attributes:
  check_mode:
    support: full
    description: Lists what would be kept and deleted (with reasons); deletes nothing.
  diff_mode:
    support: full
    description: Backup ids before and after.
  platform:
    platforms: posix
    support: full
    description: Runs where the database client binaries and the storage are reachable (often the controller).
options:
  daily:
    description: Days to keep one backup of.
    type: int
    default: 7
  weekly:
    description: ISO weeks to keep one backup of.
    type: int
    default: 4
  monthly:
    description: Months to keep one backup of.
    type: int
    default: 12
  yearly:
    description: Years to keep one backup of.
    type: int
    default: 0
  keep_last:
    description: Newest backups kept regardless of the calendar.
    type: int
    default: 1
  incomplete_after_hours:
    description: Age after which a backup without manifest is considered failed and removed.
    type: float
    default: 24.0
  purge_versions:
    description: On a versioned bucket also delete the noncurrent versions of pruned backups.
    type: bool
    default: false
seealso:
  - module: erpops.odoo.odoo_backup
"""

EXAMPLES = r"""
- name: Dry run - list what the Odoo.sh-like policy would delete
  erpops.odoo.odoo_backup_prune:
    bucket: erpops-backups
    tenant: acme
    daily: 7
    weekly: 4
    monthly: 3
  check_mode: true
  register: plan

- name: Prune
  erpops.odoo.odoo_backup_prune:
    bucket: erpops-backups
    tenant: acme
"""

RETURN = r"""
keep:
  description: Backups kept, each with C(backup_id), C(time) and C(reasons) (newest, last, daily, weekly, ...).
  returned: always
  type: list
  elements: dict
delete:
  description: Backups selected for deletion, each with C(backup_id), C(time) and C(reason) (retention, incomplete).
  returned: always
  type: list
  elements: dict
deleted:
  description: Backups actually deleted (empty in check mode).
  returned: always
  type: list
  elements: dict
locked:
  description: Backups selected for deletion but protected by object lock (retention or legal hold), not touched.
  returned: always
  type: list
  elements: dict
protection:
  description: Bucket versioning status and whether object lock is enabled.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.erpops.odoo.plugins.module_utils.backup import args
from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError
from ansible_collections.erpops.odoo.plugins.module_utils.backup.retention import Policy, run_prune


def main():
    module = AnsibleModule(argument_spec=args.prune_argument_spec(), supports_check_mode=True)
    p = module.params
    try:
        policy = Policy(daily=p["daily"], weekly=p["weekly"], monthly=p["monthly"], yearly=p["yearly"],
                        keep_last=p["keep_last"], incomplete_after_hours=p["incomplete_after_hours"])
        result = run_prune(args.s3_settings(p), p["tenant"], policy, check_mode=module.check_mode,
                           purge_versions=p["purge_versions"])
    except BackupError as exc:
        module.fail_json(msg=str(exc), kind=exc.kind, changed=False, **exc.details)
    before = sorted(k["backup_id"] for k in result["keep"] + result["delete"])
    gone = {d["backup_id"] for d in (result["delete"] if module.check_mode else result["deleted"])}
    result["diff"] = {"before": {"backups": before}, "after": {"backups": [b for b in before if b not in gone]}}
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
