"""PostgreSQL settings (unit normalisation), Patroni configuration and Odoo database drift."""

from __future__ import annotations

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.drift import odoo, patroni, pg
from ansible_collections.erpops.odoo.plugins.module_utils.drift.errors import DriftError


@pytest.mark.parametrize(("desired", "live", "vartype", "unit", "same"), [
    ("128MB", "16384", "integer", "8kB", True),
    ("128MB", "16385", "integer", "8kB", False),
    (16384, "16384", "integer", "8kB", True),
    ("1GB", "131072", "integer", "8kB", True),
    ("4MB", "4096", "integer", "kB", True),
    ("4096kB", "4096", "integer", "kB", True),
    ("1min", "60000", "integer", "ms", True),
    ("60s", "60000", "integer", "ms", True),
    ("5min", "300", "integer", "s", True),
    ("1h", "60", "integer", "min", True),
    ("-1", "-1", "integer", "ms", True),
    ("0", "0", "integer", "ms", True),
    ("100", "100", "integer", None, True),
    ("101", "100", "integer", None, False),
    ("0.9", "0.9", "real", None, True),
    ("on", "on", "bool", None, True),
    (True, "on", "bool", None, True),
    ("yes", "off", "bool", None, False),
    ("Replica", "replica", "enum", None, True),
    ("'pg_stat_statements'", "pg_stat_statements", "string", None, True),
    ("en_US.UTF-8", "C", "string", None, False),
])
def test_pg_same(desired, live, vartype, unit, same):
    assert pg.same(desired, live, vartype, unit) is same


def test_pg_display():
    assert pg.display("16384", "8kB") == "16384 (128MB, unit 8kB)"
    assert pg.display("100", None) == "100"


def test_check_settings_one_query():
    calls = []

    def fetch(sql, params):
        calls.append(params)
        return [("shared_buffers", "16384", "8kB", "integer", False, "configuration file"),
                ("work_mem", "8192", "kB", "integer", False, "session"),
                ("max_connections", "100", None, "integer", True, "configuration file")]

    items = pg.check_settings(fetch, {"shared_buffers": "128MB", "work_mem": "4MB", "max_connections": 100,
                                      "no_such": "1"})
    assert len(calls) == 1
    got = {(i["name"], i["change"]) for i in items}
    assert got == {("work_mem", "changed"), ("max_connections", "pending_restart"), ("no_such", "unknown")}
    wm = next(i for i in items if i["name"] == "work_mem")
    assert wm["desired"] == "4MB" and wm["live"] == "8192 (8MB, unit kB)" and wm["source"] == "postgresql"
    assert pg.check_settings(fetch, {}) == []
    with pytest.raises(DriftError):
        pg.check_settings(fetch, ["x"])


@pytest.mark.parametrize(("desired", "live", "same"), [
    (30, 30, True), ("30", 30, True), (30, "31", False), (True, "on", True), (False, "true", False),
    ("128MB", "131072kB", True), ("128MB", "256MB", False), ("1min", "60s", True), ("replica", "Replica", True),
    (None, None, True),
])
def test_patroni_same(desired, live, same):
    assert patroni.same(desired, live) is same


def test_patroni_config():
    live = {"ttl": 30, "loop_wait": 10, "postgresql": {"use_pg_rewind": True,
                                                       "parameters": {"max_connections": 200, "wal_level": "replica"}}}
    desired = {"ttl": 30, "postgresql": {"parameters": {"max_connections": "100", "wal_level": "replica",
                                                        "work_mem": "4MB", "hot_standby": None}}}
    items = patroni.check_config(lambda: live, desired, "odoo")
    assert [(i["path"], i["change"], i["desired"], i["live"]) for i in items] == [
        ("postgresql.parameters.max_connections", "changed", "100", 200),
        ("postgresql.parameters.work_mem", "missing_key", "4MB", None)]
    assert items[0]["resource"] == "odoo dynamic configuration"
    with pytest.raises(DriftError):
        patroni.check_config(lambda: "nope", desired)


def test_patroni_client_getter():
    class Resp:
        status, body = 503, {"x": 1}

    class Client:
        def get_any(self, path):
            return "http://127.0.0.1:8008", Resp()

    with pytest.raises(DriftError, match="503"):
        patroni.client_getter(Client())()


def test_odoo_database():
    modules = {"base": ("installed", "17.0.1.3"), "sale": ("uninstalled", None), "account": ("installed", "17.0.1.2"),
               "website": ("installed", "17.0.1.0")}
    params = {"web.base.url": "https://old.example", "database.secret": "s3cr3t"}

    def fetch(sql, args):
        names = args[0]
        if "ir_module_module" in sql:
            return [(n, *modules[n]) for n in names if n in modules]
        return [(k, params[k]) for k in names if k in params]

    desired = {"dbname": "acme", "instance": "acme-prod",
               "modules": {"base": "17.0.1.3", "sale": None, "account": "17.0.1.3", "crm": None},
               "absent_modules": ["website"],
               "parameters": {"web.base.url": "https://erp.acme.example", "database.is_neutralized": True,
                              "database.secret": "other"}}
    items = odoo.check_database(fetch, desired)
    got = {(i["kind"], i["name"], i["path"], i["change"]) for i in items}
    assert got == {
        ("ir_module_module", "sale", "state", "changed"), ("ir_module_module", "account", "latest_version", "changed"),
        ("ir_module_module", "crm", "state", "missing"), ("ir_module_module", "website", "state", "unexpected"),
        ("ir_config_parameter", "web.base.url", "value", "changed"),
        ("ir_config_parameter", "database.is_neutralized", "value", "missing"),
        ("ir_config_parameter", "database.secret", "value", "changed")}
    secret = next(i for i in items if i["name"] == "database.secret")
    assert "s3cr3t" not in str(secret) and secret["live"].startswith("<redacted>")
    assert odoo.check_database(fetch, {"dbname": "acme", "modules": ["base"]}) == []
    with pytest.raises(DriftError, match="unknown keys"):
        odoo.check_database(fetch, {"dbname": "acme", "modles": []})
