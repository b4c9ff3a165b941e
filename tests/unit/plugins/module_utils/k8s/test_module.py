"""How the Kubernetes modules turn core errors into fail_json (one mapping for all of them)."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import apply as k8s_apply
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import module as k8s_module
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.instance import InstanceError
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.spec import SpecError


class Failed(Exception):
    pass


class FakeModule:
    params = {"kubeconfig": None, "context": None}
    check_mode = True

    def fail_json(self, **kw: Any) -> None:
        raise Failed(kw)


@pytest.fixture(autouse=True)
def no_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(k8s_apply, "new_client", lambda kubeconfig, context: object())


def _fail(exc: Exception, **kw: Any) -> dict[str, Any]:
    def call(engine: Any) -> dict[str, Any]:
        raise exc

    with pytest.raises(Failed) as err:
        k8s_module.run(FakeModule(), call, **kw)
    return err.value.args[0]


def test_result_of_the_call_with_a_check_mode_engine() -> None:
    assert k8s_module.run(FakeModule(), lambda engine: {"check_mode": engine.check_mode}) == {"check_mode": True}


def test_errors_are_mapped() -> None:
    assert _fail(SpecError("field 'x'")) == {"msg": "field 'x'", "changed": False}
    assert _fail(InstanceError("job failed", {"pods": []}, {"job": "j", "msg": "dropped"})) == {
        "msg": "job failed", "job": "j", "failure": {"pods": []}}
    assert _fail(InstanceError("rollout", {"d": 1}), failure_key="failed_resources") == {
        "msg": "rollout", "failed_resources": {"d": 1}}
    assert _fail(k8s_apply.ApplyError("403", {"why": "rbac"})) == {"msg": "403", "details": {"why": "rbac"}}
