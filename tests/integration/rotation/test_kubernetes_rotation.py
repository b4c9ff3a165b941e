"""PostgreSQL rotation with the credential in a Kubernetes Secret consumed by a Deployment (lab kube service):
20 clients re-reading the Secret through the API see no authentication failure; the Deployment rolls
(checksum annotation) and the rollout completes; a failing test step leaves the Secret and Deployment alone."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.rotation import core
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.kubernetes import (
    KubernetesSecretStore,
    checksum_annotation,
)
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.password import generate_password
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.postgres import PostgresAlternatingUsers
from kubernetes import client, config
from psycopg import sql
from rotation_helpers import pg_connect

pytestmark = pytest.mark.kube



@pytest.fixture(scope="module")
def kube(lab_env: dict[str, str]):
    if "KUBECONFIG" not in lab_env:
        pytest.fail("the lab's kube service is not up (no KUBECONFIG in .lab/env): run `make lab-up LAB_SERVICES=kube`")
    return config.new_client_from_config(config_file=lab_env["KUBECONFIG"])


@pytest.fixture
def ns(kube) -> Iterator[str]:
    core_api = client.CoreV1Api(kube)
    name = "rot-%s" % uuid.uuid4().hex[:8]
    core_api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    deadline = time.monotonic() + 60
    while True:  # pods need the namespace's default ServiceAccount
        try:
            core_api.read_namespaced_service_account("default", name)
            break
        except client.ApiException as exc:
            if exc.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    yield name
    core_api.delete_namespace(name)


def deployment(kube, ns: str, name: str = "odoo-web") -> None:
    labels = {"app": name}
    body = client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=2, selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(
                    name="odoo", image="odoo.invalid/odoo:17.0",
                    env=[client.V1EnvVar(name="DB_PASSWORD", value_from=client.V1EnvVarSource(
                        secret_key_ref=client.V1SecretKeySelector(name="odoo-db", key="db_password")))])]))))
    client.AppsV1Api(kube).create_namespaced_deployment(ns, body)


def store(kube, ns: str) -> KubernetesSecretStore:
    return KubernetesSecretStore(kube, ns, "odoo-db", keys={"username": "db_user", "password": "db_password"},
                                 restart_deployments=["odoo-web"], rollout_timeout=120)


def read_secret(kube, ns: str) -> dict:
    data = client.CoreV1Api(kube).read_namespaced_secret("odoo-db", ns).data
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def test_secret_rotation_rolls_odoo_without_auth_failures(kube, ns, pg_admin, pg_cleanup, clients):
    tag = "rot%s" % uuid.uuid4().hex[:8]
    pg_cleanup(tag)
    deployment(kube, ns)
    target = PostgresAlternatingUsers(tag, pg_admin["host"], port=pg_admin["port"], admin_user=pg_admin["user"],
                                      admin_password=pg_admin["password"])
    first = core.rotate(tag, target, store(kube, ns), generate_password, check_mode=False)
    assert first.current_user == tag + "_a"
    with pg_connect(pg_admin) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(tag), sql.Identifier(tag)))

    def attempt() -> str:
        cred = read_secret(kube, ns)  # re-read through the API each time
        with psycopg.connect(host=pg_admin["host"], port=pg_admin["port"], dbname=tag, user=cred["db_user"],
                             password=cred["db_password"], connect_timeout=10) as conn:
            conn.execute("SELECT 1")
        return cred["db_user"]

    with clients(20, attempt) as running:
        time.sleep(1.0)
        for _ in range(2):
            res = core.rotate(tag, PostgresAlternatingUsers(
                tag, pg_admin["host"], port=pg_admin["port"], db=tag, admin_user=pg_admin["user"],
                admin_password=pg_admin["password"]), store(kube, ns), generate_password, check_mode=False)
            assert any("rolled out" in a for a in res.actions)
            time.sleep(1.0)
    assert running.failures == []
    assert running.ok > 50 and running.users == {tag + "_a", tag + "_b"}

    secret = client.CoreV1Api(kube).read_namespaced_secret("odoo-db", ns)
    assert secret.metadata.annotations["erpops.io/credential-version"] == res.current_version
    checksum = hashlib.sha256(json.dumps(secret.data, sort_keys=True).encode()).hexdigest()
    dep = client.AppsV1Api(kube).read_namespaced_deployment("odoo-web", ns)
    assert dep.spec.template.metadata.annotations[checksum_annotation("odoo-db")] == checksum
    assert dep.status.updated_replicas == dep.status.ready_replicas == dep.status.replicas == 2

    # a failing test step: Secret and Deployment untouched, the current login still works
    rv, generation = secret.metadata.resource_version, dep.metadata.generation
    idle = tag + "_a" if read_secret(kube, ns)["db_user"] == tag + "_b" else tag + "_b"
    with pg_connect(pg_admin) as conn:
        conn.execute(sql.SQL("ALTER ROLE {} VALID UNTIL '2000-01-01'").format(sql.Identifier(idle)))
    with pytest.raises(core.RotationError, match="failed at step test"):
        core.rotate(tag, PostgresAlternatingUsers(
            tag, pg_admin["host"], port=pg_admin["port"], db=tag, admin_user=pg_admin["user"],
            admin_password=pg_admin["password"]), store(kube, ns), generate_password, check_mode=False)
    assert client.CoreV1Api(kube).read_namespaced_secret("odoo-db", ns).metadata.resource_version == rv
    assert client.AppsV1Api(kube).read_namespaced_deployment("odoo-web", ns).metadata.generation == generation
    assert attempt() != idle


def test_missing_deployment_fails_before_anything(kube, ns):
    with pytest.raises(core.RotationError, match=r"deployment .*/odoo-web to restart does not exist"):
        core.rotate("x", core_api_key(), store(kube, ns), generate_password, check_mode=False)
    with pytest.raises(client.ApiException):
        client.CoreV1Api(kube).read_namespaced_secret("odoo-db", ns)


def core_api_key():
    from ansible_collections.erpops.odoo.plugins.module_utils.rotation.secret_targets import ApiKey

    return ApiKey()
