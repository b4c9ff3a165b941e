"""Tenant registry: validation and the inventory model (tenants as hosts)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.platform import tenants as tn
from ansible_collections.erpops.odoo.plugins.module_utils.platform.errors import PlatformError

REGISTRY: dict[str, Any] = {
    "clusters": [{"name": "eks-prod", "tenancy": "multi_tenant", "vars": {"platform_cluster_name": "eks-prod"}},
                 {"name": "eks-acme", "tenancy": "dedicated"}],
    "tiers": ["standard", "premium"],
    "tenants": [
        {"name": "acme", "cluster": "eks-acme", "tier": "premium", "environments": ["production", "staging"],
         "hostnames": {"production": ["erp.acme.example"]}},
        {"name": "bauer", "cluster": "eks-prod", "vars": {"odoo_workers": 4}},
        {"name": "cement", "cluster": "eks-prod", "environment": "staging", "namespace": "cement-test"},
    ],
}


def reg(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(REGISTRY)
    out.update(changes)
    return out


def test_normalize_expands_environments_into_hosts() -> None:
    out = tn.normalize(REGISTRY)
    hosts = [t["host"] for t in out["tenants"]]
    assert hosts == ["acme-production", "acme-staging", "bauer-production", "cement-staging"]
    acme = out["tenants"][0]
    assert acme["namespace"] == "acme-production" and acme["instance"] == "acme-production"
    assert acme["tenancy"] == "dedicated" and acme["hostnames"] == ["erp.acme.example"]
    assert out["tenants"][2]["tier"] == "standard"
    assert out["tenants"][3]["namespace"] == "cement-test"


def test_inventory_groups_by_environment_cluster_tier_and_tenancy() -> None:
    inv = tn.inventory(tn.normalize(REGISTRY))
    g = inv["groups"]
    assert g["tenants"] == ["acme-production", "acme-staging", "bauer-production", "cement-staging"]
    assert g["env_production"] == ["acme-production", "bauer-production"]
    assert g["env_staging"] == ["acme-staging", "cement-staging"]
    assert g["cluster_eks_prod"] == ["bauer-production", "cement-staging"]
    assert g["cluster_eks_acme"] == ["acme-production", "acme-staging"]
    assert g["tier_premium"] == ["acme-production", "acme-staging"]
    assert g["tenancy_dedicated"] == ["acme-production", "acme-staging"]
    assert g["tenant_acme"] == ["acme-production", "acme-staging"]
    hv = inv["hosts"]["bauer-production"]
    assert hv["odoo_workers"] == 4
    assert hv["erpops_tenant"]["namespace"] == "bauer-production"
    assert hv["erpops_cluster"] == {"name": "eks-prod", "tenancy": "multi_tenant"}
    assert inv["group_vars"] == {"cluster_eks_prod": {"platform_cluster_name": "eks-prod"}}


@pytest.mark.parametrize(("tenants", "needle"), [
    ([{"name": "acme", "cluster": "eks-prod"}, {"name": "acme", "cluster": "eks-acme", "environment": "staging"}],
     "tenant 'acme' is in two clusters: 'eks-prod' (tenants[0]) and 'eks-acme' (tenants[1])"),
    ([{"name": "Acme_Corp", "cluster": "eks-prod"}], "RFC 1123"),
    ([{"name": "a" * 31, "cluster": "eks-prod"}], "at most 30"),
    ([{"name": "acme", "cluster": "eks-prod", "environment": "Prod"}], "environment"),
    ([{"name": "acme", "cluster": "eks-prod"}, {"name": "acme", "cluster": "eks-prod"}],
     "duplicate inventory host 'acme-production'"),
    ([{"name": "acme", "cluster": "nowhere"}], "a cluster defined under 'clusters'"),
    ([{"name": "acme", "cluster": "eks-prod", "tier": "gold"}], "one of the registry's tiers"),
    ([{"name": "a", "cluster": "eks-prod", "hostnames": {"production": ["erp.x.example"]}},
      {"name": "b", "cluster": "eks-prod", "hostnames": {"production": ["erp.x.example"]}}],
     "hostname 'erp.x.example' is claimed by a-production and b-production"),
    ([{"name": "a", "cluster": "eks-prod", "hostnames": {"production": ["Not A Host"]}}], "DNS hostname"),
    ([{"name": "a", "cluster": "eks-acme"}, {"name": "b", "cluster": "eks-acme"}],
     "cluster 'eks-acme' is dedicated (one tenant) but hosts tenants a, b"),
    ([{"name": "a", "cluster": "eks-prod", "namespace": "shared"},
      {"name": "b", "cluster": "eks-prod", "namespace": "shared"}], "namespace 'shared' of cluster 'eks-prod'"),
    ([{"name": "a", "cluster": "eks-prod", "colour": "blue"}], "a known tenant key"),
])
def test_bad_registries_fail_with_clear_errors(tenants: list[dict[str, Any]], needle: str) -> None:
    with pytest.raises(PlatformError) as exc:
        tn.normalize(reg(tenants=tenants))
    assert needle in str(exc.value)


def test_invalid_cluster_names_and_models() -> None:
    with pytest.raises(PlatformError) as exc:
        tn.normalize({"clusters": [{"name": "EKS", "tenancy": "shared"}], "tenants": []})
    assert "RFC 1123" in str(exc.value) and "one of multi_tenant, dedicated" in str(exc.value)
    assert len(exc.value.errors) == 2


def test_tenant_host_naming() -> None:
    out = tn.normalize(reg(tenants=[{"name": "bauer", "cluster": "eks-prod", "environment": "prod"}]),
                       host_naming="tenant")
    assert out["tenants"][0]["host"] == "bauer" and out["tenants"][0]["namespace"] == "bauer-prod"
    with pytest.raises(PlatformError, match="duplicate inventory host 'acme'"):
        tn.normalize(REGISTRY, host_naming="tenant")  # acme has two environments
    inv = tn.inventory(out, deploy_group="odoo_tenants")
    assert inv["groups"]["odoo_tenants"] == ["bauer"]
    assert inv["hosts"]["bauer"]["odoo_instance_name"] == "bauer-prod"
    assert "odoo_vars" not in tn.inventory(out, odoo_vars=False)["hosts"]["bauer"]
    assert "odoo_tenant" not in tn.inventory(out, odoo_vars=False)["hosts"]["bauer"]


def test_not_a_mapping() -> None:
    with pytest.raises(PlatformError, match="expected a mapping"):
        tn.normalize(["tenants"])


def ns(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}}


def test_label_query_builds_the_same_model() -> None:
    found = {"lab": [ns("acme-production", **{"erpops.io/tenant": "acme", "erpops.io/environment": "production",
                                              "erpops.io/tier": "premium"}),
                     ns("kube-system"),
                     ns("bauer-production", **{"erpops.io/tenant": "bauer"})]}
    model = tn.normalize(tn.registry_from_clusters(found), source="kubernetes")
    inv = tn.inventory(model)
    assert sorted(inv["hosts"]) == ["acme-production", "bauer-production"]
    assert inv["groups"]["tier_premium"] == ["acme-production"]
    assert inv["groups"]["cluster_lab"] == ["acme-production", "bauer-production"]


def test_label_query_refuses_a_tenant_in_two_clusters() -> None:
    found = {"a": [ns("acme-production", **{"erpops.io/tenant": "acme"})],
             "b": [ns("acme-staging", **{"erpops.io/tenant": "acme", "erpops.io/environment": "staging"})]}
    with pytest.raises(PlatformError, match="tenant 'acme' is in two clusters: 'a'"):
        tn.normalize(tn.registry_from_clusters(found), source="kubernetes")


def test_cluster_tenants_from_hostvars() -> None:
    inv = tn.inventory(tn.normalize(REGISTRY))
    entries = [inv["hosts"][h]["erpops_tenant"] for h in ("bauer-production", "cement-staging")]
    out = tn.validate_cluster_tenants(entries, "eks-prod", ["standard"])
    assert [t["namespace"] for t in out] == ["bauer-production", "cement-test"]
    with pytest.raises(PlatformError, match="belongs to cluster 'eks-prod', not to 'other'"):
        tn.validate_cluster_tenants(entries, "other")
    with pytest.raises(PlatformError, match="tiers"):
        tn.validate_cluster_tenants([dict(entries[0], tier="gold")], "eks-prod", ["standard"])
