#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: odoo_restore
short_description: Restore, verify and validate an Odoo backup made by odoo_backup
version_added: 0.1.0
description:
  - Downloads every part of a backup (the latest complete one, or O(backup_id)) and checks its size and SHA-256
    against the manifest B(before) touching the target. A corrupted or truncated part fails here, with nothing
    changed.
  - Restores into a new database. An existing target database, non-empty filestore directory or attachments
    prefix holding objects is refused
    unless O(overwrite=true); then the existing one is renamed aside and dropped only after the restored copy
    validated, else the restored copy is dropped and the old one renamed back.
  - Restores the filestore to O(filestore_dir) (or C(<data_dir>/filestore/<target_db>)), or into an attachments
    bucket (O(attachments_bucket), O(attachments_prefix)) for Odoo keeping attachments in object storage (e.g. on
    Kubernetes with C(filestore.type=s3)). Objects under the prefix are refused unless O(overwrite=true); then
    they are copied server-side to the sibling prefix C(<prefix>.old-<hex>/) and deleted, the tar members are
    uploaded straight from the verified tar to C(<prefix>/<path in the tar>) (the keys M(erpops.odoo.odoo_backup)
    reads with the same prefix), and the prefix is read back for validation. On failure the uploaded objects are
    deleted and the old ones copied back; on success the aside copy is deleted unless O(keep_old=true). In a
    bucket with versioning those deletes leave delete markers and noncurrent versions (expire them with a
    lifecycle rule).
  - Validates - row counts of the key tables and the filestore tree digest equal the manifest, every key table
    is readable.
  - O(neutralize=true) applies the SQL neutralization for staging copies (outgoing and incoming mail servers
    off, scheduled actions off, C(database.is_neutralized=true)) after validation, and checks it took effect.
    On Kubernetes the C(erpops.odoo.odoo) role's restore also runs the image's C(odoo neutralize) as a Job
    (M(erpops.odoo.odoo_neutralize_job)).
  - O(verify_url) checks C(/web/health) through the instance's route as the last validation step.
author:
  - erpops platform team (@erpops)
extends_documentation_fragment:
  - erpops.odoo.backup_database
  - erpops.odoo.backup_storage
attributes:
  check_mode:
    support: full
    description: Reads the manifest, checks that every part exists with its size and whether the target exists
      (database, filestore directory, objects under the attachments prefix - counted in RV(attachments));
      downloads and changes nothing.
  diff_mode:
    support: full
    description: Shows the target database before (existing or not) and after (restored from which backup).
  platform:
    platforms: posix
    support: full
    description: Runs where the database client binaries and the storage are reachable (often the controller).
