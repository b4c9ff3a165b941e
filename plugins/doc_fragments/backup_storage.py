# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""S3 storage options of the backup modules (mirrors STORAGE_OPTIONS in module_utils/backup/args.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  bucket:
    description: Bucket holding the backups.
    type: str
    required: true
  prefix:
    description: Key prefix; backups live under C(<prefix>/<tenant>/<backup_id>/).
    type: str
    default: odoo-backups
  tenant:
    description: Tenant (customer) name; one path segment of C([A-Za-z0-9_.-]).
    type: str
    required: true
  endpoint_url:
    description: S3 endpoint for S3-compatible storage; defaults to C(S3_ENDPOINT_URL) or C(AWS_ENDPOINT_URL).
    type: str
  region:
    description: Region; defaults to C(AWS_REGION) or C(AWS_DEFAULT_REGION).
    type: str
  access_key:
    description: Access key id; defaults to C(AWS_ACCESS_KEY_ID), then the boto3 credential chain.
    type: str
  secret_key:
    description: Secret access key; defaults to C(AWS_SECRET_ACCESS_KEY).
    type: str
  session_token:
    description: Session token; defaults to C(AWS_SESSION_TOKEN).
    type: str
  part_size_mb:
    description: Multipart part size in MiB (at least 5). Memory use is about (O(concurrency) + 1) x this.
    type: int
    default: 16
  concurrency:
    description: Parts uploaded in parallel.
    type: int
    default: 4
  max_attempts:
    description: Attempts per S3 request (botocore standard retry mode) before the module fails.
    type: int
    default: 3
requirements:
  - boto3 on the host running the module
"""
