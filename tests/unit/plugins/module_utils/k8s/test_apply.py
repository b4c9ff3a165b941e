"""Unit tests of the batch apply engine and release history (the API server is faked at the client edge)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import apply as ap
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import instance
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import release as rel
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import render as rd
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import spec as sp
from kubernetes.client.rest import ApiException
from kubernetes.dynamic.exceptions import NotFoundError


class _Res:
    def __init__(self, api: str, kind: str, namespaced: bool = True) -> None:
        self.api, self.kind, self.namespaced = api, kind, namespaced


class _Obj:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)


class FakeDynamic:
    """An in-memory API server: SSA replaces the object's spec-ish content and bumps resourceVersion on change."""

    def __init__(self) -> None:
        self.store: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        self.writes: list[tuple[str, str]] = []
        self.rv = 100
        self.resources = self

    def get(self, res: Any = None, name: str | None = None, namespace: str | None = None, *,
            label_selector: str | None = None, api_version: str | None = None, kind: str | None = None) -> Any:
        if api_version is not None:  # resources.get(api_version=..., kind=...)
            return _Res(api_version, kind, kind != "Namespace")
        if name is None:
            want = dict(kv.split("=") for kv in (label_selector or "").split(",") if "=" in kv)
            items = [o for (k, ns, _n), o in self.store.items() if k == res.kind and ns == namespace
                     and all(o["metadata"].get("labels", {}).get(a) == b for a, b in want.items())
                     and not o["metadata"].get("labels", {}).get(rd.LABEL_RELEASES)]
            return _Obj({"items": items})
        key = (res.kind, namespace, name)
        if key not in self.store:
            raise NotFoundError(ApiException(status=404, reason="Not Found"))
        return _Obj(self.store[key])

    def server_side_apply(self, res: Any, body: dict[str, Any], name: str, namespace: str | None, *,
                          field_manager: str, force_conflicts: bool, dry_run: str | None = None) -> Any:
        assert field_manager == "erpops.odoo" and force_conflicts
        key = (res.kind, namespace, name)
        cur = self.store.get(key)
        new = copy.deepcopy(body)
        new["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"] if cur else "0"
        new["metadata"]["managedFields"] = [{"manager": field_manager}]
        if res.kind == "Deployment":
            new["status"] = {"observedGeneration": 1}
        changed = cur is None or ap.normalize(cur) != ap.normalize(new)
        if changed:
            self.rv += 1
            new["metadata"]["resourceVersion"] = str(self.rv)
        if dry_run is None:
            self.store[key] = new
            if changed:
                self.writes.append((res.kind, name))
        return _Obj(new)

    def delete(self, res: Any, name: str, namespace: str | None, **kwargs: Any) -> None:
        if kwargs.get("dry_run") is None:
            self.store.pop((res.kind, namespace, name), None)
            self.writes.append(("delete " + res.kind, name))


SPEC = {"tenant": "acme", "environment": "prod", "image": "odoo:17.0", "hostnames": ["erp.acme.test"],
        "database": {"host": "pg", "name": "acme", "user": "acme", "password_secret": {"name": "acme-db"}}}
SECRETS = {"acme-db": {"password": "s3cret"}}


def _engine(fake: FakeDynamic, check: bool = False) -> ap.Engine:
    return ap.Engine(fake, check_mode=check)


def test_first_apply_creates_second_is_unchanged() -> None:
    fake = FakeDynamic()
    out = instance.present(_engine(fake), SPEC, secrets=SECRETS, wait=False)
    assert out["changed"] and {r["action"] for r in out["resources"]} == {"created"}
    assert out["release"]["revision"] == 1 and out["release"]["status"] == "deployed"
    n_writes = len(fake.writes)
    again = instance.present(_engine(fake), SPEC, secrets=SECRETS, wait=False)
    assert not again["changed"] and {r["action"] for r in again["resources"]} == {"unchanged"}
    assert again["diff"] == [] and len(fake.writes) == n_writes
    assert again["release"]["revision"] == 1


def test_check_mode_writes_nothing_but_diffs() -> None:
    fake = FakeDynamic()
    instance.present(_engine(fake), SPEC, secrets=SECRETS, wait=False)
    before = copy.deepcopy(fake.store)
    changed = sp.deep_merge(SPEC, {"odoo_conf": {"log_level": "warn"}})
    out = instance.present(_engine(fake, check=True), changed, secrets=SECRETS, wait=False)
    assert fake.store == before
    assert out["changed"] and out["release"]["revision"] == 2
    updated = {r["name"] for r in out["resources"] if r["action"] == "updated"}
    assert updated == {"acme-prod-config", "acme-prod-web", "acme-prod-cron"}
    cm_diff = next(d for d in out["diff"] if d["after_header"].startswith("ConfigMap"))
    assert "log_level = warn" in cm_diff["after"] and "log_level = warn" not in cm_diff["before"]
    assert "odoo.conf: |" in cm_diff["after"]  # literal block: readable odoo.conf diff


