"""Risk classification rules."""

from __future__ import annotations

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.policy import risk
from ansible_collections.erpops.odoo.plugins.module_utils.policy.errors import PolicyError


def change(kinds: list[str], environment: str = "production", tenants: int = 1, **kw: object) -> dict:
    return {"id": "CHG-1", "kinds": kinds, "environment": environment, "author": "dev@erpops.example",
            "tenants": ["t%d" % i for i in range(tenants)], **kw}


@pytest.mark.parametrize(("kinds", "environment", "tenants", "expected"), [
    (["odoo_conf"], "production", 1, "low"),
    (["odoo_conf"], "staging", 1, "low"),
    (["image"], "production", 1, "medium"),
    (["modules_update"], "production", 1, "medium"),
    (["credentials"], "production", 1, "medium"),
    (["modules_install"], "production", 1, "high"),
    (["db_migration"], "production", 1, "high"),
    (["image", "db_migration"], "production", 1, "high"),
    (["infrastructure"], "production", 1, "high"),
    (["db_migration", "infrastructure"], "production", 1, "critical"),
    (["db_migration"], "staging", 1, "medium"),
    (["image"], "staging", 9, "medium"),  # wide change escalates low -> medium
    (["db_migration"], "production", 5, "critical"),
    (["db_migration"], "production", 4, "high"),
    (["db_migration", "infrastructure"], "production", 7, "critical"),  # capped
])
def test_default_rules(kinds: list[str], environment: str, tenants: int, expected: str) -> None:
    assert risk.classify(change(kinds, environment, tenants)).risk_class == expected


def test_reasons_name_the_rules() -> None:
    result = risk.classify(change(["db_migration"], tenants=6))
    assert result.reasons == (
        "base class low",
        "rule 'production-db-migration' (at least high): low -> high",
        "rule 'many-tenants' (escalate by 1): high -> critical",
    )


def test_custom_rules_in_order_with_set_and_stop() -> None:
    rules = [
        {"name": "vip", "when": {"tenants": ["t0"]}, "at_least": "high"},
        {"name": "rollback is routine", "when": {"operations": ["rollback"]}, "set": "medium", "stop": True},
        {"name": "never reached for rollbacks", "when": {}, "escalate": 1},
    ]
    assert risk.classify(change(["image"]), rules).risk_class == "critical"
    assert risk.classify(change(["image"], operation="rollback"), rules).risk_class == "medium"
    assert risk.classify(change(["image"], tenants=0), rules, base="medium").risk_class == "high"


@pytest.mark.parametrize(("data", "match"), [
    ("nope", r"change: expected a mapping"),
    ({"kinds": ["image"], "environment": "production", "author": "a"}, r"change\.id: expected an identifier"),
    (change([]), r"change\.kinds: expected a non-empty list"),
    (change(["images"]), r"change\.kinds\[0\]: expected one of image, .*got 'images'"),
    (change(["image"], environment=""), r"change\.environment: expected an environment name"),
    ({**change(["image"]), "author": None}, r"change\.author: expected the author's identity"),
    (change(["image"], operation="yolo"), r"change\.operation: expected one of deploy"),
    (change(["image"], duration_minutes=0), r"change\.duration_minutes: expected an integer"),
    ({**change(["image"]), "tenant": ["x"]}, r"change: unknown key 'tenant'"),
    ({**change(["image"]), "tenants": ["bad tenant"]}, r"change\.tenants\[0\]: expected a name"),
])
def test_bad_changes(data: object, match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        risk.classify(data)


@pytest.mark.parametrize(("rules", "match"), [
    ([{"name": "x", "when": {}, "at_least": "huge"}], r"risk\.rules\[0\]\.at_least: expected one of low"),
    ([{"name": "x", "when": {"kind": ["image"]}, "at_least": "low"}], r"unknown condition 'kind'"),
    ([{"name": "x", "when": {}}], r"risk\.rules\[0\]: expected exactly one of at_least, set, escalate"),
    ([{"name": "x", "when": {}, "escalate": 7}], r"escalate: expected an integer between 1 and 3"),
    ([{"name": "x", "when": {"min_tenants": 0}, "escalate": 1}], r"min_tenants: expected a positive integer"),
    ("rules", r"risk\.rules: expected a list"),
])
def test_bad_rules(rules: object, match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        risk.load_rules(rules)
