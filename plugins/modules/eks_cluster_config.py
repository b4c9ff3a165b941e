#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``erpops.odoo.eks_cluster_config`` module: endpoint access, logging and add-ons of an EKS cluster.

Why our own module: community.aws ``eks_cluster`` creates clusters but has no option for endpoint access
(private endpoint, public CIDRs) or control-plane logging, and neither AWS collection manages EKS add-ons.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: eks_cluster_config
short_description: Set endpoint access, control-plane logging and managed add-ons of an existing EKS cluster
version_added: 0.1.0
author: erpops platform team (@erpops)
description:
  - Complements M(community.aws.eks_cluster), which creates the cluster but cannot configure its API endpoint
    (private access, public access and its CIDRs) or control-plane logging; neither AWS collection manages EKS
    managed add-ons (vpc-cni, coredns, kube-proxy, aws-ebs-csi-driver, ...).
  - Compares the wanted settings with the described cluster and calls C(UpdateClusterConfig) only when they differ,
    waiting for the cluster to be C(ACTIVE) again after each update; add-ons are created or updated to the version
    given.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reports what would change without calling any update API.
  diff_mode:
    support: full
    description: Endpoint and logging settings before and after.
  platform:
    platforms: posix
    support: full
    description: Runs on the controller or any POSIX host with the Python requirements.
options:
  name:
    description: Name of the EKS cluster.
    type: str
    required: true
  endpoint_private_access:
    description: Whether the API endpoint is reachable from inside the VPC.
    type: bool
    default: true
  endpoint_public_access:
    description: Whether the API endpoint is reachable from the internet (restricted by O(public_access_cidrs)).
    type: bool
    default: false
  public_access_cidrs:
    description: CIDRs allowed to reach the public endpoint (default everything when public access is on).
    type: list
    elements: str
  logging:
    description: Control-plane log types to enable (others are disabled); unset leaves logging alone.
    type: list
    elements: str
    choices: [api, audit, authenticator, controllerManager, scheduler]
  addons:
    description: Managed add-ons to install; each C({name, version, service_account_role_arn}).
    type: list
    elements: dict
    default: []
  nodegroup_update_config:
    description:
      - Rolling-update policy given to every managed node group of the cluster (C(updateConfig)); unset leaves them.
    type: dict
    suboptions:
      max_unavailable:
        description: Nodes that may be unavailable at once during a node group update.
        type: int
      max_unavailable_percentage:
        description: Percentage of nodes that may be unavailable at once.
        type: int
  wait_timeout:
    description: Seconds to wait for the cluster to become C(ACTIVE) after each update.
    type: int
    default: 1200
"""

EXAMPLES = r"""
- name: Private endpoint only, audit logs, the core add-ons
  erpops.odoo.eks_cluster_config:
    name: erpops-prod-eu1
    endpoint_private_access: true
    endpoint_public_access: false
    logging: [api, audit, authenticator]
    addons:
      - {name: vpc-cni}
      - {name: coredns}
      - {name: kube-proxy}
"""

RETURN = r"""
endpoint:
  description: Endpoint settings after the run.
  type: dict
  returned: always
  sample: {private: true, public: false, public_cidrs: []}
logging:
  description: Enabled control-plane log types after the run.
  type: list
  elements: str
  returned: always
addons:
  description: One entry per add-on with the action taken (create, update, unchanged).
  type: list
  elements: dict
  returned: always
nodegroups:
  description: One entry per node group with the update-policy action (update, unchanged).
  type: list
  elements: dict
  returned: when O(nodegroup_update_config) is set
cluster_endpoint:
  description: The API server URL of the cluster.
  type: str
  returned: always
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.erpops.odoo.plugins.module_utils.platform import eks
from ansible_collections.erpops.odoo.plugins.module_utils.platform.errors import PlatformError


def main():
    module = AnsibleAWSModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "endpoint_private_access": {"type": "bool", "default": True},
            "endpoint_public_access": {"type": "bool", "default": False},
            "public_access_cidrs": {"type": "list", "elements": "str"},
            "logging": {"type": "list", "elements": "str",
                        "choices": ["api", "audit", "authenticator", "controllerManager", "scheduler"]},
            "addons": {"type": "list", "elements": "dict", "default": []},
            "nodegroup_update_config": {"type": "dict", "options": {
                "max_unavailable": {"type": "int"}, "max_unavailable_percentage": {"type": "int"}},
                "mutually_exclusive": [["max_unavailable", "max_unavailable_percentage"]],
                "required_one_of": [["max_unavailable", "max_unavailable_percentage"]]},
            "wait_timeout": {"type": "int", "default": 1200},
        },
        supports_check_mode=True,
    )
    p = module.params
    client = module.client("eks")
    try:
        res = eks.configure_cluster(client, p["name"], private=p["endpoint_private_access"],
                                    public=p["endpoint_public_access"], public_cidrs=p["public_access_cidrs"],
                                    log_types=p["logging"], check_mode=module.check_mode, timeout=p["wait_timeout"])
        addons = eks.ensure_addons(client, p["name"], p["addons"], module.check_mode)
        nodegroups = []
        if p["nodegroup_update_config"]:
            ucfg = p["nodegroup_update_config"]
            wanted = ({"maxUnavailable": ucfg["max_unavailable"]} if ucfg["max_unavailable"] is not None
                      else {"maxUnavailablePercentage": ucfg["max_unavailable_percentage"]})
            nodegroups = eks.ensure_nodegroup_update_config(client, p["name"], wanted, module.check_mode)
    except PlatformError as exc:
        module.fail_json(msg=str(exc))
    changed = res["changed"] or any(a["action"] != "unchanged" for a in addons + nodegroups)
    module.exit_json(changed=changed, diff={"before": res["before"], "after": res["after"]},
                     endpoint=res["after"]["endpoint"], logging=res["after"]["logging"], addons=addons,
                     nodegroups=nodegroups, cluster_endpoint=res["cluster"].get("endpoint"))


if __name__ == "__main__":
    main()
