#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: odoo_backup
short_description: Back up an Odoo database and its filestore to S3-compatible storage
version_added: 0.1.0
description:
  - Dumps the database with C(pg_dump) (custom format, or directory format with parallel jobs) and streams it
    to S3 as a multipart upload while computing its SHA-256 - the custom format needs no local copy.
  - Archives the filestore (O(filestore_dir) or C(<data_dir>/filestore/<db_name>)) or the objects of an
    attachments bucket as a streamed tar, hashing every file.
  - Row counts, installed modules and the dump come from one exported snapshot, so the manifest describes
    exactly what was dumped.
  - Every part is verified after upload (HEAD size and, with O(verify=full), read back and re-hashed). Only then
    is C(manifest.json) written - last. An interrupted backup never has a manifest, so it is never taken for a
    complete one and never hides the previous good backup; earlier backups are never touched.
  - Layout C(<prefix>/<tenant>/<backup_id>/{started.json,db.dump|db.dir.tar,filestore.tar,odoo.zip,manifest.json}).
  - With O(odoo_zip), also writes C(odoo.zip) in Odoo's own backup format (C(dump.sql) from
    C(pg_dump --no-owner), C(filestore/), C(manifest.json)) that Odoo's database manager can restore.
author:
  - erpops platform team (@erpops)
extends_documentation_fragment:
  - erpops.odoo.backup_database
  - erpops.odoo.backup_storage
attributes:
  check_mode:
    support: full
    description: Connects, reads versions, modules and row counts, and returns the planned backup; uploads nothing.
  diff_mode:
    support: full
    description: C(before) is empty; C(after) names the new backup.
  platform:
    platforms: posix
    support: full
    description: Runs where the database client binaries and the storage are reachable (often the controller).
options:
  db_name:
    description: Database to back up.
    type: str
    required: true
  dump_format:
    description:
      - C(custom) streams C(pg_dump -Fc) straight to S3 (no local copy).
      - C(directory) runs C(pg_dump -Fd -j O(jobs)) into O(work_dir) (a local copy pg_dump needs for parallel
        jobs), then streams it as C(db.dir.tar) and deletes it.
    type: str
    default: custom
    choices: [custom, directory]
  jobs:
    description: Parallel dump jobs for O(dump_format=directory).
    type: int
    default: 2
  compress:
    description: pg_dump compression level (0-9).
    type: int
    default: 6
  filestore_dir:
    description: The database's filestore directory (C(<data_dir>/filestore/<db>)).
    type: path
  data_dir:
    description: Odoo C(data_dir); the filestore is C(<data_dir>/filestore/<db_name>). Ignored with O(filestore_dir).
    type: path
  attachments_bucket:
    description: Bucket of attachments in object storage (instead of a filestore directory).
    type: str
  attachments_prefix:
    description:
      - Key prefix (folder) of the attachments in O(attachments_bucket); a trailing C(/) is implied, so
        C(acme) reads C(acme/...) and never a sibling like C(acme-staging/...). The tar members are the keys
        relative to it, the same paths M(erpops.odoo.odoo_restore) writes back.
    type: str
    default: ""
  odoo_zip:
    description: Also write C(odoo.zip) in Odoo's backup format (a second, plain-SQL dump of the same snapshot).
    type: bool
    default: false
  source_revision:
    description: Release revision (e.g. git commit or image tag) of the Odoo code that uses this database.
    type: str
  verify:
    description: C(full) reads every part back and re-hashes it; C(size) only compares sizes.
    type: str
    default: full
    choices: [full, size]
  work_dir:
    description: Scratch directory for O(dump_format=directory); default is the system temporary directory.
    type: path
notes:
  - The manifest's top level carries Odoo's dump manifest fields (C(odoo_dump), C(db_name), C(version),
    C(version_info), C(major_version), C(pg_version), C(modules)); the C(erpops) key adds per-part size and
    SHA-256, row counts, the filestore tree digest, start and end times, the source revision and the backup id.
seealso:
  - module: erpops.odoo.odoo_restore
  - module: erpops.odoo.odoo_backup_prune
"""

EXAMPLES = r"""
- name: Back up the production database and its filestore
  erpops.odoo.odoo_backup:
    db_name: acme
    data_dir: /var/lib/odoo
    bucket: erpops-backups
    tenant: acme
    source_revision: "{{ odoo_release_revision }}"
  register: backup

- name: Parallel directory-format dump, attachments in object storage, plus an Odoo zip
  erpops.odoo.odoo_backup:
    db_name: acme
    dump_format: directory
    jobs: 4
    attachments_bucket: acme-attachments
    odoo_zip: true
    bucket: erpops-backups
    tenant: acme
    login_host: db.internal
    login_user: backup
    login_password: "{{ vault_backup_password }}"
"""

RETURN = r"""
backup_id:
  description: Id of the backup (sortable UTC timestamp plus a random suffix).
  returned: always
  type: str
  sample: 20261203T020000Z-1a2b3c
location:
  description: Where the backup lives.
  returned: always
  type: str
  sample: s3://erpops-backups/odoo-backups/acme/20261203T020000Z-1a2b3c/
manifest:
  description: The manifest written (null in check mode).
  returned: always
  type: dict
parts:
  description: Names of the parts written (planned in check mode).
  returned: always
  type: list
  elements: str
row_counts:
  description: Row counts of the key Odoo tables present, from the dumped snapshot.
  returned: always
  type: dict
modules:
  description: Number of installed Odoo modules.
  returned: always
  type: int
pg_version:
  description: Server version (major.minor).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.erpops.odoo.plugins.module_utils.backup import args
from ansible_collections.erpops.odoo.plugins.module_utils.backup.backup import BackupRequest, run_backup
from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError


def main():
    module = AnsibleModule(argument_spec=args.backup_argument_spec(), supports_check_mode=True,
                           mutually_exclusive=args.FILESTORE_EXCLUSIVE)
    p = module.params
    try:
        req = BackupRequest(
            conn=args.pg_conn(p), db_name=p["db_name"], tenant=p["tenant"], s3=args.s3_settings(p),
            dump_format=p["dump_format"], jobs=p["jobs"], compress=p["compress"],
            filestore_dir=args.filestore_dir(p, p["db_name"]), attachments_bucket=p["attachments_bucket"],
            attachments_prefix=p["attachments_prefix"], odoo_zip=p["odoo_zip"], source_revision=p["source_revision"],
            verify=p["verify"], work_dir=p["work_dir"])
        result = run_backup(req, check_mode=module.check_mode)
    except BackupError as exc:
        module.fail_json(msg=str(exc), kind=exc.kind, changed=False, **exc.details)
    result["diff"] = {"before": {}, "after": {"backup_id": result["backup_id"], "location": result["location"]}}
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
