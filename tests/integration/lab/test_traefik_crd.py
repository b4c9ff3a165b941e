"""Traefik watches the lab cluster: an IngressRoute becomes a router in Traefik's own API.

No request is sent through the router: its Service has no endpoints (and real
endpoints would be private pod addresses the lab never dials).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client

pytestmark = [pytest.mark.lab, pytest.mark.kube]


def traefik_routers(api: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{api}/api/http/routers", timeout=5) as resp:  # noqa: S310 - 127.0.0.1 only
        return json.load(resp)


def test_ingressroute_becomes_traefik_router(kube_api: client.ApiClient, namespace: str, lab_env: dict[str, str],
                                             wait_for: Callable[..., Any]) -> None:
    api = lab_env.get("LAB_TRAEFIK_API")
    if not api:
        pytest.fail("the lab's traefik service is not up (no LAB_TRAEFIK_API in .lab/env): run `make lab-up`")
    assert api.startswith("http://127.0.0.1:")
    # a selector-less Service: the router exists, but has no server to proxy to
    client.CoreV1Api(kube_api).create_namespaced_service(namespace, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "odoo"},
        "spec": {"ports": [{"name": "http", "port": 8069, "targetPort": 8069}]},
    })
    host = f"{namespace}.lab.test"
    client.CustomObjectsApi(kube_api).create_namespaced_custom_object("traefik.io", "v1alpha1", namespace,
                                                                      "ingressroutes", {
        "apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute", "metadata": {"name": "odoo"},
        "spec": {"entryPoints": ["websecure"], "routes": [{
            "kind": "Rule", "match": f"Host(`{host}`) && PathPrefix(`/`)",
            "services": [{"name": "odoo", "port": 8069}],
        }], "tls": {}},
    })

    def router() -> dict[str, Any] | None:
        return next((r for r in traefik_routers(api)
                     if r.get("provider") == "kubernetescrd" and host in r.get("rule", "")), None)

    found = wait_for(router, 30, f"a kubernetescrd router for {host} in Traefik's API")
    assert found["name"].startswith(f"{namespace}-odoo-")
    assert found["entryPoints"] == ["websecure"]
    assert found["status"] == "enabled", found
    assert found.get("tls") is not None
