# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``erpops.odoo.tenants`` inventory plugin: tenants as hosts, from a registry or a Kubernetes label query."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: tenants
short_description: Odoo tenants as inventory hosts, from a tenant registry or a Kubernetes label query
version_added: 0.1.0
author: erpops platform team (@erpops)
description:
  - Builds an inventory with one host per tenant environment, named C(<tenant>-<environment>) (the deploy core's
    default instance and namespace name), so AWX job templates and C(--limit) can target tenants.
  - Hosts are grouped as C(tenants) (all), C(env_<environment>), C(cluster_<cluster>), C(tier_<tier>),
    C(tenancy_<model>) and C(tenant_<name>); dashes in values become underscores in group names.
  - Every host gets C(erpops_tenant) (name, environment, instance, namespace, cluster, tier, tenancy, hostnames,
    labels), C(erpops_cluster) (name, tenancy) and the tenant's own C(vars); cluster C(vars) become variables of
    the C(cluster_<cluster>) group. Hosts use the C(local) connection (deploys talk to the Kubernetes API).
  - With O(source=registry) the registry is read from O(registry) or given inline (O(clusters), O(tenants),
    O(tiers)). With O(source=kubernetes) every cluster in O(kubernetes) is asked for namespaces labelled
    C(erpops.io/tenant) (environment, tier and cluster from C(erpops.io/environment), C(erpops.io/tier) and
    C(erpops.io/cluster) labels; the platform role sets them).
  - The registry is validated before any host is added; invalid names (RFC 1123), a tenant in two clusters,
    duplicate hosts, a public hostname claimed twice, unknown clusters or tiers, or several tenants in a dedicated
    cluster fail the inventory with every problem listed.
  - The file name must end in C(.tenants.yml) or C(.tenants.yaml), or be C(tenants.yml) / C(tenants.yaml).
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: The name of this plugin.
    required: true
    choices: [erpops.odoo.tenants]
    type: str
  source:
    description: Where tenants come from.
    type: str
    choices: [registry, kubernetes]
    default: registry
  registry:
    description:
      - Path of a registry file (C(clusters), C(tiers), C(tenants)); relative paths are relative to this file.
      - When unset, the registry is given inline with O(clusters), O(tiers) and O(tenants).
    type: str
  clusters:
    description: Inline registry clusters, each C({name, tenancy, provider, vars}).
    type: list
    elements: dict
    default: []
  tiers:
    description: Inline registry tiers (the allowed C(tier) values); unset allows any tier.
    type: list
    elements: str
  tenants:
    description:
      - Inline registry tenants, each C({name, cluster, tier, environments, namespace, hostnames, labels, vars}).
    type: list
    elements: dict
    default: []
  kubernetes:
    description:
      - Clusters to query with O(source=kubernetes), each C({name, kubeconfig, context, tenancy, vars}).
    type: list
    elements: dict
    default: []
  label_selector:
    description: Label selector of tenant namespaces for O(source=kubernetes).
    type: str
    default: erpops.io/tenant
  host_naming:
    description:
      - V(instance) names hosts C(<tenant>-<environment>); V(tenant) names them after the tenant (one environment
        per tenant; inventories whose hosts are tenants, such as C(inventories/examples/multi_tenant)).
    type: str
    choices: [instance, tenant]
    default: instance
  odoo_vars:
    description:
      - Also set the identity variables the C(erpops.odoo.odoo) role reads (C(odoo_tenant), C(odoo_environment),
        C(odoo_instance_name), C(odoo_namespace), C(odoo_hostnames)), so C(playbooks/deploy.yml) runs on these hosts.
    type: bool
    default: true
  deploy_group:
    description:
      - Also put every host in this group (V(odoo_tenants) is what C(playbooks/deploy.yml) targets); empty for none.
    type: str
    default: ""
requirements:
  - kubernetes (Python library) for O(source=kubernetes)
"""

EXAMPLES = r"""
# inventories/examples/multi_tenant/tenants.yml: a registry that is also its own inventory source
plugin: erpops.odoo.tenants
clusters:
  - {name: eks-prod-eu1, tenancy: multi_tenant}
tiers: [standard, premium]
tenants:
  - {name: acme, cluster: eks-prod-eu1, tier: premium, environments: [production, staging]}
  - {name: bauer, cluster: eks-prod-eu1, tier: standard}

