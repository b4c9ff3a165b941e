"""Integration inventory validation, selection and the overdue report."""

from __future__ import annotations

import copy
import datetime

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.rotation import inventory
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.core import RotationError

NOW = datetime.datetime(2026, 12, 3, tzinfo=datetime.UTC)
BASE = [
    {"name": "odoo-db", "owner": "platform", "systems": ["odoo"], "backend": "postgresql",
     "store": {"type": "secretsmanager", "secret_id": "prod/db"},
     "target": {"host": "db", "user_prefix": "odoo"}, "admin_credentials": "pg",
     "rotation_period_days": 30, "last_rotation": "2026-10-01"},
    {"name": "payroll-api", "owner": "hr", "systems": ["payroll"], "backend": "api_key",
     "store": {"type": "kubernetes", "namespace": "odoo", "name": "payroll"}, "rotation_period_days": 60,
     "last_rotation": "2026-11-20"},
    {"name": "dms-api", "owner": "docs", "systems": ["dms"], "backend": "api_key",
     "store": {"type": "secretsmanager", "secret_id": "prod/dms"}, "rotation_period_days": 90},
]
ADMIN = {"pg": ["admin_user", "admin_password"]}


def entries():
    return copy.deepcopy(BASE)


def test_valid_inventory_passes():
    assert [e["name"] for e in inventory.validate(entries(), ADMIN)] == ["odoo-db", "payroll-api", "dms-api"]


@pytest.mark.parametrize(("mutate", "admin", "message"), [
    (lambda e: e[0].pop("admin_credentials"), ADMIN, "odoo-db: missing admin credentials: set admin_credentials"),
    (lambda e: None, {}, "odoo-db: missing admin credentials: reference 'pg' is not defined"),
    (lambda e: None, {"pg": ["admin_user"]}, "odoo-db: missing admin credentials: pg has no admin_password"),
    (lambda e: e[1].pop("owner"), ADMIN, "payroll-api: missing owner"),
    (lambda e: e[1].update(backend="ldap"), ADMIN, "payroll-api: unknown backend 'ldap'"),
    (lambda e: e[2]["store"].pop("secret_id"), ADMIN, "dms-api: store.secret_id is required"),
    (lambda e: e[1]["store"].pop("name"), ADMIN, "payroll-api: store.namespace and store.name are required"),
    (lambda e: e[0]["target"].update(admin_password="x"), ADMIN, "odoo-db: target must not hold secrets"),
    (lambda e: e[0]["target"].pop("user_prefix"), ADMIN, "odoo-db: target.user_prefix is required"),
    (lambda e: e[2].update(rotation_period_days=0), ADMIN, "dms-api: rotation_period_days must be"),
    (lambda e: e[2].update(last_rotation="yesterday"), ADMIN, "dms-api: last_rotation not a date"),
    (lambda e: e.append(copy.deepcopy(e[2])), ADMIN, "dms-api: duplicate integration name"),
    (lambda e: e[2].update(colour="red"), ADMIN, "dms-api: unknown key"),
    (lambda e: e[2].update(name="DMS API"), ADMIN, "name must be lower-case"),
])
def test_problems_are_named(mutate, admin, message):
    data = entries()
    mutate(data)
    with pytest.raises(RotationError, match="invalid integration inventory") as err:
        inventory.validate(data, admin)
    assert message in str(err.value)


def test_all_problems_in_one_message():
    data = entries()
    data[0].pop("admin_credentials")
    data[1].pop("owner")
    with pytest.raises(RotationError) as err:
        inventory.validate(data, ADMIN)
    assert "odoo-db" in str(err.value) and "payroll-api" in str(err.value)


def test_report_marks_overdue_and_prefers_the_store():
    rows = {r["name"]: r for r in inventory.report(entries(), NOW, {
        "payroll-api": datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC)})}
    assert rows["odoo-db"]["overdue"] and rows["odoo-db"]["age_days"] == 63
    assert rows["odoo-db"]["last_rotation_source"] == "inventory"
    assert rows["payroll-api"]["overdue"] and rows["payroll-api"]["last_rotation_source"] == "store"
    assert rows["dms-api"]["overdue"] and rows["dms-api"]["last_rotation_source"] == "unknown"
    fresh = inventory.report(entries()[1:2], NOW)[0]
    assert not fresh["overdue"] and fresh["next_due"] == "2027-01-19T00:00:00Z"
    assert inventory.format_report(inventory.report(entries(), NOW))[1].startswith("odoo-db")


@pytest.mark.parametrize(("selectors", "expected"), [
    (["overdue"], ["odoo-db", "dms-api"]),
    (["all"], ["odoo-db", "payroll-api", "dms-api"]),
    ("none", []),
    ("payroll-api, odoo-db", ["odoo-db", "payroll-api"]),
    (["overdue", "payroll-api"], ["odoo-db", "payroll-api", "dms-api"]),
])
def test_select(selectors, expected):
    assert inventory.select(entries(), selectors, ["odoo-db", "dms-api"]) == expected


def test_unknown_integration_is_named():
    with pytest.raises(RotationError, match=r"unknown integration\(s\) erp-sync; known: odoo-db, payroll-api, dms-api"):
        inventory.select(entries(), ["erp-sync"], [])
