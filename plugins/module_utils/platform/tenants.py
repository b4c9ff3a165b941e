# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tenant registry: validation and the inventory model built from it (tenants as hosts).

A registry names clusters and tenants::

    clusters:
      - {name: eks-prod-eu1, tenancy: multi_tenant, vars: {...}}
    tiers: [standard, premium]           # optional: the allowed tiers
    tenants:
      - {name: acme, cluster: eks-prod-eu1, tier: standard, environments: [production, staging],
         hostnames: {production: [erp.acme.example]}, vars: {...}}

Every tenant environment becomes one host, ``<tenant>-<environment>`` (the deploy core's
default instance and namespace name), grouped by environment, cluster, tier and tenancy
model. The same model is built from namespaces labelled ``erpops.io/tenant`` (a
Kubernetes label query), so both sources give identical inventories.
Pure functions; the inventory plugin and the platform role call them.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import re
from typing import Any

from ansible_collections.erpops.odoo.plugins.module_utils.platform.errors import PlatformError
from ansible_collections.erpops.odoo.plugins.module_utils.platform.validate import Errors, check_name

LABEL_TENANT = "erpops.io/tenant"
LABEL_ENV = "erpops.io/environment"
LABEL_TIER = "erpops.io/tier"
LABEL_TENANCY = "erpops.io/tenancy"
LABEL_CLUSTER = "erpops.io/cluster"
TENANCY_MODELS = ("multi_tenant", "dedicated")
DEFAULT_TIER = "standard"
DEFAULT_ENV = "production"
_FQDN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$")
_TENANT_KEYS = ("name", "cluster", "tier", "environment", "environments", "namespace", "hostnames", "vars",
                "labels")
_CLUSTER_KEYS = ("name", "tenancy", "provider", "vars")


def group_name(prefix: str, value: str) -> str:
    """An Ansible-safe group name (letters, digits, underscores)."""
    return "%s_%s" % (prefix, re.sub(r"[^A-Za-z0-9_]", "_", value))


def _envs(t: dict[str, Any]) -> list[Any]:
    if t.get("environments") is not None:
        envs = t["environments"]
        return list(envs) if isinstance(envs, (list, tuple)) else [envs]
    return [t.get("environment") or DEFAULT_ENV]


HOST_NAMING = ("instance", "tenant")


