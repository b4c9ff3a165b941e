"""The erpops.odoo.tenants inventory plugin, loaded by Ansible's own InventoryManager."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]
COLLECTIONS = REPO / "build" / "collections"


def ansible_inventory(path: Path, *, check: bool = True, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), **env_extra)
    return subprocess.run([str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(path), "--list"],
                          capture_output=True, text=True, env=env, check=check)


def plain(value: Any) -> Any:
    """ansible-inventory --list marks some strings {"__ansible_unsafe": ...}: unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def groups_of(data: dict[str, Any]) -> dict[str, list[str]]:
    return {g: sorted(v.get("hosts", [])) for g, v in data.items() if g != "_meta"}


def write(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text("---\n" + yaml.safe_dump(data))
    return path


CONFIG = {
    "plugin": "erpops.odoo.tenants",
    "clusters": [{"name": "eks-prod", "vars": {"platform_cluster_name": "eks-prod"}}],
    "tenants": [{"name": "acme", "cluster": "eks-prod", "tier": "premium", "environments": ["production", "staging"]},
                {"name": "bauer", "cluster": "eks-prod"}],
    "keyed_groups": [{"key": "erpops_tenant.tier", "prefix": "sla"}],
}


def test_verify_file_accepts_only_tenant_files(tmp_path: Path) -> None:
    from ansible_collections.erpops.odoo.plugins.inventory.tenants import InventoryModule

    plugin = InventoryModule()
    for name, ok in (("lab.tenants.yml", True), ("x.tenants.yaml", True), ("tenants.yml", True),
                     ("hosts.yml", False), ("tenants.json", False), ("mytenants.yml", False)):
        path = tmp_path / name
        path.write_text("plugin: erpops.odoo.tenants\n")
        assert plugin.verify_file(str(path)) is ok, name


def test_inline_registry_builds_hosts_and_groups(tmp_path: Path) -> None:
    data = plain(json.loads(ansible_inventory(write(tmp_path, "prod.tenants.yml", CONFIG)).stdout))
    groups = groups_of(data)
    assert groups["tenants"] == ["acme-production", "acme-staging", "bauer-production"]
    assert groups["env_staging"] == ["acme-staging"]
    assert groups["cluster_eks_prod"] == ["acme-production", "acme-staging", "bauer-production"]
    assert groups["tier_premium"] == ["acme-production", "acme-staging"]
    assert groups["sla_premium"] == ["acme-production", "acme-staging"]  # constructed keyed_groups work
    hv = data["_meta"]["hostvars"]["bauer-production"]
    assert hv["erpops_tenant"]["tier"] == "standard"
    assert hv["ansible_connection"] == "local"
    assert hv["platform_cluster_name"] == "eks-prod"  # cluster vars, as group variables
    # the odoo role's identity variables, so deploy.yml runs on these hosts
    assert hv["odoo_tenant"] == "bauer" and hv["odoo_namespace"] == "bauer-production"
    assert "odoo_tenants" not in data


def test_tenant_host_naming_and_deploy_group(tmp_path: Path) -> None:
    cfg = dict(CONFIG, host_naming="tenant", deploy_group="odoo_tenants",
               tenants=[{"name": "acme", "cluster": "eks-prod", "environment": "prod"}])
    data = plain(json.loads(ansible_inventory(write(tmp_path, "t.tenants.yml", cfg)).stdout))
    assert data["odoo_tenants"]["hosts"] == ["acme"]
    assert data["_meta"]["hostvars"]["acme"]["odoo_namespace"] == "acme-prod"


def test_registry_file_relative_to_config(tmp_path: Path) -> None:
    (tmp_path / "reg").mkdir()
    write(tmp_path / "reg", "registry.yml", {k: v for k, v in CONFIG.items() if k in ("clusters", "tenants")})
    cfg = {"plugin": "erpops.odoo.tenants", "registry": "reg/registry.yml"}
    res = ansible_inventory(write(tmp_path, "x.tenants.yml", cfg))
    data = json.loads(res.stdout)
    assert sorted(data["_meta"]["hostvars"]), res.stderr
    assert sorted(data["_meta"]["hostvars"]) == ["acme-production", "acme-staging", "bauer-production"]


@pytest.mark.parametrize(("tenants", "needle"), [
    ([{"name": "acme", "cluster": "eks-prod"}, {"name": "acme", "cluster": "eks-dr", "environment": "dr"}],
     "tenant 'acme' is in two clusters"),
    ([{"name": "ACME", "cluster": "eks-prod"}], "RFC 1123"),
    ([{"name": "acme", "cluster": "eks-prod"}, {"name": "acme", "cluster": "eks-prod"}], "duplicate inventory host"),
])
def test_invalid_registry_fails_the_inventory(tmp_path: Path, tenants: list[dict[str, Any]], needle: str) -> None:
    cfg = dict(CONFIG, tenants=tenants, clusters=[{"name": "eks-prod"}, {"name": "eks-dr"}])
    res = ansible_inventory(write(tmp_path, "bad.tenants.yml", cfg), check=False,
                            ANSIBLE_INVENTORY_UNPARSED_FAILED="1", ANSIBLE_INVENTORY_ENABLED="erpops.odoo.tenants")
    assert res.returncode != 0
    assert needle in res.stdout + res.stderr


@pytest.mark.parametrize(("example", "host"), [("multi_tenant", "umbrella"), ("dedicated", "bauhaus-staging")])
def test_example_registries_list_tenants(example: str, host: str) -> None:
    data = json.loads(ansible_inventory(REPO / "inventories" / "examples" / example / "tenants.yml").stdout)
    assert host in data["tenants"]["hosts"]
