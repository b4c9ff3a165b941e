#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``erpops.odoo.eks_oidc_provider`` module: the IAM OIDC provider of an EKS cluster (IRSA).

Why our own module: neither amazon.aws nor community.aws manages IAM OpenID Connect providers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: eks_oidc_provider
short_description: Register the OIDC issuer of an EKS cluster as an IAM identity provider
version_added: 0.1.0
author: erpops platform team (@erpops)
description:
  - Reads the cluster's OIDC issuer and makes sure an IAM OpenID Connect provider exists for it, so IAM roles can
    trust Kubernetes ServiceAccounts (IAM roles for service accounts); neither AWS collection has a module for IAM
    OIDC providers.
  - Client ids and thumbprints of an existing provider are brought in line with the options.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reports whether the provider would be created or updated without doing it.
  diff_mode:
    support: none
    description: Not supported; RV(ignore:changed) and the returned provider show what was created or updated.
  platform:
    platforms: posix
    support: full
    description: Runs on the controller or any POSIX host with the Python requirements.
options:
  cluster_name:
    description: Name of the EKS cluster.
    type: str
    required: true
  client_ids:
    description: Audiences allowed to use the provider.
    type: list
    elements: str
    default: [sts.amazonaws.com]
  thumbprints:
    description: Server certificate thumbprints (the EKS issuers' root CA by default).
    type: list
    elements: str
    default: [9e99a48a9960b14926bb7f3b02e22da2b0ab7280]
  tags:
    description: Tags of a new provider.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: IAM roles for service accounts
  erpops.odoo.eks_oidc_provider:
    cluster_name: erpops-prod-eu1
    tags: {erpops.io/cluster: erpops-prod-eu1}
  register: oidc
"""

RETURN = r"""
arn:
  description: ARN of the OIDC provider (null in check mode when it would be created).
  type: str
  returned: always
issuer:
  description: The cluster's OIDC issuer URL.
  type: str
  returned: always
action:
  description: create, update or unchanged.
  type: str
  returned: always
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.erpops.odoo.plugins.module_utils.platform import eks
from ansible_collections.erpops.odoo.plugins.module_utils.platform.errors import PlatformError


def main():
    module = AnsibleAWSModule(
        argument_spec={
            "cluster_name": {"type": "str", "required": True},
            "client_ids": {"type": "list", "elements": "str", "default": ["sts.amazonaws.com"]},
            "thumbprints": {"type": "list", "elements": "str", "default": [eks.EKS_OIDC_THUMBPRINT]},
            "tags": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        res = eks.oidc_provider(module.client("eks"), module.client("iam"), p["cluster_name"],
                                client_ids=p["client_ids"], thumbprints=p["thumbprints"], tags=p["tags"],
                                check_mode=module.check_mode)
    except PlatformError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**res)


if __name__ == "__main__":
    main()
