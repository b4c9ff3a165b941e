"""The pg_cluster role against the lab Kubernetes API (``make lab-up LAB_SERVICES=kube``; CNPG CRDs applied at
lab start): the API server validates the Cluster and Pooler against the CRDs; a second run changes nothing;
an invalid setting fails before any object is written."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

PLAYBOOK = """---
- name: pg_cluster
  hosts: localhost
  gather_facts: false
  roles:
    - role: erpops.odoo.pg_cluster
      vars:
        pg_cluster_namespace: "{{ ns }}"
        pg_cluster_owner_password: lab-owner-password
        pg_cluster_roles: [{name: odoo_report, password: lab-report-password, in_roles: [pg_read_all_data]}]
        pg_cluster_backup_destination: s3://erpops-lab-backups/pg
        pg_cluster_backup_endpoint_url: http://127.0.0.1:55000
        pg_cluster_backup_access_key: lab
        pg_cluster_backup_secret_key: lab-secret
"""


@pytest.fixture(scope="module")
def kube(lab_env: dict[str, str]) -> dict[str, str]:
    if "KUBECONFIG" not in lab_env:
        pytest.fail("the kube lab service is not up: make lab-up LAB_SERVICES=kube")
    return lab_env


def kubectl(env: dict[str, str], *args: str) -> dict:
    res = subprocess.run([env["LAB_KUBECTL"], "--kubeconfig", env["KUBECONFIG"], *args, "-o", "json"],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def test_cluster_and_pooler_validate_apply_and_are_idempotent(kube, run_playbook, recap, tmp_path) -> None:
    ns = f"pgc-{uuid.uuid4().hex[:6]}"
    book = tmp_path / "pg_cluster.yml"
    book.write_text(PLAYBOOK)
    first = run_playbook(str(book), "-e", f"ns={ns}", inventory="inventories/lab")
    assert recap(first.stdout)["localhost"]["changed"] > 0
    cl = kubectl(kube, "-n", ns, "get", "clusters.postgresql.cnpg.io", "odoo-pg")
    assert cl["spec"]["instances"] == 3
    assert cl["spec"]["postgresql"]["synchronous"] == {"method": "any", "number": 1, "dataDurability": "required"}
    roles = {r["name"]: r for r in cl["spec"]["managed"]["roles"]}
    assert roles["odoo"]["superuser"] is False and roles["odoo"]["passwordSecret"]["name"] == "odoo-pg-odoo"
    assert cl["spec"]["backup"]["barmanObjectStore"]["destinationPath"] == "s3://erpops-lab-backups/pg"
    pooler = kubectl(kube, "-n", ns, "get", "poolers.postgresql.cnpg.io", "odoo-pg-pooler-rw")
    assert pooler["spec"]["pgbouncer"]["poolMode"] == "transaction"
    secret = kubectl(kube, "-n", ns, "get", "secret", "odoo-pg-odoo")
    assert secret["type"] == "kubernetes.io/basic-auth"
    second = run_playbook(str(book), "-e", f"ns={ns}", inventory="inventories/lab")
    assert recap(second.stdout)["localhost"]["changed"] == 0

    bad = run_playbook(str(book), "-e", f"ns={ns}-bad", "-e", '{"pg_cluster_parameters": {"wal_level": "minimal"}}',
                       inventory="inventories/lab", check=False)
    assert bad.returncode != 0 and "pg_cluster_parameters.wal_level" in bad.stdout
    res = subprocess.run([kube["LAB_KUBECTL"], "--kubeconfig", kube["KUBECONFIG"], "get", "ns", f"{ns}-bad"],
                         capture_output=True, text=True, check=False)
    assert res.returncode != 0  # nothing was created