options:
  target_db:
    description: Database to restore into (may differ from the source, e.g. a staging or scratch database).
    type: str
    required: true
  backup_id:
    description: Backup to restore; default is the newest complete backup of O(tenant).
    type: str
  overwrite:
    description: Replace an existing target (kept renamed until the restore validated).
    type: bool
    default: false
  keep_old:
    description: With C(overwrite), keep the replaced database/filestore renamed (the replaced attachments under
      their aside prefix, RV(old_attachments_prefix)) instead of dropping them.
    type: bool
    default: false
  owner:
    description: Role owning the restored database and its objects (C(pg_restore --no-owner --role)).
    type: str
  jobs:
    description: Parallel C(pg_restore) jobs.
    type: int
    default: 2
  filestore_dir:
    description: Filestore directory of the restored database.
    type: path
  data_dir:
    description: Odoo C(data_dir); the filestore goes to C(<data_dir>/filestore/<target_db>).
    type: path
  attachments_bucket:
    description:
      - Restore the filestore into this bucket instead of a directory. Mutually exclusive with O(filestore_dir)
        and O(data_dir).
      - Reached with the same client, endpoint and credentials as the backup storage (O(endpoint_url),
        O(access_key), ...); an attachments bucket behind other credentials is not supported.
      - The login needs C(s3:ListBucket), C(s3:GetObject), C(s3:PutObject), C(s3:DeleteObject) on it.
      - Object metadata (such as C(Content-Type)) is not part of a backup; restored objects have none (Odoo
        keeps the mimetype in C(ir_attachment)). Objects over 5 GiB cannot be moved aside (server-side copy limit).
    type: str
  attachments_prefix:
    description:
      - Key prefix (folder) of the attachments in O(attachments_bucket); a trailing C(/) is implied. Empty means
        the whole bucket, which O(overwrite) cannot replace (the old objects would have no sibling prefix).
      - Only with O(attachments_bucket).
    type: str
    default: ""
  neutralize:
    description: Neutralize the restored database (for staging copies of production).
    type: bool
    default: false
  work_dir:
    description: Scratch directory for the downloaded parts (needs room for the dump and the filestore tar).
    type: path
  verify_url:
    description:
      - "Last validation step - Odoo's C(/web/health) through the instance's route (e.g.
        V(https://erp.example.com/web/health)) must answer 200 with C({\"status\": \"pass\"}) before the replaced
        database and filestore are dropped; otherwise the restore is rolled back like any failed validation."
      - For Kubernetes instances, whose running web pods reconnect to the restored database by name.
    type: str
  verify_headers:
    description: Extra request headers of the route check, e.g. C(Host) when O(verify_url) names the ingress address.
    type: dict
    default: {}
  verify_validate_certs:
    description: Validate the TLS certificate of O(verify_url).
    type: bool
    default: true
  verify_retries:
    description: Further attempts of the route check after the first one fails.
    type: int
    default: 30
  verify_delay:
    description: Seconds between attempts of the route check.
    type: float
    default: 2.0
seealso:
  - module: erpops.odoo.odoo_backup
"""

EXAMPLES = r"""
- name: Restore the latest production backup as a neutralized staging copy
  erpops.odoo.odoo_restore:
    bucket: erpops-backups
    tenant: acme
    target_db: acme_staging
    data_dir: /var/lib/odoo
    overwrite: true
    neutralize: true
    owner: odoo

- name: Restore a given backup into a new database
  erpops.odoo.odoo_restore:
    bucket: erpops-backups
    tenant: acme
    backup_id: 20261203T020000Z-1a2b3c
    target_db: acme_restored
    filestore_dir: /var/lib/odoo/filestore/acme_restored

- name: Replace a Kubernetes tenant's database and its attachments in object storage
  erpops.odoo.odoo_restore:
    bucket: erpops-backups
    tenant: acme
    target_db: acme
    attachments_bucket: erpops-acme-attachments
    attachments_prefix: acme
    overwrite: true
  register: restore

- name: Where the replaced attachments were kept (with keep_old)
  ansible.builtin.debug:
    msg: "{{ restore.old_attachments_prefix }}"
  when: restore.old_attachments_prefix
"""

RETURN = r"""
backup_id:
  description: The backup restored.
  returned: always
  type: str
target_db:
  description: The database restored into.
  returned: always
  type: str
manifest:
  description: The backup's manifest.
  returned: always
  type: dict
replaced_existing:
  description: Whether an existing target (database, filestore directory or objects under the attachments prefix)
    was replaced (or would be, in check mode).
  returned: always
  type: bool
backup_age_seconds:
  description: Age of the restored data (time since the backup finished) - the achieved recovery point.
  returned: always
  type: float
validation:
  description: Row counts, tables checked, filestore digest (C(files), C(bytes), C(tree_sha256) - of the directory
    or of the objects read back from the attachments prefix), neutralization state and the route check
    (C(route) - url, status, attempts). Null in check mode.
  returned: always
  type: dict
attachments:
  description: The attachments target - C(bucket), C(prefix) (with its trailing C(/)), C(location), the objects
    found under the prefix before the restore (C(existing_objects), C(existing_bytes)) and whether they are (or
    would be, in check mode) C(replaced).
  returned: when O(attachments_bucket) is set
  type: dict
  sample: {"bucket": "erpops-acme-attachments", "prefix": "acme/", "location": "s3://erpops-acme-attachments/acme/",
           "existing_objects": 1234, "existing_bytes": 73400320, "replaced": true}
timings:
  description: Seconds spent downloading and verifying, restoring and validating, and in total.
  returned: success and not check mode
  type: dict
old_database:
  description: Name of the replaced database kept with O(keep_old).
  returned: success and not check mode
  type: str
old_filestore:
  description: The replaced filestore directory, renamed, kept with O(keep_old).
  returned: success and not check mode
  type: str
old_attachments_prefix:
  description: The prefix in O(attachments_bucket) holding the replaced attachments, kept with O(keep_old) (or
    left behind, with a warning, when deleting them failed after a successful restore).
  returned: success and not check mode
  type: str
  sample: acme.old-3f9a1c/
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.erpops.odoo.plugins.module_utils.backup import args
from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError
from ansible_collections.erpops.odoo.plugins.module_utils.backup.restore import RestoreRequest, run_restore


def main():
    module = AnsibleModule(argument_spec=args.restore_argument_spec(), supports_check_mode=True,
                           mutually_exclusive=args.FILESTORE_EXCLUSIVE)
    p = module.params
    try:
        req = RestoreRequest(
            conn=args.pg_conn(p), s3=args.s3_settings(p), tenant=p["tenant"], target_db=p["target_db"],
            backup_id=p["backup_id"], overwrite=p["overwrite"], keep_old=p["keep_old"], owner=p["owner"],
            jobs=p["jobs"], filestore_dir=args.filestore_dir(p, p["target_db"]),
            attachments_bucket=p["attachments_bucket"], attachments_prefix=p["attachments_prefix"],
            neutralize=p["neutralize"], work_dir=p["work_dir"], verify=args.health_check(p))
        result = run_restore(req, check_mode=module.check_mode)
    except BackupError as exc:
        module.fail_json(msg=str(exc), kind=exc.kind, changed=False, **exc.details)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    before = {"target_db": p["target_db"], "exists": result["replaced_existing"]}
    after = {"target_db": p["target_db"], "exists": True, "backup_id": result["backup_id"]}
    if "attachments" in result:
        before["attachments"] = {k: result["attachments"][k] for k in ("location", "existing_objects")}
        after["attachments"] = {"location": result["attachments"]["location"]}
    result["diff"] = {"before": before, "after": after}
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