def test_prune_removes_what_is_no_longer_rendered_but_keeps_pvc() -> None:
    fake = FakeDynamic()
    instance.present(_engine(fake), SPEC, secrets=SECRETS, wait=False)
    smaller = dict(SPEC, hostnames=[], cron={"enabled": False})
    out = instance.present(_engine(fake), smaller, secrets=SECRETS, wait=False)
    deleted = {(r["kind"], r["name"]) for r in out["resources"] if r["action"] == "deleted"}
    assert ("Deployment", "acme-prod-cron") in deleted and ("IngressRoute", "acme-prod") in deleted
    assert not [k for k in deleted if k[0] in ("PersistentVolumeClaim", "Secret")]
    assert ("PersistentVolumeClaim", "acme-prod", "acme-prod-filestore") in fake.store


def test_secret_values_never_in_diff() -> None:
    fake = FakeDynamic()
    out = instance.present(_engine(fake, check=True), SPEC, secrets=SECRETS, wait=False)
    text = json.dumps(out)
    assert "s3cret" not in text and "czNjcmV0" not in text  # plain and base64
    assert ap.REDACTED in text


def test_missing_secret_is_refused_before_anything_is_written() -> None:
    fake = FakeDynamic()
    with pytest.raises(sp.SpecError, match=r"tenant 'acme': field 'database.password_secret': Secret 'acme-db' "
                                           r"not found in namespace 'acme-prod'"):
        instance.present(_engine(fake), SPEC, wait=False)
    assert fake.writes == []
    with pytest.raises(sp.SpecError, match="has no key 'password'"):
        instance.present(_engine(fake), SPEC, secrets={"acme-db": {"pw": "x"}}, wait=False)


def test_hostname_claimed_by_another_instance_in_the_cluster() -> None:
    fake = FakeDynamic()
    instance.present(_engine(fake), SPEC, secrets=SECRETS, wait=False)

    def list_all(res: Any = None, name: Any = None, namespace: Any = None, label_selector: Any = None,
                 **kw: Any) -> Any:
        if res is not None and res.kind == "IngressRoute" and namespace is None:
            return _Obj({"items": [o for (k, _ns, _n), o in fake.store.items() if k == "IngressRoute"]})
        return FakeDynamic.get(fake, res, name, namespace, label_selector=label_selector, **kw)

    fake.get = list_all  # type: ignore[method-assign]
    other = dict(SPEC, tenant="globex", database=dict(SPEC["database"], password_secret={"name": "g-db"}))
    with pytest.raises(sp.SpecError, match=r"hostname 'erp\.acme\.test' is already used by tenant 'acme'"):
        instance.present(_engine(fake), other, secrets={"g-db": {"password": "x"}}, wait=False)


def test_release_history_and_rollback_target() -> None:
    fake = FakeDynamic()
    instance.present(_engine(fake), SPEC, secrets=SECRETS, wait=False, release_info={"who": "alice", "change_id": "C1"})
    newer = dict(SPEC, image="odoo:17.1")
    instance.present(_engine(fake), newer, secrets=SECRETS, wait=False)
    info = instance.release_info(_engine(fake), "acme-prod", "acme-prod")
    assert [r["revision"] for r in info["releases"]] == [1, 2]
    assert info["releases"][0]["who"] == "alice" and info["releases"][0]["change_id"] == "C1"
    assert "spec" not in info["current"]
    out = instance.present(_engine(fake), newer, wait=False, rollback_to="previous")
    assert out["rollback_of"] == 1 and out["release"]["revision"] == 3 and out["release"]["image"] == "odoo:17.0"
    web = fake.store[("Deployment", "acme-prod", "acme-prod-web")]
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "odoo:17.0"
    with pytest.raises(rel.ReleaseError, match=r"revision 9 is not in the release history \(kept: 1, 2, 3\)"):
        instance.present(_engine(fake), newer, wait=False, rollback_to="9")


def test_history_is_bounded() -> None:
    releases: list[dict[str, Any]] = []
    s = sp.normalize(SPEC)
    for _i in range(5):
        releases = rel.record(_engine(FakeDynamic()), s, rel.new_release(s, releases, "deployed", {}), releases, 3)
    assert [r["revision"] for r in releases] == [3, 4, 5]


@pytest.mark.parametrize(("dep", "expected"), [
    ({"metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": {"observedGeneration": 1}}, (False, None)),
    ({"metadata": {"generation": 2}, "spec": {"replicas": 2},
      "status": {"observedGeneration": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2,
                 "replicas": 2}}, (True, None)),
    ({"metadata": {"generation": 2}, "spec": {"replicas": 2},
      "status": {"observedGeneration": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1,
                 "replicas": 3}}, (False, None)),
    ({"metadata": {"generation": 1}, "spec": {"replicas": 1},
      "status": {"observedGeneration": 1, "conditions": [
          {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "stuck"}]}},
     (False, "ProgressDeadlineExceeded: stuck")),
])
def test_rollout_state(dep: dict[str, Any], expected: tuple[bool, Any]) -> None:
    assert ap.rollout_state(dep) == expected


def test_normalize_ignores_server_bookkeeping() -> None:
    obj = {"kind": "ConfigMap", "metadata": {"name": "x", "resourceVersion": "5", "generation": 3, "uid": "u",
                                             "managedFields": [{}], "creationTimestamp": "t"},
           "data": {"a": "b"}, "status": {"x": 1}}
    assert ap.normalize(obj) == {"kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}}
