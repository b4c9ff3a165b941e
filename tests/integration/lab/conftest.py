"""Fixtures for the lab's Kubernetes control plane and Traefik (see docs/lab.md)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException


@pytest.fixture(scope="session")
def kube_api(lab_env: dict[str, str]) -> client.ApiClient:
    """An API client for the lab cluster, as the lab admin."""
    if "KUBECONFIG" not in lab_env:
        pytest.fail("the lab's kube service is not up (no KUBECONFIG in .lab/env): run `make lab-up`")
    return config.new_client_from_config(config_file=lab_env["KUBECONFIG"])


@pytest.fixture
def namespace(kube_api: client.ApiClient) -> Iterator[str]:
    """A fresh namespace, deleted (without waiting) after the test."""
    core = client.CoreV1Api(kube_api)
    name = f"lab-test-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    # pods need the namespace's default ServiceAccount (created by the controller-manager)
    wait_for(lambda: _exists(lambda: core.read_namespaced_service_account("default", name)), 30,
             f"ServiceAccount default in {name}")
    yield name
    core.delete_namespace(name)


def _exists(read: Callable[[], Any]) -> bool:
    try:
        read()
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(name="wait_for")
def wait_for_fixture() -> Callable[..., Any]:
    """``wait_for(predicate, timeout, what)``: poll until truthy, else fail the test."""
    return wait_for


def rollout_status(kube_api: client.ApiClient, namespace: str, name: str, timeout: float) -> tuple[bool, str]:
    """Wait for a Deployment rollout like ``kubectl rollout status``.

    Returns ``(True, summary)`` once every replica is updated and Ready, or ``(False, reason)``
    when the rollout is stuck (ProgressDeadlineExceeded) or ``timeout`` passes; the reason
    names the Deployment condition and the first unready Pod's container state.
    """
    apps, core = client.AppsV1Api(kube_api), client.CoreV1Api(kube_api)
    deadline = time.monotonic() + timeout
    while True:
        dep = apps.read_namespaced_deployment(name, namespace)
        want = dep.spec.replicas if dep.spec.replicas is not None else 1
        st = dep.status
        if (st.observed_generation or 0) >= dep.metadata.generation and (st.updated_replicas or 0) == want \
                and (st.ready_replicas or 0) == want and (st.replicas or 0) == want:
            return True, f"deployment {namespace}/{name}: {want}/{want} replicas updated and Ready"
        progressing = next((c for c in st.conditions or [] if c.type == "Progressing"), None)
        stuck = progressing is not None and progressing.status == "False"
        if stuck or time.monotonic() > deadline:
            why = (f"{progressing.reason}: {progressing.message}" if progressing is not None
                   else f"no progress within {timeout:.0f}s")
            return False, f"deployment {namespace}/{name} did not become ready: {why}{_pod_reason(core, dep)}"
        time.sleep(0.5)


def _pod_reason(core: client.CoreV1Api, dep: client.V1Deployment) -> str:
    selector = ",".join(f"{k}={v}" for k, v in (dep.spec.selector.match_labels or {}).items())
    for pod in core.list_namespaced_pod(dep.metadata.namespace, label_selector=selector).items:
        for cs in pod.status.container_statuses or []:
            if cs.ready:
                continue
            state = cs.state.waiting or cs.state.terminated
            if state is not None:
                return f"; pod {pod.metadata.name}: container {cs.name} {state.reason}: {state.message}"
    return ""


@pytest.fixture(name="rollout_status")
def rollout_status_fixture(kube_api: client.ApiClient) -> Callable[[str, str, float], tuple[bool, str]]:
    """``rollout_status(namespace, name, timeout) -> (ok, reason)``."""
    return lambda namespace, name, timeout: rollout_status(kube_api, namespace, name, timeout)
