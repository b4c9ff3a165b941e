"""Maintenance Jobs (update, neutralize) against an in-memory engine: cron first, idempotence, check mode."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import instance
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import render as rd
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import spec as sp
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.apply import ApplyError


class MemEngine:
    """The slice of ``apply.Engine`` that ``run_job`` uses, over a dict of objects."""

    def __init__(self, check_mode: bool = False, job_fails: bool = False) -> None:
        self.check_mode = check_mode
        self.job_fails = job_fails
        self.objs: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.calls: list[str] = []

    def put(self, obj: dict[str, Any]) -> None:
        m = obj["metadata"]
        self.objs[(obj["kind"], m.get("namespace", ""), m["name"])] = obj

    def get(self, api: str, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        return self.objs.get((kind, namespace, name))

    def patch(self, obj: dict[str, Any], patch: dict[str, Any]) -> None:
        self.calls.append("patch %s %s" % (obj["kind"], patch))
        if not self.check_mode:
            obj["spec"].update(patch["spec"])

    def wait_pods_gone(self, namespace: str, selector: str, timeout: float) -> None:
        self.calls.append("wait-gone %s" % selector)

    def create(self, obj: dict[str, Any]) -> None:
        self.calls.append("create %s %s" % (obj["kind"], obj["metadata"]["name"]))
        if not self.check_mode:
            self.put(obj)

    def delete(self, obj: dict[str, Any]) -> None:
        self.calls.append("delete %s" % obj["metadata"]["name"])
        m = obj["metadata"]
        self.objs.pop((obj["kind"], m.get("namespace", ""), m["name"]), None)

    def wait_job(self, job: dict[str, Any], timeout: float) -> None:
        self.calls.append("wait-job %s" % job["metadata"]["name"])
        if self.job_fails:
            job["status"] = {"failed": 1}
            raise ApplyError("Job %s failed: BackoffLimitExceeded" % job["metadata"]["name"], {"job": "x"})
        job["status"] = {"succeeded": 1}


@pytest.fixture
def deployed(base_spec: dict[str, Any]) -> tuple[MemEngine, dict[str, Any]]:
    s = sp.normalize(base_spec)
    eng = MemEngine()
    eng.put({"kind": "Namespace", "metadata": {"name": s["namespace"]}})
    for obj in rd.render(s):
        if obj["kind"] == "Deployment":
            eng.put(obj)
    for ref in rd.secret_refs(s):
        eng.put({"kind": "Secret", "metadata": {"name": ref["name"], "namespace": s["namespace"]},
                 "data": {ref["key"]: "eA=="}})
    return eng, s


def test_neutralize_stops_cron_before_the_job_then_is_idempotent(deployed) -> None:
    eng, s = deployed
    cron = eng.get("apps/v1", "Deployment", rd.names(s)["cron"], s["namespace"])
    assert cron["spec"]["replicas"] != 0
    res = instance.neutralize(eng, s, "b1")
    assert res["status"] == "succeeded" and res["changed"] and res["cron_stopped"]
    assert cron["spec"]["replicas"] == 0
    order = [c.split()[0] for c in eng.calls]
    assert order == ["patch", "wait-gone", "create", "wait-job"]
    assert "odoo neutralize -c /etc/odoo/odoo.conf -d acme" in res["diff"][0]["after"]
    eng.calls.clear()
    again = instance.neutralize(eng, s, "b1")
    assert again["status"] == "succeeded" and not again["changed"]
    assert not any(c.startswith(("create", "patch")) for c in eng.calls)


def test_check_mode_plans_and_runs_nothing(deployed) -> None:
    eng, s = deployed
    eng.check_mode = True
    res = instance.neutralize(eng, s, "b1")
    assert res["status"] == "planned" and res["changed"]
    assert eng.get("batch/v1", "Job", "acme-prod-neutralize-b1", s["namespace"]) is None
    assert eng.get("apps/v1", "Deployment", rd.names(s)["cron"], s["namespace"])["spec"]["replicas"] != 0


def test_failed_job_is_reported_and_replaced_on_the_next_run(deployed) -> None:
    eng, s = deployed
    eng.job_fails = True
    with pytest.raises(instance.InstanceError, match="BackoffLimitExceeded") as err:
        instance.neutralize(eng, s, "b1")
    assert err.value.result["status"] == "failed" and err.value.result["job"] == "acme-prod-neutralize-b1"
    eng.job_fails = False
    eng.calls.clear()
    res = instance.neutralize(eng, s, "b1")
    assert res["status"] == "succeeded"
    assert "delete acme-prod-neutralize-b1" in eng.calls and "create Job acme-prod-neutralize-b1" in eng.calls


def test_missing_secret_refused_before_anything(deployed) -> None:
    eng, s = deployed
    for key in [k for k in eng.objs if k[0] == "Secret"]:
        del eng.objs[key]
    with pytest.raises(sp.SpecError, match="not found"):
        instance.neutralize(eng, s, "b1")
    assert eng.calls == []


def test_cron_stopped_then_running_at_the_spec_replicas(deployed) -> None:
    eng, s = deployed
    dep = eng.get("apps/v1", "Deployment", rd.names(s)["cron"], s["namespace"])
    want = dep["spec"]["replicas"]
    eng.wait_deployments = lambda deps, timeout: eng.calls.append("wait-rollout %s" % deps[0]["metadata"]["name"])
    res = instance.cron(eng, s, "stopped")
    assert res["changed"] and dep["spec"]["replicas"] == 0 and res["diff"]["before"] == {"replicas": want}
    assert not instance.cron(eng, s, "stopped")["changed"]
    res = instance.cron(eng, s, "running")
    assert res["changed"] and dep["spec"]["replicas"] == want == res["replicas"]
    assert eng.calls[-1] == "wait-rollout acme-prod-cron"
    assert not instance.cron(eng, s, "running")["changed"]


def test_cron_of_an_instance_not_deployed_is_a_clear_error(base_spec: dict[str, Any]) -> None:
    with pytest.raises(instance.InstanceError, match="not found: deploy the instance first"):
        instance.cron(MemEngine(), base_spec, "stopped")