# lab.tenants.yml: whatever the cluster says (namespaces labelled erpops.io/tenant)
# plugin: erpops.odoo.tenants
# source: kubernetes
# kubernetes:
#   - {name: lab, kubeconfig: /work/main/.lab/kubeconfig}
# keyed_groups:
#   - {key: erpops_tenant.tier, prefix: sla}

# ansible-inventory -i lab.tenants.yml --graph
"""

import os

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable
from ansible_collections.erpops.odoo.plugins.module_utils.platform import tenants as tn
from ansible_collections.erpops.odoo.plugins.module_utils.platform.errors import PlatformError

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    HAS_KUBERNETES = True
except ImportError:  # pragma: no cover - reported when source=kubernetes is used
    HAS_KUBERNETES = False

SUFFIXES = (".tenants.yml", ".tenants.yaml")
NAMES = ("tenants.yml", "tenants.yaml")


class InventoryModule(BaseInventoryPlugin, Constructable):
    NAME = "erpops.odoo.tenants"

    def verify_file(self, path):
        if not super(InventoryModule, self).verify_file(path):
            return False
        return path.endswith(SUFFIXES) or os.path.basename(path) in NAMES

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            if self.get_option("source") == "kubernetes":
                raw, source = self._from_kubernetes(), "kubernetes label query"
            else:
                raw, source = self._registry(path), self._registry_name(path)
            reg = tn.normalize(raw, source=source, host_naming=self.get_option("host_naming"))
        except PlatformError as exc:
            raise AnsibleParserError(to_native(exc))
        self._populate(tn.inventory(reg, deploy_group=self.get_option("deploy_group") or None,
                                    odoo_vars=self.get_option("odoo_vars")))

    # -- sources -------------------------------------------------------------------
    def _registry_name(self, path):
        return self.get_option("registry") or path

    def _registry(self, path):
        reg_path = self.get_option("registry")
        if not reg_path:
            out = {"clusters": self.get_option("clusters"), "tenants": self.get_option("tenants")}
            if self.get_option("tiers") is not None:
                out["tiers"] = self.get_option("tiers")
            return out
        reg_path = os.path.expanduser(reg_path)
        if not os.path.isabs(reg_path):
            reg_path = os.path.join(os.path.dirname(path), reg_path)
        if not os.path.exists(reg_path):
            raise AnsibleParserError("tenant registry %s (option 'registry' of %s) not found" % (reg_path, path))
        data = self.loader.load_from_file(reg_path, cache="none")
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k != "plugin"}
        return data

    def _from_kubernetes(self):
        if not HAS_KUBERNETES:
            raise AnsibleParserError("source=kubernetes needs the 'kubernetes' Python library")
        found, tenancy, cvars = {}, {}, {}
        clusters = self.get_option("kubernetes")
        if not clusters:
            raise AnsibleParserError("source=kubernetes: option 'kubernetes' lists no cluster")
        for c in clusters:
            name = c.get("name")
            try:
                api = k8s_config.new_client_from_config(config_file=c.get("kubeconfig"), context=c.get("context"))
                resp = k8s_client.CoreV1Api(api).list_namespace(label_selector=self.get_option("label_selector"))
            except Exception as exc:  # noqa: BLE001 - kubeconfig and API errors come in many types
                raise AnsibleParserError("cluster %r: cannot list tenant namespaces: %s" % (name, to_native(exc)))
            found[name] = [api.sanitize_for_serialization(ns) for ns in resp.items]
            tenancy[name] = c.get("tenancy", "multi_tenant")
            cvars[name] = dict(c.get("vars") or {})
        return tn.registry_from_clusters(found, tenancy, cvars)

    # -- inventory -----------------------------------------------------------------
    def _populate(self, model):
        strict = self.get_option("strict")
        for group in sorted(model["groups"]):
            self.inventory.add_group(group)
        for group, gvars in sorted(model["group_vars"].items()):
            for key, value in sorted(gvars.items()):
                self.inventory.set_variable(group, key, value)
        for host, hostvars in sorted(model["hosts"].items()):
            self.inventory.add_host(host)
            self.inventory.set_variable(host, "ansible_connection", "local")
            for key, value in sorted(hostvars.items()):
                self.inventory.set_variable(host, key, value)
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
        for group, members in sorted(model["groups"].items()):
            for host in members:
                self.inventory.add_child(group, host)