def normalize(registry: Any, source: str = "registry", host_naming: str = "instance") -> dict[str, Any]:
    """Validate a registry; return ``{clusters: {name: cluster}, tenants: [tenant environment, ...]}``.

    ``host_naming``: ``instance`` names hosts ``<tenant>-<environment>``; ``tenant`` names them after the
    tenant alone (inventories with one environment per tenant; a second environment is a duplicate host).

    Raises :class:`PlatformError` listing every problem: invalid names (RFC 1123), unknown keys,
    clusters or tiers, a tenant in two clusters, duplicate hosts (tenant environments) and
    public hostnames claimed twice, more than one tenant in a dedicated cluster.
    """
    errs = Errors()
    if host_naming not in HOST_NAMING:
        raise PlatformError("host_naming must be one of %s, got %r" % (", ".join(HOST_NAMING), host_naming))
    if not isinstance(registry, dict):
        raise PlatformError("tenant registry (%s): expected a mapping with 'clusters' and 'tenants', got %s"
                            % (source, type(registry).__name__))
    clusters: dict[str, dict[str, Any]] = {}
    raw_clusters = registry.get("clusters") or []
    if not isinstance(raw_clusters, list):
        errs.add("clusters", raw_clusters, "a list of clusters")
        raw_clusters = []
    for i, c in enumerate(raw_clusters):
        field = "clusters[%d]" % i
        if not isinstance(c, dict):
            errs.add(field, c, "a mapping")
            continue
        for k in sorted(set(c) - set(_CLUSTER_KEYS)):
            errs.add("%s.%s" % (field, k), c[k], "a known cluster key (%s)" % ", ".join(_CLUSTER_KEYS))
        check_name(errs, field + ".name", c.get("name"))
        tenancy = c.get("tenancy", "multi_tenant")
        if tenancy not in TENANCY_MODELS:
            errs.add(field + ".tenancy", tenancy, "one of %s" % ", ".join(TENANCY_MODELS))
        if c.get("name") in clusters:
            errs.add(field + ".name", c.get("name"), "a cluster name used once")
        clusters[c.get("name")] = {"name": c.get("name"), "tenancy": tenancy,
                                   "provider": c.get("provider", "kubernetes"), "vars": dict(c.get("vars") or {})}
    tiers = registry.get("tiers")
    raw_tenants = registry.get("tenants") or []
    if not isinstance(raw_tenants, list):
        errs.add("tenants", raw_tenants, "a list of tenants")
        raw_tenants = []

    tenants: list[dict[str, Any]] = []
    where: dict[str, tuple[str, int]] = {}      # tenant -> (cluster, entry index)
    hosts: dict[str, int] = {}                  # inventory host -> entry index
    fqdns: dict[str, str] = {}                  # public hostname -> host
    per_cluster: dict[str, set[str]] = {}
    namespaces: dict[tuple[Any, str], str] = {}  # (cluster, namespace) -> host
    for i, t in enumerate(raw_tenants):
        field = "tenants[%d]" % i
        if not isinstance(t, dict):
            errs.add(field, t, "a mapping")
            continue
        name = t.get("name")
        pfx = "%s (tenant %r)" % (field, name)
        for k in sorted(set(t) - set(_TENANT_KEYS)):
            errs.add("%s.%s" % (pfx, k), t[k], "a known tenant key (%s)" % ", ".join(_TENANT_KEYS))
        check_name(errs, pfx + ".name", name, max_len=30)
        cluster = t.get("cluster")
        if cluster not in clusters and source == "registry":
            errs.add(pfx + ".cluster", cluster, "a cluster defined under 'clusters' (%s)"
                     % (", ".join(sorted(map(str, clusters))) or "none defined"))
        if name in where and where[name][0] != cluster:
            errs.note("tenant %r is in two clusters: %r (tenants[%d]) and %r (tenants[%d]); a tenant lives in "
                      "exactly one cluster" % (name, where[name][0], where[name][1], cluster, i))
        where.setdefault(name, (cluster, i))
        tier = t.get("tier", DEFAULT_TIER)
        if tiers is not None and tier not in tiers:
            errs.add(pfx + ".tier", tier, "one of the registry's tiers (%s)" % ", ".join(map(str, tiers)))
        envs = _envs(t)
        hostnames = t.get("hostnames") or {}
        if not isinstance(hostnames, dict):
            errs.add(pfx + ".hostnames", hostnames, "a mapping environment -> list of hostnames")
            hostnames = {}
        for env in envs:
            check_name(errs, pfx + ".environment", env, max_len=20)
            instance = "%s-%s" % (name, env)
            host = instance if host_naming == "instance" else name
            if host in hosts:
                errs.note("duplicate inventory host %r: tenants[%d] and tenants[%d] both define tenant %r, "
                          "environment %r" % (host, hosts[host], i, name, env))
                continue
            hosts[host] = i
            fq = hostnames.get(env) or []
            for h in fq if isinstance(fq, list) else [fq]:
                if not isinstance(h, str) or not _FQDN.match(h):
                    errs.add("%s.hostnames.%s" % (pfx, env), h, "a lowercase DNS hostname")
                elif h in fqdns:
                    errs.note("hostname %r is claimed by %s and %s" % (h, fqdns[h], host))
                else:
                    fqdns[h] = host
            namespace = t.get("namespace") or instance
            if len(envs) > 1 and t.get("namespace"):
                namespace = "%s-%s" % (t["namespace"], env)
            check_name(errs, pfx + ".namespace", namespace)
            ns_key = (cluster, namespace)
            if ns_key in namespaces:
                errs.note("namespace %r of cluster %r is used by %s and %s"
                          % (namespace, cluster, namespaces[ns_key], host))
            namespaces[ns_key] = host
            tenancy = clusters.get(cluster, {}).get("tenancy", "multi_tenant")
            tenants.append({
                "host": host, "name": name, "environment": env, "instance": instance, "namespace": namespace,
                "cluster": cluster, "tier": tier, "tenancy": tenancy,
                "hostnames": list(fq) if isinstance(fq, list) else [fq],
                "labels": dict(t.get("labels") or {}), "vars": dict(t.get("vars") or {}),
            })
        per_cluster.setdefault(cluster, set()).add(name)
    for cname, names in sorted(per_cluster.items(), key=lambda kv: str(kv[0])):
        if clusters.get(cname, {}).get("tenancy") == "dedicated" and len(names) > 1:
            errs.note("cluster %r is dedicated (one tenant) but hosts tenants %s" % (cname, ", ".join(sorted(names))))
    errs.raise_if_any("tenant registry (%s)" % source)
    return {"clusters": clusters, "tenants": tenants}


def entries_from_namespaces(namespaces: list[dict[str, Any]], cluster: str) -> list[dict[str, Any]]:
    """Registry tenant entries from namespaces labelled ``erpops.io/tenant`` (one entry per namespace)."""
    out = []
    for ns in namespaces:
        meta = ns.get("metadata") or {}
        lab = meta.get("labels") or {}
        if LABEL_TENANT not in lab:
            continue
        entry: dict[str, Any] = {"name": lab[LABEL_TENANT], "cluster": lab.get(LABEL_CLUSTER, cluster),
                                 "environment": lab.get(LABEL_ENV, DEFAULT_ENV),
                                 "tier": lab.get(LABEL_TIER, DEFAULT_TIER), "namespace": meta.get("name")}
        out.append(entry)
    return sorted(out, key=lambda e: (str(e["name"]), str(e["environment"]), str(e["namespace"])))


