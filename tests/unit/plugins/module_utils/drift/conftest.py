"""A fake Kubernetes dynamic client (the network edge) for the drift core, counting API calls.

Server-side apply is simulated the way the API server does it for these tests: the applied body is
merged into the live object (lists of named items merged by name, keeping items other managers own),
then API defaults are filled in, so a comparison that does not restrict itself to the desired fields
would report them.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

BASE: dict[str, Any] = {
    "tenant": "acme",
    "environment": "prod",
    "image": "registry.example.com/odoo:17.0",
    "hostnames": ["erp.acme.test"],
    "database": {"host": "pg-rw.db.svc", "name": "acme", "user": "acme", "password_secret": {"name": "acme-db"}},
}


def spec_for(tenant: str, **extra: Any) -> dict[str, Any]:
    s = copy.deepcopy(BASE)
    s["tenant"] = tenant
    s["hostnames"] = ["erp.%s.test" % tenant]
    s["database"].update(name=tenant, user=tenant, password_secret={"name": "%s-db" % tenant})
    s.update(extra)
    return s


def _named(items: Any) -> bool:
    return isinstance(items, list) and bool(items) and all(isinstance(x, dict) and "name" in x for x in items)


def merge(live: Any, body: Any) -> Any:
    if isinstance(live, dict) and isinstance(body, dict):
        out = copy.deepcopy(live)
        for k, v in body.items():
            out[k] = merge(live.get(k), v) if k in live else copy.deepcopy(v)
        return out
    if _named(body) and isinstance(live, list):
        by = {x.get("name"): x for x in live if isinstance(x, dict)}
        out = [merge(by[x["name"]], x) if x["name"] in by else copy.deepcopy(x) for x in body]
        wanted = {x["name"] for x in body}
        out += [copy.deepcopy(x) for x in live if isinstance(x, dict) and x.get("name") not in wanted]
        return out
    return copy.deepcopy(body)


def defaults(obj: dict[str, Any]) -> dict[str, Any]:
    """Fields the API server fills in (what a naive comparison reports as permanent drift)."""
    obj["metadata"].setdefault("uid", "uid-%s" % obj["metadata"]["name"])
    if obj["kind"] == "Deployment":
        spec = obj["spec"]
        spec.setdefault("replicas", 1)
        pod = spec["template"]["spec"]
        pod.setdefault("dnsPolicy", "ClusterFirst")
        pod.setdefault("restartPolicy", "Always")
        pod.setdefault("schedulerName", "default-scheduler")
        for c in pod["containers"]:
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                if probe in c:
                    c[probe].setdefault("successThreshold", 1)
                    c[probe]["httpGet"].setdefault("scheme", "HTTP")
        for v in pod.get("volumes", []):
            if "configMap" in v:
                v["configMap"].setdefault("defaultMode", 420)
    if obj["kind"] == "Service":
        obj["spec"].setdefault("sessionAffinity", "None")
        obj["spec"].setdefault("clusterIP", "10.96.0.10")
        obj["spec"].setdefault("clusterIPs", ["10.96.0.10"])
        obj["spec"].setdefault("internalTrafficPolicy", "Cluster")
    if obj["kind"] == "Namespace":
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj["spec"] = {"finalizers": ["kubernetes"]}
    return obj


class Res:
    def __init__(self, api_version: str, kind: str, namespaced: bool) -> None:
        self.api_version, self.kind, self.namespaced = api_version, kind, namespaced


class Result:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)


def _selected(obj: dict[str, Any], selector: str | None) -> bool:
    if not selector:
        return True
    labels = obj["metadata"].get("labels") or {}
    for term in selector.split(","):
        if term.startswith("!"):
            if term[1:] in labels:
                return False
        elif "=" in term:
            k, v = term.split("=", 1)
            if labels.get(k) != v:
                return False
        elif term not in labels:
            return False
    return True


CLUSTER_SCOPED = {"Namespace"}


class FakeDyn:
    """Objects by (kind, namespace, name); ``calls`` counts requests by verb."""

    def __init__(self, served: set[str] | None = None) -> None:
        self.objects: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        self.calls: Counter = Counter()
        self.served = served
        self.resources = self
        self.rv = 0

    # discovery
    def get_resource(self, api_version: str, kind: str) -> Res:
        self.calls["discovery"] += 1
        if self.served is not None and kind not in self.served:
            raise ResourceNotFoundError("no %s" % kind)
        return Res(api_version, kind, kind not in CLUSTER_SCOPED)

    def _bump(self, obj: dict[str, Any]) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        obj["metadata"]["managedFields"] = [{"manager": "x"}]
        obj.setdefault("status", {"observed": True})

    # verbs
    def get(self, res: Any = None, name: str | None = None, namespace: str | None = None,  # noqa: PLR0917
            label_selector: str | None = None, api_version: str | None = None, kind: str | None = None) -> Any:
        if api_version is not None:  # resources.get(api_version=..., kind=...)
            return self.get_resource(api_version, kind)
        if name is None:
            self.calls["list"] += 1
            self.calls["list %s" % res.kind] += 1
            items = [o for (k, ns, dummy), o in sorted(self.objects.items(), key=lambda kv: str(kv[0]))
                     if k == res.kind and (namespace is None or ns == namespace) and _selected(o, label_selector)]
            return Result({"items": [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")}
                                     for o in items]})
        self.calls["get"] += 1
        key = (res.kind, namespace if res.namespaced else None, name)
        if key not in self.objects:
            raise NotFoundError(type("E", (), {"status": 404, "reason": "NotFound", "body": "", "headers": {}})())
        return Result(self.objects[key])

    def server_side_apply(self, res: Any, body: dict[str, Any], name: str, namespace: str | None = None,  # noqa: PLR0917
                          field_manager: str | None = None, force_conflicts: bool = False,
                          dry_run: str | None = None) -> Result:
        self.calls["apply-dry-run" if dry_run else "apply"] += 1
        key = (res.kind, namespace if res.namespaced else None, name)
        cur = self.objects.get(key, {})
        new = defaults(merge(cur, body))
        if not dry_run:
            self._bump(new)
            self.objects[key] = new
        return Result(new)

    def patch(self, res: Any, body: dict[str, Any], name: str, namespace: str | None = None,  # noqa: PLR0917
              field_manager: str | None = None, content_type: str | None = None, dry_run: str | None = None
              ) -> Result:
        self.calls["patch"] += 1
        key = (res.kind, namespace if res.namespaced else None, name)

        def mp(a: Any, b: Any) -> Any:  # JSON merge patch: lists replace
            if isinstance(a, dict) and isinstance(b, dict):
                out = dict(a)
                for k, v in b.items():
                    out[k] = mp(a.get(k), v)
                return out
            return copy.deepcopy(b)

        new = defaults(mp(self.objects[key], body))
        if not dry_run:
            self._bump(new)
            self.objects[key] = new
        return Result(new)

    def delete(self, res: Any, name: str, namespace: str | None = None, propagation_policy: str | None = None,
               dry_run: str | None = None) -> None:
        self.calls["delete"] += 1
        if not dry_run:
            self.objects.pop((res.kind, namespace if res.namespaced else None, name), None)

    def create(self, res: Any, body: dict[str, Any], namespace: str | None = None, field_manager: str | None = None,
               dry_run: str | None = None) -> Result:
        self.calls["create"] += 1
        obj = defaults(copy.deepcopy(body))
        if not dry_run:
            self._bump(obj)
            self.objects[(body["kind"], namespace, body["metadata"]["name"])] = obj
        return Result(obj)

    # helpers for tests (not API calls)
    def put(self, obj: dict[str, Any]) -> None:
        o = defaults(copy.deepcopy(obj))
        self._bump(o)
        self.objects[(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])] = o

    def obj(self, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
        return self.objects[(kind, namespace, name)]


@pytest.fixture
def fake() -> FakeDyn:
    return FakeDyn()


def deploy(fake: FakeDyn, specs: list[dict[str, Any]]) -> None:
    """Put rendered objects (and the Secrets they reference) into the fake cluster, as a deploy would."""
    from ansible_collections.erpops.odoo.plugins.module_utils.k8s import render as rd
    from ansible_collections.erpops.odoo.plugins.module_utils.k8s import spec as sp

    for raw in specs:
        s = sp.normalize(raw)
        for obj in rd.render(s):
            fake.put(obj)
        fake.put({"apiVersion": "v1", "kind": "Secret", "metadata": {
            "name": s["database"]["password_secret"]["name"], "namespace": s["namespace"]},
            "data": {"password": "c2VjcmV0"}})
    fake.calls.clear()
