"""The lab's Kubernetes control plane behaves like a real cluster (kwok nodes, real controllers)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

pytestmark = [pytest.mark.lab, pytest.mark.kube]

FAIL_LABEL = "lab.erpops.io/fail"


def pod_template(labels: dict[str, str], *, restart: str = "Always") -> dict[str, Any]:
    return {
        "metadata": {"labels": labels},
        "spec": {
            "restartPolicy": restart,
            "containers": [{"name": "app", "image": "registry.invalid/lab/app:1",
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}],
        },
    }


def deployment(name: str, replicas: int, labels: dict[str, str], progress_deadline: int = 600) -> dict[str, Any]:
    template = pod_template(labels)
    template["spec"]["topologySpreadConstraints"] = [{
        "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": labels["app"]}},
    }]
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "progressDeadlineSeconds": progress_deadline,
                 "selector": {"matchLabels": {"app": labels["app"]}}, "template": template},
    }


def job(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "template": pod_template(labels, restart="Never")},
    }


def job_condition(kube_api: client.ApiClient, namespace: str, name: str) -> client.V1JobCondition | None:
    st = client.BatchV1Api(kube_api).read_namespaced_job_status(name, namespace).status
    return next((c for c in st.conditions or [] if c.type in ("Complete", "Failed") and c.status == "True"), None)


def test_version_and_zoned_nodes(kube_api: client.ApiClient, lab_env: dict[str, str]) -> None:
    info = client.VersionApi(kube_api).get_code()
    assert info.git_version == lab_env["LAB_KUBE_VERSION"]
    nodes = client.CoreV1Api(kube_api).list_node().items
    zones = {n.metadata.labels.get("topology.kubernetes.io/zone") for n in nodes}
    assert len(nodes) >= 3 and {"zone-a", "zone-b", "zone-c"} <= zones
    for node in nodes:
        ready = next(c for c in node.status.conditions if c.type == "Ready")
        assert ready.status == "True"
        # kwok reports every node at 127.0.0.1: nothing ever dials a private node address
        assert {a.address for a in node.status.addresses if a.type == "InternalIP"} == {"127.0.0.1"}


def test_deployment_rolls_out_across_zones(kube_api: client.ApiClient, namespace: str,
                                           rollout_status: Callable[[str, str, float], tuple[bool, str]]) -> None:
    client.AppsV1Api(kube_api).create_namespaced_deployment(namespace, deployment("web", 3, {"app": "web"}))
    ok, reason = rollout_status(namespace, "web", 90)
    assert ok, reason
    pods = client.CoreV1Api(kube_api).list_namespaced_pod(namespace, label_selector="app=web").items
    assert len(pods) == 3 and all(p.status.phase == "Running" for p in pods)
    nodes = {p.spec.node_name for p in pods}
    assert len(nodes) == 3, f"topology spread should place one pod per zone, got {nodes}"


def test_job_completes(kube_api: client.ApiClient, namespace: str, wait_for: Callable[..., Any]) -> None:
    client.BatchV1Api(kube_api).create_namespaced_job(namespace, job("migrate", {"app": "migrate"}))
    cond = wait_for(lambda: job_condition(kube_api, namespace, "migrate"), 90, "Job migrate to finish")
    assert cond.type == "Complete", f"{cond.type}: {cond.reason} {cond.message}"
    assert client.BatchV1Api(kube_api).read_namespaced_job_status("migrate", namespace).status.succeeded == 1


def test_failing_stage_job_fails(kube_api: client.ApiClient, namespace: str, wait_for: Callable[..., Any]) -> None:
    client.BatchV1Api(kube_api).create_namespaced_job(
        namespace, job("migrate-broken", {"app": "migrate", FAIL_LABEL: "true"}))
    cond = wait_for(lambda: job_condition(kube_api, namespace, "migrate-broken"), 90, "Job migrate-broken to finish")
    assert cond.type == "Failed"
    assert cond.reason == "BackoffLimitExceeded", cond.reason
    pod = client.CoreV1Api(kube_api).list_namespaced_pod(namespace, label_selector="job-name=migrate-broken").items[0]
    assert pod.status.phase == "Failed"
    term = pod.status.container_statuses[0].state.terminated
    assert term.exit_code == 1 and "simulated failure" in term.message


def test_failing_stage_rollout_times_out_with_reason(
        kube_api: client.ApiClient, namespace: str,
        rollout_status: Callable[[str, str, float], tuple[bool, str]]) -> None:
    client.AppsV1Api(kube_api).create_namespaced_deployment(
        namespace, deployment("odoo", 2, {"app": "odoo", FAIL_LABEL: "true"}, progress_deadline=8))
    ok, reason = rollout_status(namespace, "odoo", 90)
    assert not ok
    assert "ProgressDeadlineExceeded" in reason, reason
    assert "CrashLoopBackOff" in reason and "simulated failure" in reason, reason
    st = client.AppsV1Api(kube_api).read_namespaced_deployment_status("odoo", namespace).status
    assert not st.ready_replicas


def test_server_side_apply_conflict_is_reported(kube_api: client.ApiClient, namespace: str) -> None:
    configmaps = DynamicClient(kube_api).resources.get(api_version="v1", kind="ConfigMap")

    def apply(manager: str, value: str, force: bool = False) -> Any:
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "odoo-conf", "namespace": namespace},
                "data": {"workers": value}}
        return configmaps.server_side_apply(body=body, field_manager=manager, force_conflicts=force)

    apply("erpops-a", "4")
    with pytest.raises(ApiException) as err:
        apply("erpops-b", "8")
    assert err.value.status == 409
    status = json.loads(err.value.body)
    assert status["reason"] == "Conflict"
    assert 'conflict with "erpops-a"' in status["message"] and ".data.workers" in status["message"], status
    # forcing takes the field over, and the managed fields say who owns it now
    cm = apply("erpops-b", "8", force=True).to_dict()
    assert cm["data"]["workers"] == "8"
    owners = {m["manager"] for m in cm["metadata"]["managedFields"] if "f:workers" in json.dumps(m["fieldsV1"])}
    assert owners == {"erpops-b"}
