"""Kubernetes drift over the deploy core, against a fake dynamic client (the network edge)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.drift import check
from ansible_collections.erpops.odoo.plugins.module_utils.drift.kube import KubeDrift
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import render as rd
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.apply import Engine

from .conftest import FakeDyn, deploy, spec_for

TENANTS = ("acme", "globex", "initech")
NAMESPACED_KINDS = sum(1 for dummy, dummy2, namespaced in rd.KINDS if namespaced)


def _check(fake: FakeDyn, specs: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return KubeDrift(Engine(fake), **kw).check(specs)


@pytest.fixture
def estate(fake: FakeDyn) -> tuple[FakeDyn, list[dict[str, Any]]]:
    specs = [spec_for(t) for t in TENANTS]
    deploy(fake, specs)
    return fake, specs


def _paths(items: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(i["resource"], i["change"], i["path"]) for i in items}


def test_fresh_deploy_has_no_drift_despite_api_defaults(estate):
    fake, specs = estate
    live = fake.obj("Deployment", "acme-prod", "acme-prod-web")
    assert live["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"  # the fake defaults fields
    out = _check(fake, specs)
    assert out["items"] == []
    assert [i["instance"] for i in out["instances"]] == ["acme-prod", "globex-prod", "initech-prod"]


def test_one_list_per_kind_per_namespace_and_no_get(estate):
    fake, specs = estate
    _check(fake, specs)
    objects = sum(len(rd.render(s)) for s in specs)
    assert fake.calls["list"] == 1 + len(TENANTS) * NAMESPACED_KINDS  # Namespaces once, then kind x namespace
    assert fake.calls["list Namespace"] == 1
    assert fake.calls["list Deployment"] == len(TENANTS)
    assert fake.calls["get"] == 0
    assert fake.calls["apply-dry-run"] == objects  # one dry-run per existing desired object, nothing written
    assert fake.calls["apply"] == fake.calls["patch"] == fake.calls["delete"] == 0


def test_reads_do_not_grow_with_objects_per_namespace(fake):
    specs = [spec_for("acme", web={"autoscaling": {"enabled": True}}), spec_for("acme", environment="stage")]
    specs[1]["namespace"] = "acme-prod"
    specs[1]["create_namespace"] = False
    specs[1]["tenancy"] = "dedicated"
    specs[1]["hostnames"] = ["stage.acme.test"]
    deploy(fake, specs)
    KubeDrift(Engine(fake)).check(specs)
    assert fake.calls["list"] == 1 + NAMESPACED_KINDS  # two instances, one namespace: same lists


def _dep(fake: FakeDyn, name: str = "acme-prod-web") -> dict[str, Any]:
    return fake.obj("Deployment", "acme-prod", name)


def _container(fake: FakeDyn) -> dict[str, Any]:
    return _dep(fake)["spec"]["template"]["spec"]["containers"][0]


INJECTIONS = {
    "scale": (lambda f: _dep(f)["spec"].update(replicas=7),
              ("Deployment acme-prod/acme-prod-web", "changed", "spec.replicas")),
    "image": (lambda f: _container(f).update(image="evil.example.com/odoo:17.0"),
              ("Deployment acme-prod/acme-prod-web", "changed", "spec.template.spec.containers[odoo].image")),
    "env": (lambda f: next(e for e in _container(f)["env"] if e["name"] == "PGAPPNAME").update(value="x"),
            ("Deployment acme-prod/acme-prod-web", "changed",
             "spec.template.spec.containers[odoo].env[PGAPPNAME].value")),
    "env_added": (lambda f: _container(f)["env"].append({"name": "DEBUG", "value": "1"}),
                  ("Deployment acme-prod/acme-prod-web", "added", "spec.template.spec.containers[odoo].env[DEBUG]")),
    "container": (lambda f: _dep(f)["spec"]["template"]["spec"]["containers"].append(
        {"name": "sidecar", "image": "busybox:1"}),
        ("Deployment acme-prod/acme-prod-web", "added", "spec.template.spec.containers[sidecar]")),
    "resources": (lambda f: _container(f)["resources"]["limits"].update(memory="9Gi"),
                  ("Deployment acme-prod/acme-prod-web", "changed",
                   "spec.template.spec.containers[odoo].resources.limits.memory")),
    "label": (lambda f: _dep(f)["metadata"]["labels"].update({"erpops.io/tenant": "other"}),
              ("Deployment acme-prod/acme-prod-web", "changed", 'metadata.labels["erpops.io/tenant"]')),
    "annotation": (lambda f: _dep(f)["spec"]["template"]["metadata"]["annotations"].update(
        {rd.ANN_CONFIG_HASH: "0"}), ("Deployment acme-prod/acme-prod-web", "changed",
                                     'spec.template.metadata.annotations["erpops.io/config-hash"]')),
    "middleware": (lambda f: f.obj("Middleware", "acme-prod", "acme-prod-ratelimit")["spec"]["rateLimit"].update(
        average=1), ("Middleware acme-prod/acme-prod-ratelimit", "changed", "spec.rateLimit.average")),
    "ingress_rule": (lambda f: f.obj("IngressRoute", "acme-prod", "acme-prod")["spec"]["routes"][-1].update(
        match="Host(`evil.test`)"), ("IngressRoute acme-prod/acme-prod", "changed", "spec.routes[3].match")),
    "route_removed": (lambda f: f.obj("IngressRoute", "acme-prod", "acme-prod")["spec"]["routes"].pop(0),
                      ("IngressRoute acme-prod/acme-prod", "changed", "spec.routes")),
    "service_deleted": (lambda f: f.objects.pop(("Service", "acme-prod", "acme-prod-http")),
                        ("Service acme-prod/acme-prod-http", "missing", "")),
    "unmanaged": (lambda f: f.put({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": "miner", "namespace": "acme-prod"}, "spec": {"template": {"spec": {"containers": [
            {"name": "m", "image": "miner:1"}]}}}}), ("Deployment acme-prod/miner", "unmanaged", "")),
    "orphaned": (lambda f: f.put({"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "acme-prod-old", "namespace": "acme-prod", "labels": {
            rd.LABEL_MANAGED_BY: rd.MANAGER, rd.LABEL_INSTANCE: "acme-prod"}}, "spec": {}}),
        ("Service acme-prod/acme-prod-old", "orphaned", "")),
}


@pytest.mark.parametrize("what", sorted(INJECTIONS))
def test_injected_drift_is_named(estate, what):
    fake, specs = estate
    inject, expected = INJECTIONS[what]
    inject(fake)
    items = _check(fake, specs)["items"]
    assert _paths(items) == {expected}
    item = items[0]
    assert item["tenant"] == "acme" and item["source"] == "kubernetes"


def test_namespace_deleted_reports_every_object_missing_with_one_list(estate):
    fake, specs = estate
    for key in [k for k in fake.objects if k[1] == "initech-prod" or k == ("Namespace", None, "initech-prod")]:
        fake.objects.pop(key)
    items = _check(fake, specs)["items"]
    assert {i["change"] for i in items} == {"missing"}
    assert len(items) == len(rd.render(specs[2]))
    assert fake.calls["list"] == 1 + 2 * NAMESPACED_KINDS  # nothing listed in the missing namespace


def test_controller_and_system_objects_are_not_unmanaged(estate):
    fake, specs = estate
    fake.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt",
                                                                     "namespace": "acme-prod"}, "data": {}})
    fake.put({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "acme-prod"}})
    fake.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "acme-prod-releases", "namespace": "acme-prod",
        "labels": {rd.LABEL_MANAGED_BY: rd.MANAGER, rd.LABEL_INSTANCE: "acme-prod", rd.LABEL_RELEASES: "true"}}})
    fake.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "x", "namespace": "acme-prod", "ownerReferences": [{"kind": "Foo", "name": "y"}]}})
    assert _check(fake, specs)["items"] == []
    fake.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "notes", "namespace": "acme-prod"}})
    assert [i["name"] for i in _check(fake, specs)["items"]] == ["notes"]
    assert _check(fake, specs, report_unmanaged=False)["items"] == []
    excluded = _check(fake, specs, unmanaged_exclude=[{"kind": "ConfigMap", "name": "not*"}])
    assert excluded["items"] == []


def test_hpa_owned_replicas_ignored_by_default(fake):
    specs = [spec_for("acme", web={"autoscaling": {"enabled": True}})]
    deploy(fake, specs)
    _dep(fake)["spec"]["replicas"] = 5  # the HPA scaled it
    out = _check(fake, specs)
    assert out["items"] == []  # the rendered Deployment does not set replicas with an HPA...
    # ...and even a desired object that does is not reported when the instance's HPA scales it
    from ansible_collections.erpops.odoo.plugins.module_utils.drift import compare as cmp

    kd = KubeDrift(Engine(fake))
    rules = kd._instance_rules(rd.render(specs[0]))
    assert rules.ignored("Deployment", "acme-prod", "acme-prod-web", cmp.parse("spec.replicas"))
    assert not rules.ignored("Deployment", "acme-prod", "acme-prod-cron", cmp.parse("spec.replicas"))


def test_user_ignore_rules(estate):
    fake, specs = estate
    _container(fake)["image"] = "other:1"
    _dep(fake)["spec"]["replicas"] = 9
    from ansible_collections.erpops.odoo.plugins.module_utils.drift import compare as cmp

    rules = cmp.IgnoreRules([{"kind": "Deployment", "paths": ["spec.template.spec.containers[*].image"],
                              "name": "*-web", "reason": "image pinned by CD"}])
    out = KubeDrift(Engine(fake), ignore=rules).check(specs)
    assert _paths(out["items"]) == {("Deployment acme-prod/acme-prod-web", "changed", "spec.replicas")}
    assert out["ignored"] == [{"resource": "Deployment acme-prod/acme-prod-web",
                               "path": "spec.template.spec.containers[odoo].image", "reason": "image pinned by CD"}]


def test_secret_values_are_redacted():
    from ansible_collections.erpops.odoo.plugins.module_utils.drift.kube import redact_value

    assert redact_value("Secret", "data.password", "c2VjcmV0") == "<redacted>"
    assert redact_value("ConfigMap", "data.x", "v") == "v"


# -- remediation through the deploy engine ----------------------------------------------
def test_remediation_clears_kubernetes_drift_and_reports_the_rest(estate):
    fake, specs = estate
    for what in ("scale", "image", "env", "container", "middleware", "service_deleted", "unmanaged", "orphaned"):
        INJECTIONS[what][0](fake)
    drift = check.DriftRun(Engine(fake))
    res = check.execute(drift, specs, remediate=True, pg_fetch=lambda q, p: [
        ("work_mem", "8192", "kB", "integer", False, "configuration file")], pg_settings={"work_mem": "4MB"})
    assert res["drifted"] and res["changed"]
    left = {(i["resource"], i["change"]) for i in res["unremediated"]}
    assert left == {("Deployment acme-prod/miner", "unmanaged"), ("postgresql setting work_mem", "changed")}
    assert all(i["reason"] for i in res["unremediated"])
    assert len(res["remediated"]) == 7
    sidecars = [c["name"] for c in _dep(fake)["spec"]["template"]["spec"]["containers"]]
    assert sidecars == ["odoo"]
    assert ("Service", "acme-prod", "acme-prod-old") not in fake.objects  # pruned by the deploy engine
    after = _check(fake, specs)
    assert _paths(after["items"]) == {("Deployment acme-prod/miner", "unmanaged", "")}
    # a release was recorded by the deploy path
    assert ("ConfigMap", "acme-prod", "acme-prod-releases") in fake.objects


def test_remediation_deletes_unmanaged_only_when_asked(estate):
    fake, specs = estate
    INJECTIONS["unmanaged"][0](fake)
    res = check.execute(check.DriftRun(Engine(fake)), specs, remediate=True, delete_unmanaged=True)
    assert res["unremediated"] == [] and [i["remediation"] for i in res["remediated"]] == ["deleted"]
    assert ("Deployment", "acme-prod", "miner") not in fake.objects


def test_remediation_in_check_mode_changes_nothing(estate):
    fake, specs = estate
    INJECTIONS["scale"][0](fake)
    INJECTIONS["container"][0](fake)
    before = copy.deepcopy(fake.objects)
    res = check.execute(check.DriftRun(Engine(fake, check_mode=True)), specs, remediate=True, check_mode=True)
    assert res["changed"] and len(res["remediated"]) == 2
    assert fake.objects == before
    assert fake.calls["apply"] == 0

