"""Paths, ignore rules and the restricted comparison (pure functions)."""

from __future__ import annotations

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.drift import compare as cmp
from ansible_collections.erpops.odoo.plugins.module_utils.drift.errors import DriftError
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize("text", [
    "spec.replicas", "spec.template.spec.containers[odoo].image", 'metadata.annotations["erpops.io/config-hash"]',
    "spec.routes[3].match", 'metadata.labels["a.b/c"]', "spec.template.spec.containers[*].env[*].value",
])
def test_parse_fmt_roundtrip(text):
    assert cmp.fmt(cmp.parse(text)) == text


@given(st.lists(st.text(min_size=1, max_size=12).filter(lambda s: '"' not in s and "\\" not in s),
                min_size=1, max_size=5))
def test_any_key_roundtrips(keys):
    path = tuple(("k", k) for k in keys)
    assert cmp.parse(cmp.fmt(path)) == path


@pytest.mark.parametrize("bad", ["", ".spec", "spec..x", "spec[", 'a["unterminated]'])
def test_parse_rejects(bad):
    with pytest.raises(DriftError):
        cmp.parse(bad)


@pytest.mark.parametrize(("pattern", "path", "hit"), [
    ("spec.replicas", "spec.replicas", True),
    ("spec", "spec.replicas", True),
    ("spec.template.spec.containers[*].image", "spec.template.spec.containers[odoo].image", True),
    ("spec.template.spec.containers[*]", "spec.template.spec.containers[odoo].env[X].value", True),
    ("spec.*.spec", "spec.template.spec.x", True),
    ("spec.replicas", "spec.selector", False),
    ("spec.template.spec.containers[cron].image", "spec.template.spec.containers[odoo].image", False),
    ("spec.template.spec.containers.x", "spec.template.spec.containers[odoo]", False),
])
def test_matches(pattern, path, hit):
    assert cmp.matches(cmp.parse(pattern), cmp.parse(path)) is hit


def test_ignore_rules_validation():
    with pytest.raises(DriftError, match="unknown keys"):
        cmp.IgnoreRules([{"kind": "Deployment", "paths": ["spec"], "bogus": 1}])
    with pytest.raises(DriftError, match="paths"):
        cmp.IgnoreRules([{"kind": "Deployment", "paths": []}])
    rules = cmp.IgnoreRules([{"kind": "*", "paths": "metadata.labels", "namespace": "acme-*"}])
    assert rules.ignored("Service", "acme-prod", "x", cmp.parse('metadata.labels["a"]')) == "user rule"
    assert rules.ignored("Service", "globex", "x", cmp.parse('metadata.labels["a"]')) is None


def _d(desired, dry, live):
    return [(cmp.fmt(d["path"]), d["change"], d["desired"], d["live"]) for d in cmp.diff(desired, dry, live)]


def test_defaults_and_unowned_fields_never_reported():
    desired = {"spec": {"a": 1, "c": [{"name": "x", "v": 1}]}}
    dry = {"spec": {"a": 1, "b": "default", "c": [{"name": "x", "v": 1, "d": "default"}]}, "status": {}}
    live = {"spec": {"a": 1, "b": "other", "c": [{"name": "x", "v": 1, "d": "other"}]}, "status": {"x": 1}}
    assert _d(desired, dry, live) == []


def test_dry_run_value_wins_over_rendered_form():
    # the API normalises 1 CPU; the dry-run result and live agree, the rendered text does not
    assert _d({"cpu": "1000m"}, {"cpu": "1"}, {"cpu": "1"}) == []
    assert _d({"cpu": "1000m"}, {"cpu": "1"}, {"cpu": "2"}) == [("cpu", "changed", "1", "2")]


def test_named_lists_by_name_not_position():
    desired = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
    live = {"env": [{"name": "B", "value": "2"}, {"name": "C", "value": "3"}, {"name": "A", "value": "9"}]}
    assert _d(desired, desired, live) == [("env[A].value", "changed", "1", "9"),
                                          ("env[C]", "added", None, {"name": "C", "value": "3"})]
    assert _d(desired, desired, {"env": [{"name": "A", "value": "1"}]}) == [
        ("env[B]", "removed", {"name": "B", "value": "2"}, None)]


def test_unnamed_lists():
    assert _d({"r": [{"m": "a"}, {"m": "b"}]}, None, {"r": [{"m": "a", "x": 1}, {"m": "c"}]}) == [
        ("r[1].m", "changed", "b", "c")]
    assert _d({"r": [{"m": "a"}]}, None, {"r": []}) == [("r", "changed", [{"m": "a"}], [])]
    assert _d({"s": ["a", "b"]}, None, {"s": ["b", "a"]}) == [("s", "changed", ["a", "b"], ["b", "a"])]
    assert _d({"s": ["a"]}, None, {}) == [("s", "changed", ["a"], None)]


def test_scalar_types():
    assert _d({"n": 1}, None, {"n": 1.0}) == []
    assert _d({"b": True}, None, {"b": 1}) == [("b", "changed", True, 1)]
    assert _d({"x": {"y": 1}}, None, {"x": "str"}) == [("x", "changed", {"y": 1}, "str")]


def test_value_at():
    obj = {"spec": {"containers": [{"name": "odoo", "image": "i"}], "routes": [{"m": 1}]}}
    assert cmp.value_at(obj, cmp.parse("spec.containers[odoo].image")) == "i"
    assert cmp.value_at(obj, cmp.parse("spec.routes[0].m")) == 1
    assert cmp.value_at(obj, cmp.parse("spec.containers[nope]")) is cmp.MISSING