def registry_from_clusters(found: dict[str, list[dict[str, Any]]], tenancy: dict[str, str] | None = None,
                           cluster_vars: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """A registry from ``{cluster: [namespace objects]}`` (what the label query returned per cluster)."""
    tenants: list[dict[str, Any]] = []
    for cname in sorted(found):
        tenants += entries_from_namespaces(found[cname], cname)
    return {"clusters": [{"name": c, "tenancy": (tenancy or {}).get(c, "multi_tenant"),
                          "vars": (cluster_vars or {}).get(c, {})} for c in sorted(found)],
            "tenants": tenants}


def inventory(reg: dict[str, Any], deploy_group: str | None = None, odoo_vars: bool = True) -> dict[str, Any]:
    """``{hosts: {host: hostvars}, groups: {group: [hosts]}, group_vars: {group: vars}}`` of a normalized registry.

    Host variables: ``erpops_tenant`` (name, environment, instance, namespace, cluster, tier, tenancy,
    hostnames), ``erpops_cluster`` (the cluster's name and tenancy) and the tenant's own ``vars``; with
    ``odoo_vars`` also the identity the ``erpops.odoo.odoo`` role reads (``odoo_tenant``, ``odoo_environment``,
    ``odoo_instance_name``, ``odoo_namespace`` and ``odoo_hostnames`` when the registry has some), so the
    deploy playbooks run on these hosts unchanged.
    Groups: ``tenants`` (all), ``env_<environment>``, ``cluster_<cluster>``, ``tier_<tier>``,
    ``tenancy_<model>``, ``tenant_<name>`` (all environments of a tenant) and ``deploy_group`` when given
    (``odoo_tenants``, the deploy playbook's default target).
    """
    hosts: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[str]] = {"tenants": []}
    for t in reg["tenants"]:
        hv = dict(t["vars"])
        hv["erpops_tenant"] = {k: t[k] for k in ("name", "environment", "instance", "namespace", "cluster", "tier",
                                                 "tenancy", "hostnames", "labels")}
        hv["erpops_cluster"] = {"name": t["cluster"], "tenancy": t["tenancy"]}
        if odoo_vars:
            hv.update(odoo_tenant=t["name"], odoo_environment=t["environment"], odoo_instance_name=t["instance"],
                      odoo_namespace=t["namespace"])
            if t["hostnames"]:
                hv["odoo_hostnames"] = list(t["hostnames"])
        hosts[t["host"]] = hv
        groups["tenants"].append(t["host"])
        if deploy_group:
            groups.setdefault(deploy_group, []).append(t["host"])
        for prefix, value in (("env", t["environment"]), ("cluster", t["cluster"]), ("tier", t["tier"]),
                              ("tenancy", t["tenancy"]), ("tenant", t["name"])):
            groups.setdefault(group_name(prefix, str(value)), []).append(t["host"])
    group_vars = {group_name("cluster", str(c)): dict(v["vars"]) for c, v in reg["clusters"].items() if v["vars"]}
    return {"hosts": hosts, "groups": groups, "group_vars": group_vars}


def validate_cluster_tenants(entries: list[dict[str, Any]], cluster: str,
                             tiers: list[str] | None = None) -> list[dict[str, Any]]:
    """Validate the tenant environments given to the platform role for ``cluster``.

    ``entries`` are ``erpops_tenant`` host variables (or registry entries); a tenant of another cluster,
    an unknown tier, invalid names and duplicates raise :class:`PlatformError`.
    """
    errs = Errors()
    tenants = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            errs.add("platform_tenants[%d]" % i, e, "a mapping")
            continue
        if e.get("cluster", cluster) != cluster:
            errs.note("platform_tenants[%d]: tenant %r belongs to cluster %r, not to %r (the cluster being "
                      "bootstrapped)" % (i, e.get("name"), e.get("cluster"), cluster))
        tenants.append({k: e[k] for k in ("name", "tier", "environment", "namespace", "hostnames", "labels")
                        if e.get(k) is not None})
        tenants[-1]["cluster"] = cluster
        if isinstance(tenants[-1].get("hostnames"), list):
            tenants[-1]["hostnames"] = {e.get("environment") or DEFAULT_ENV: tenants[-1]["hostnames"]}
    errs.raise_if_any("tenants of cluster %r" % cluster)
    reg: dict[str, Any] = {"clusters": [{"name": cluster}], "tenants": tenants}
    if tiers is not None:
        reg["tiers"] = list(tiers)
    out = normalize(reg, source="platform_tenants")["tenants"]
    return out
