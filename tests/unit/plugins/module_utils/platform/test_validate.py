"""Estate validation: every bad input is refused before any AWS call, naming field and value."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.platform import validate
from ansible_collections.erpops.odoo.plugins.module_utils.platform.errors import PlatformError
from hypothesis import given
from hypothesis import strategies as st

ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
GOOD: dict[str, Any] = {
    "name": "erpops-prod",
    "region": "eu-west-1",
    "vpc_cidr": "10.40.0.0/16",
    "zones": list(ZONES),
    "private_subnets": ["10.40.0.0/19", "10.40.32.0/19", "10.40.64.0/19"],
    "public_subnets": ["10.40.96.0/22", "10.40.100.0/22", "10.40.104.0/22"],
    "service_cidr": "172.20.0.0/16",
    "endpoint_private_access": True,
    "endpoint_public_access": False,
    "logging": ["api", "audit"],
    "nodegroups": [
        {"name": "odoo-web", "workload_class": "odoo-web", "instance_types": ["m6i.xlarge"],
         "min_size": 2, "desired_size": 3, "max_size": 12},
        {"name": "odoo-cron", "workload_class": "odoo-cron", "instance_types": ["m6i.large"],
         "min_size": 1, "desired_size": 1, "max_size": 3},
        {"name": "system", "workload_class": "system", "instance_types": ["t3.large", "t3a.large"],
         "min_size": 2, "desired_size": 2, "max_size": 4},
    ],
    "buckets": {"backups": {"name": "erpops-backups", "lifecycle": [{"id": "x", "expiration_days": 400}]},
                "attachments": {"name": "erpops-attachments"}},
    "secrets": [{"name": "erpops/odoo-master"}],
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    est = copy.deepcopy(GOOD)
    cur: Any = est
    keys = path.split(".")
    for k in keys[:-1]:
        cur = cur[int(k)] if isinstance(cur, list) else cur[k]
    last = keys[-1]
    if isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value
    return est


def test_good_estate_passes_and_plans_one_subnet_pair_per_zone() -> None:
    out = validate.validate_estate(GOOD, available_zones=ZONES)
    assert [s["zone"] for s in out["subnets"]] == ZONES
    assert out["subnets"][0] == {"zone": "eu-west-1a", "private": "10.40.0.0/19", "public": "10.40.96.0/22"}
    assert out["nodegroups"] == ["odoo-web", "odoo-cron", "system"]
    assert out["buckets"] == ["erpops-attachments", "erpops-backups"]


@pytest.mark.parametrize(("path", "value", "needle"), [
    ("private_subnets.1", "10.40.16.0/20", "overlaps"),                          # inside subnet 0
    ("public_subnets.2", "10.40.0.0/24", "overlaps"),
    ("private_subnets.0", "10.41.0.0/19", "inside vpc_cidr"),
    ("vpc_cidr", "10.40.0.1/16", "host bits"),
    ("vpc_cidr", "10.0.0.0/8", "between /16 and /28"),
    ("service_cidr", "10.40.128.0/17", "overlaps"),
    ("zones.2", "eu-west-1z", "available zone"),
    ("zones.2", "us-east-1a", "a zone of region eu-west-1"),
    ("zones.1", "eu-west-1a", "distinct zones"),
    ("zones", ["eu-west-1a", "eu-west-1b"], "at least 3"),
    ("nodegroups.0.instance_types", ["m6i.hugex"], "instance type"),
    ("nodegroups.0.instance_types", ["q9.large"], "unknown family 'q'"),
    ("nodegroups.0.instance_types", ["m6i"], "instance type"),
    ("nodegroups.1.name", "Odoo_Cron", "RFC 1123"),
    ("nodegroups.1.name", "odoo-web", "used once"),
    ("nodegroups.2.workload_class", "batch", "one of odoo-web"),
    ("nodegroups.0.min_size", 5, "min_size <= desired_size"),
    ("name", "Erpops_Prod", "RFC 1123"),
    ("region", "Europe", "AWS region"),
    ("buckets.backups.name", "Bad_Bucket", "S3 bucket name"),
    ("buckets.attachments.name", "erpops-backups", "used once"),
    ("buckets.backups.lifecycle.0.expiration_days", 0, "positive integer"),
    ("logging", ["everything"], "one of api"),
    ("secrets.0.name", "bad name!", "Secrets Manager name"),
])
def test_bad_estate_is_refused_naming_field_and_value(path: str, value: Any, needle: str) -> None:
    with pytest.raises(PlatformError) as exc:
        validate.validate_estate(with_change(path, value), available_zones=ZONES)
    assert needle in str(exc.value)


def test_missing_workload_class_is_refused() -> None:
    est = copy.deepcopy(GOOD)
    est["nodegroups"] = est["nodegroups"][:2]
    with pytest.raises(PlatformError, match="missing system"):
        validate.validate_estate(est)


def test_endpoint_needs_some_access() -> None:
    est = with_change("endpoint_private_access", False)
    with pytest.raises(PlatformError, match="private or public access"):
        validate.validate_estate(est)


def test_reserved_cidr_overlap() -> None:
    with pytest.raises(PlatformError, match=r"overlaps 10.40.0.0/24 \(reserved_cidrs.office\)"):
        validate.validate_estate(GOOD, reserved_cidrs={"office": "10.40.0.0/24"})


def test_every_problem_is_reported_at_once() -> None:
    est = with_change("vpc_cidr", "10.40.0.1/16")
    est["nodegroups"][0]["instance_types"] = ["m6i.hugex"]
    est["name"] = "Bad Name"
    with pytest.raises(PlatformError) as exc:
        validate.validate_estate(est)
    assert len(exc.value.errors) == 3
    assert "3 problems" in str(exc.value)


def test_offered_instance_types_are_exact() -> None:
    with pytest.raises(PlatformError, match="offered in the region"):
        validate.validate_estate(GOOD, offered_instance_types=["m6i.xlarge", "m6i.large"])
    validate.validate_estate(GOOD, offered_instance_types=["m6i.xlarge", "m6i.large", "t3.large", "t3a.large"])


@pytest.mark.parametrize("itype", ["m6i.xlarge", "t3a.medium", "c7gn.16xlarge", "r6id.metal", "inf2.48xlarge",
                                   "g5.2xlarge", "x2iedn.32xlarge", "m7i-flex.large", "u-6tb1.metal"])
def test_real_instance_types_are_accepted(itype: str) -> None:
    assert validate.instance_type_problem(itype) is None


def test_overlaps_lists_each_pair() -> None:
    import ipaddress

    nets = [("a", ipaddress.ip_network("10.0.0.0/16")), ("b", ipaddress.ip_network("10.0.1.0/24")),
            ("c", ipaddress.ip_network("10.0.2.0/24")), ("d", None)]
    assert validate.overlaps(nets) == ["CIDR 10.0.0.0/16 (a) overlaps 10.0.1.0/24 (b)",
                                       "CIDR 10.0.0.0/16 (a) overlaps 10.0.2.0/24 (c)"]


@given(st.text(max_size=70))
def test_dns_label_check_never_crashes_and_agrees_with_rfc1123(value: str) -> None:
    ok = validate.is_dns_label(value)
    if ok:
        assert value == value.lower() and len(value) <= 63
        assert value[0].isalnum() and value[-1].isalnum()
        assert all(c.isascii() and (c.isalnum() or c == "-") for c in value)
