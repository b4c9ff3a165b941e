"""Fixtures of the deploy integration tests: the lab cluster through the kubernetes dynamic client."""

from __future__ import annotations

import contextlib
import json
import re
import time
from typing import Any

import psycopg
import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.backup import manifest as mf
from ansible_collections.erpops.odoo.plugins.module_utils.backup import storage
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import release as rel
from kubernetes import config
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError

TENANTS = ("acme", "globex", "initech")


@pytest.fixture(scope="session")
def dyn(lab_env: dict[str, str]) -> DynamicClient:
    if "KUBECONFIG" not in lab_env:
        pytest.fail("the lab's kube service is not up (no KUBECONFIG in .lab/env): run `make lab-up`")
    return DynamicClient(config.new_client_from_config(config_file=lab_env["KUBECONFIG"]))


class Cluster:
    """Small read helpers over the dynamic client."""

    def __init__(self, dyn: DynamicClient) -> None:
        self.dyn = dyn

    def res(self, api: str, kind: str) -> Any:
        return self.dyn.resources.get(api_version=api, kind=kind)

    def get(self, api: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        try:
            return self.dyn.get(self.res(api, kind), name=name, namespace=namespace).to_dict()
        except NotFoundError:
            return None

    def owned_versions(self, namespace: str) -> dict[str, str]:
        """resourceVersion of every object the collection manages in a namespace."""
        out = {}
        for api, kind in (("v1", "ConfigMap"), ("v1", "Service"), ("apps/v1", "Deployment"),
                          ("v1", "ServiceAccount"), ("policy/v1", "PodDisruptionBudget"),
                          ("networking.k8s.io/v1", "NetworkPolicy"), ("traefik.io/v1alpha1", "Middleware"),
                          ("traefik.io/v1alpha1", "IngressRoute"), ("v1", "Secret")):
            items = self.dyn.get(self.res(api, kind), namespace=namespace,
                                 label_selector="app.kubernetes.io/managed-by=erpops.odoo").to_dict()["items"]
            for item in items:
                out["%s/%s" % (kind, item["metadata"]["name"])] = item["metadata"]["resourceVersion"]
        return out

    def delete_namespaces(self, names: tuple[str, ...], timeout: float = 120) -> None:
        ns = self.res("v1", "Namespace")
        for name in names:
            with contextlib.suppress(NotFoundError):
                self.dyn.delete(ns, name=name)
        deadline = time.monotonic() + timeout
        while any(self.get("v1", "Namespace", n) for n in names):
            if time.monotonic() > deadline:
                pytest.fail("namespaces %s not deleted within %ds" % (names, timeout))
            time.sleep(1)

    def image(self, namespace: str, deployment: str) -> str:
        dep = self.get("apps/v1", "Deployment", deployment, namespace)
        assert dep is not None, deployment
        return dep["spec"]["template"]["spec"]["containers"][0]["image"]

    def ready(self, namespace: str, deployment: str) -> bool:
        dep = self.get("apps/v1", "Deployment", deployment, namespace) or {}
        st, want = dep.get("status") or {}, (dep.get("spec") or {}).get("replicas", 1)
        return (st.get("readyReplicas") or 0) == want and (st.get("updatedReplicas") or 0) == want


@pytest.fixture(scope="session")
def cluster(dyn: DynamicClient) -> Cluster:
    return Cluster(dyn)


def recap(stdout: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host (summed over plays/batches)."""
    out: dict[str, dict[str, int]] = {}
    for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", stdout, re.MULTILINE):
        cur = out.setdefault(host, {})
        for key, val in re.findall(r"(\w+)=(\d+)", counters):
            cur[key] = cur.get(key, 0) + int(val)
    return out


def history(cluster: Cluster, tenant: str) -> list[dict[str, Any]]:
    """The release history of a lab tenant (its ConfigMap)."""
    cm = cluster.get("v1", "ConfigMap", rel.configmap_name("%s-lab" % tenant), "%s-lab" % tenant)
    assert cm is not None, "no release history for %s" % tenant
    return json.loads(cm["data"][rel.DATA_KEY])


def tables(conninfo: str, db: str) -> set[str]:
    with psycopg.connect(conninfo, dbname=db) as c:
        return {r[0] for r in c.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def lab_s3(lab_env: dict[str, str], bucket: str) -> storage.S3Settings:
    """A bucket of the lab S3 server, reached with the backup core's own storage settings."""
    return storage.S3Settings(bucket=bucket, endpoint_url=lab_env["AWS_ENDPOINT_URL"], region=lab_env["AWS_REGION"],
                              access_key=lab_env["AWS_ACCESS_KEY_ID"], secret_key=lab_env["AWS_SECRET_ACCESS_KEY"])


def backup_manifest(lab_env: dict[str, str], tenant: str, backup_id: str) -> dict[str, Any]:
    """The manifest of a backup in the lab backup bucket, read with the backup core's own storage helpers."""
    s3 = lab_s3(lab_env, lab_env["ERPOPS_LAB_BACKUP_BUCKET"])
    return storage.get_json(s3.client(), s3.bucket, mf.backup_prefix(s3.prefix, tenant, backup_id) + mf.MANIFEST)
