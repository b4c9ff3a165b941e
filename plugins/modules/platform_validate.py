#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``erpops.odoo.platform_validate`` module: refuse a bad estate or tenant registry before any change."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: platform_validate
short_description: Validate an EKS estate and a tenant registry before provisioning
version_added: 0.1.0
author: erpops platform team (@erpops)
description:
  - Checks the EKS estate given to C(playbooks/provision.yml) (names, VPC and subnet CIDRs and their overlaps,
    availability zones, instance types, node groups per workload class, bucket and secret names) and the tenant
    registry (RFC 1123 names, a tenant in two clusters, duplicate hosts and public hostnames, unknown clusters and
    tiers, several tenants in a dedicated cluster).
  - Makes no change and calls no API; every problem is reported at once, naming the field and the value.
attributes:
  check_mode:
    support: full
    description: The module never changes anything; it runs the same checks in check mode.
  diff_mode:
    support: none
    description: The module changes no state, so there is nothing to diff.
  platform:
    platforms: posix
    support: full
    description: Runs on the controller or any POSIX host with the Python requirements.
options:
  estate:
    description: The EKS estate (the C(provision_eks) variable); skipped when unset.
    type: dict
  available_zones:
    description: Availability zones of the region (from M(amazon.aws.aws_az_info)); unknown zones are refused.
    type: list
    elements: str
  offered_instance_types:
    description:
      - Instance types offered in the region; when unset the EC2 naming scheme and known families are checked.
    type: list
    elements: str
  reserved_cidrs:
    description: Networks the VPC must not overlap, by name (peered VPCs, on-premises ranges).
    type: dict
  registry:
    description: A tenant registry (C(clusters), C(tiers), C(tenants)); skipped when unset.
    type: dict
  tenants:
    description:
      - Tenant environments of one cluster, as the C(erpops_tenant) host variables of the M(erpops.odoo.tenants)
        inventory give them (C(name), C(environment), C(namespace), C(tier), C(cluster)); validated like a registry.
    type: list
    elements: dict
  cluster:
    description: With O(tenants), the cluster being bootstrapped; a tenant of another cluster is refused.
    type: str
  tiers:
    description: Tiers the platform role knows (keys of C(platform_tiers)); each tenant's tier must be one.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Refuse a bad estate before any AWS call
  erpops.odoo.platform_validate:
    estate: "{{ provision_eks }}"
    available_zones: "{{ __zones.availability_zones | map(attribute='zone_name') | list }}"

- name: Refuse bad tenants for the cluster being bootstrapped
  erpops.odoo.platform_validate:
    tenants: "{{ platform_tenants }}"
    cluster: "{{ platform_cluster_name }}"
    tiers: "{{ platform_tiers | list }}"

- name: Refuse a bad tenant registry
  erpops.odoo.platform_validate:
    registry: "{{ lookup('ansible.builtin.file', 'tenants.yml') | from_yaml }}"
    tiers: "{{ platform_tiers | list }}"
"""

RETURN = r"""
estate:
  description: Summary of the validated estate (name, region, zones, subnet plan, node groups, buckets).
  type: dict
  returned: when O(estate) is given
  sample: {name: erpops-prod, region: eu-west-1, zones: [eu-west-1a, eu-west-1b, eu-west-1c], nodegroups: [odoo-web]}
tenants:
  description: The normalized tenant environments (host, name, environment, namespace, cluster, tier, tenancy).
  type: list
  elements: dict
  returned: when O(registry) is given
errors:
  description: Every problem found (empty on success).
  type: list
  elements: str
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.erpops.odoo.plugins.module_utils.platform import tenants as tn
from ansible_collections.erpops.odoo.plugins.module_utils.platform import validate
from ansible_collections.erpops.odoo.plugins.module_utils.platform.errors import PlatformError


def run(params):
    result = {"changed": False, "errors": []}
    if params["estate"] is not None:
        result["estate"] = validate.validate_estate(params["estate"], params["available_zones"],
                                                    params["offered_instance_types"], params["reserved_cidrs"])
    if params["registry"] is not None:
        registry = dict(params["registry"])
        registry.pop("plugin", None)
        if params["tiers"] is not None:
            registry.setdefault("tiers", params["tiers"])
            unknown = sorted(set(registry["tiers"]) - set(params["tiers"]))
            if unknown:
                raise PlatformError("tenant registry: tiers %s are not configured in the platform role "
                                    "(platform_tiers has %s)" % (", ".join(unknown), ", ".join(params["tiers"])))
        result["tenants"] = tn.normalize(registry)["tenants"]
    if params["tenants"] is not None:
        result["tenants"] = tn.validate_cluster_tenants(params["tenants"], params["cluster"], params["tiers"])
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "estate": {"type": "dict"},
            "available_zones": {"type": "list", "elements": "str"},
            "offered_instance_types": {"type": "list", "elements": "str"},
            "reserved_cidrs": {"type": "dict"},
            "registry": {"type": "dict"},
            "tenants": {"type": "list", "elements": "dict"},
            "cluster": {"type": "str"},
            "tiers": {"type": "list", "elements": "str"},
        },
        required_by={"tenants": ["cluster"]},
        supports_check_mode=True,
    )
    try:
        result = run(module.params)
    except PlatformError as exc:
        module.fail_json(msg=str(exc), errors=exc.errors, changed=False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
