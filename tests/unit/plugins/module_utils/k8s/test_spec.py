"""Unit tests of the instance spec model (plugins/module_utils/k8s/spec.py)."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import spec as sp
from hypothesis import given
from hypothesis import strategies as st


def _with(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    cur = out
    *parents, last = path.split(".")
    for p in parents:
        cur = cur.setdefault(p, {})
    cur[last] = value
    return out


def test_defaults_and_derived_names(base_spec: dict[str, Any]) -> None:
    s = sp.normalize(base_spec)
    assert s["instance"] == "acme-prod"
    assert s["namespace"] == "acme-prod"
    assert s["create_namespace"] is True
    assert s["odoo_conf"]["max_cron_threads"] == 0
    assert s["odoo_conf"]["workers"] == s["web"]["workers"]
    assert s["odoo_conf"]["proxy_mode"] is True and s["odoo_conf"]["list_db"] is False
    assert s["odoo_conf"]["dbfilter"] == "^acme$"
    assert s["termination_grace_seconds"] == sp.DEFAULT_TIME_REAL + 30


def test_normalize_is_idempotent(base_spec: dict[str, Any]) -> None:
    once = sp.normalize(base_spec)
    assert sp.normalize(once) == once


def test_dedicated_does_not_create_namespace(base_spec: dict[str, Any]) -> None:
    s = sp.normalize(dict(base_spec, tenancy="dedicated", namespace="odoo"))
    assert s["create_namespace"] is False and s["namespace"] == "odoo"


@pytest.mark.parametrize(("path", "value", "field"), [
    ("odoo_conf.wokers", 4, "odoo_conf"),                       # unknown odoo.conf option
    ("odoo_conf.db_password", "x", "odoo_conf"),                # secret in the ConfigMap
    ("odoo_conf.workers", 9, "odoo_conf.workers"),              # conflicts with web.workers
    ("web.resources.limits.memory", "2GG", "web.resources.limits.memory"),
    ("web.resources.requests.cpu", "-1", "web.resources.requests.cpu"),
    ("cron.resources.limits.cpu", "", "cron.resources.limits.cpu"),
    ("filestore.size", "ten gigs", "filestore.size"),
    ("quota", {"limits.cpu": "1x"}, "quota.limits.cpu"),
    ("image", "Registry/Odoo:17", "image"),
    ("image", "odoo", "image"),                                 # no tag, no digest
    ("image", "odoo:17.0@sha256:abc", "image"),
    ("image_digest", "md5:00", "image_digest"),
    ("hostnames", ["ERP.example.com"], "hostnames[0]"),
    ("hostnames", ["a.example.com", "a.example.com"], "hostnames"),
    ("tenant", "Acme", "tenant"),
    ("web.replicas", "two", "web.replicas"),
    ("web.workers", 8, "web.workers"),                          # 8 x 600Mi + gevent > 3Gi
    ("odoo_conf.limit_memory_hard", 4294967296, "odoo_conf.limit_memory_hard"),
    ("tls.mode", "acme", "tls.mode"),
    ("ingress.admin_allow_cidrs", ["10.0.0.0/33"], "ingress.admin_allow_cidrs"),
    ("database.password_secret", {"name": "Bad_Name"}, "database.password_secret.name"),
    ("database.host", "", "database.host"),
    ("web.autoscaling.max_replicas", 1, "web.autoscaling.max_replicas"),
    ("colour", "blue", "colour"),
    ("web.replica", 2, "web.replica"),
    ("env", {"1BAD": "x"}, "env.1BAD"),
    ("pod_labels", {"lab.erpops.io/fail": True}, "pod_labels.lab.erpops.io/fail"),
])
def test_bad_input_names_tenant_field_value(base_spec: dict[str, Any], path: str, value: Any, field: str) -> None:
    with pytest.raises(sp.SpecError) as err:
        sp.normalize(_with(base_spec, path, value))
    msg = str(err.value)
    tenant = value if path == "tenant" else "acme"
    assert msg.startswith("tenant %r: field '%s'" % (tenant, field)), msg
    if field != "odoo_conf" and value not in (None, "") and not isinstance(value, (dict, list)):
        assert repr(value) in msg or str(value) in msg, msg


def test_workers_fit_cpu(base_spec: dict[str, Any]) -> None:
    spec = _with(base_spec, "web.resources", {"limits": {"cpu": "1", "memory": "8Gi"}})
    spec["web"]["workers"] = 4
    with pytest.raises(sp.SpecError, match=r"at most 3 workers for web.resources.limits.cpu 1"):
        sp.normalize(spec)
    spec["web"]["workers"] = 3
    assert sp.normalize(spec)["web"]["workers"] == 3


def test_workers_fit_memory_message_has_numbers(base_spec: dict[str, Any]) -> None:
    spec = _with(base_spec, "odoo_conf", {"limit_memory_soft": "1G", "limit_memory_hard": "2G"})
    spec["web"] = {"workers": 3, "resources": {"limits": {"cpu": "4", "memory": "3Gi"}}}
    with pytest.raises(sp.SpecError) as err:
        sp.normalize(spec)
    assert "3 workers x limit_memory_soft 1073741824" in str(err.value)


def test_image_digest_is_kept(base_spec: dict[str, Any]) -> None:
    digest = "sha256:" + "a" * 64
    assert sp.normalize(dict(base_spec, image="odoo:17.0@" + digest))["image_digest"] == digest
    assert sp.normalize(dict(base_spec, image_digest=digest))["image_digest"] == digest
    with pytest.raises(sp.SpecError, match="image_digest"):
        sp.normalize(dict(base_spec, image="odoo:17.0@" + digest, image_digest="sha256:" + "b" * 64))


@pytest.mark.parametrize("ref", [
    "odoo:17.0", "docker.io/library/odoo:17.0", "localhost:5000/erp/odoo:17.0-20240101",
    "registry.example.com/odoo@sha256:" + "0" * 64, "ghcr.io/acme/odoo-custom:v1.2.3",
])
def test_image_references_accepted(ref: str) -> None:
    assert sp.parse_image(ref)["path"]


@pytest.mark.parametrize(("value", "expected"), [
    ("500m", 0.5), ("2", 2.0), (2, 2.0), ("1Gi", 1024 ** 3), ("512Mi", 512 * 1024 ** 2), ("1e3", 1000.0),
    ("1.5", 1.5), ("100k", 1e5),
])
def test_quantities(value: Any, expected: float) -> None:
    assert sp.parse_quantity(value) == pytest.approx(expected)


@given(st.text(max_size=12))
def test_quantity_never_crashes(text: str) -> None:
    with contextlib.suppress(ValueError):
        assert sp.parse_quantity(text) == sp.parse_quantity(text)


def test_fleet_hostname_used_by_two_tenants(base_spec: dict[str, Any]) -> None:
    other = dict(copy.deepcopy(base_spec), tenant="globex")
    with pytest.raises(sp.SpecError) as err:
        sp.check_fleet([base_spec, other])
    assert str(err.value) == ("tenant 'globex': field 'hostnames': hostname 'erp.acme.test' is already used by "
                              "tenant 'acme' (instance 'acme-prod')")


def test_fleet_ok(base_spec: dict[str, Any]) -> None:
    other = dict(copy.deepcopy(base_spec), tenant="globex", hostnames=["erp.globex.test"])
    assert [s["instance"] for s in sp.check_fleet([base_spec, other])] == ["acme-prod", "globex-prod"]
