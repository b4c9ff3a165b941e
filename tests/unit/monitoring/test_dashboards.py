"""Grafana dashboards of roles/monitoring are valid and reference only metrics that exist.

"Exist" means produced by: a recording rule of the role, an erpops postgres_exporter custom query (templates
rendered with the role defaults and one integration), a textfile metric written by tasks_from=event, or a
third-party exporter metric listed in exporter_metrics.yml. The alert rules are held to the same standard.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jinja2
import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "monitoring"
DASHBOARDS = sorted((ROLE / "files" / "dashboards").glob("*.json"))
RULE_FILES = sorted((ROLE / "files" / "rules").glob("*.rules.yml"))

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or",
             "unless", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """Metric names referenced by a PromQL expression (Grafana variables allowed)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\$\{?\w+\}?", "1", e)
    names = set()
    for m in re.finditer(r"(?<![\w:.])([A-Za-z_:][\w:]*)(\s*\()?", e):
        if not m.group(2) and m.group(1).lower() not in _KEYWORDS:
            names.add(m.group(1))
    return names


def _render(template: str, **extra: object) -> str:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    defaults.update(yaml.safe_load((ROLE / "vars" / "main.yml").read_text()))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROLE / "templates")),  # noqa: S701 - YAML, not HTML
                             undefined=jinja2.StrictUndefined)
    env.filters["comment"] = lambda text: "\n".join(f"# {line}" for line in str(text).splitlines())
    env.filters["regex_replace"] = lambda value, pattern, repl: re.sub(pattern, repl.replace("\\1", r"\1"), value)
    return env.get_template(template).render(ansible_managed="test", **defaults, **extra)


def query_metrics(text: str) -> set[str]:
    out = set()
    for namespace, q in yaml.safe_load(text).items():
        for col in q["metrics"]:
            ((name, spec),) = col.items()
            if spec["usage"] != "LABEL":
                out.add(f"{namespace}_{name}")
    return out


def known_metrics() -> set[str]:
    known: set[str] = set()
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            known |= {r["record"] for r in group["rules"] if "record" in r}
    known |= {r["record"] for g in yaml.safe_load(_render("slo_objectives.rules.yml.j2"))["groups"] for r in g["rules"]}
    tenant = {"name": "acme",
              "integrations": [{"name": "payroll", "sql": "SELECT 1 AS items, 0 AS oldest_age_seconds"}]}
    known |= query_metrics(_render("postgres_exporter/tenant_queries.yaml.j2", _monitoring_tenant=tenant))
    known |= query_metrics(_render("postgres_exporter/platform_queries.yaml.j2"))
    for prom in (ROLE / "templates").glob("*.prom.j2"):
        known |= set(re.findall(r"^# TYPE (\w+) ", prom.read_text(), flags=re.M))
    for names in yaml.safe_load((Path(__file__).parent / "exporter_metrics.yml").read_text()).values():
        known |= set(names)
    return known


def dashboard_exprs(dash: dict) -> list[str]:
    exprs: list[str] = []

    def panels(items: list[dict]) -> None:
        for p in items:
            exprs.extend(t["expr"] for t in p.get("targets", []) if t.get("expr"))
            panels(p.get("panels", []))

    panels(dash["panels"])
    exprs += [a["expr"] for a in dash.get("annotations", {}).get("list", []) if a.get("expr")]
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            q = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            m = re.match(r"label_values\((.+),\s*\w+\)$", q)
            exprs.append(m.group(1) if m else q)
    return exprs


def test_metric_names_parser() -> None:
    assert metric_names('sum by (tenant) (rate(foo_total{a="b", c=~"$x"}[5m])) / on (a) group_left bar > 3') == {
        "foo_total", "bar"}
    assert metric_names('count(up == 0) or vector(0)') == {"up"}
    assert metric_names('erpops:a:rate1h > (14.4 * (1 - scalar(erpops:b{slo="x"})))') == {"erpops:a:rate1h", "erpops:b"}


def test_all_four_dashboards_exist() -> None:
    assert {p.stem for p in DASHBOARDS} == {"erpops-platform-overview", "erpops-odoo-tenant", "erpops-postgresql-ha",
                                           "erpops-backups-releases"}
    assert {p.name for p in DASHBOARDS} == set(yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
                                                ["_monitoring_dashboards"])


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_is_valid(path: Path) -> None:
    dash = json.loads(path.read_text())
    assert dash["uid"] and len(dash["uid"]) <= 40 and dash["title"].startswith("erpops / ")
    ids = []

    def walk(items: list[dict]) -> None:
        for p in items:
            ids.append(p["id"])
            assert {"type", "title", "gridPos"} <= set(p), p
            for t in p.get("targets", []):
                assert t["datasource"]["uid"] == "${datasource}" and t["expr"].strip()
            walk(p.get("panels", []))

    walk(dash["panels"])
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    assert len(dashboard_exprs(dash)) > 5


def test_dashboard_uids_are_unique() -> None:
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS]
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_references_only_produced_metrics(path: Path) -> None:
    known = known_metrics()
    unknown = {(name, expr) for expr in dashboard_exprs(json.loads(path.read_text())) for name in metric_names(expr)
               if name not in known}
    assert not unknown, f"{path.name} references metrics nothing produces: {sorted(unknown)}"


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_rules_reference_only_produced_metrics(path: Path) -> None:
    known = known_metrics()
    unknown = set()
    for group in yaml.safe_load(path.read_text())["groups"]:
        for rule in group["rules"]:
            unknown |= {n for n in metric_names(rule["expr"]) if n not in known}
    assert not unknown, f"{path.name} references metrics nothing produces: {sorted(unknown)}"


def test_every_custom_query_metric_is_on_a_dashboard() -> None:
    tenant = {"name": "acme", "integrations": [{"name": "p", "sql": "SELECT 1 AS items, 0 AS oldest_age_seconds"}]}
    produced = query_metrics(_render("postgres_exporter/tenant_queries.yaml.j2", _monitoring_tenant=tenant))
    produced |= query_metrics(_render("postgres_exporter/platform_queries.yaml.j2"))
    used = {n for p in DASHBOARDS for e in dashboard_exprs(json.loads(p.read_text())) for n in metric_names(e)}
    assert produced - used == set(), "business metrics nobody can see"
