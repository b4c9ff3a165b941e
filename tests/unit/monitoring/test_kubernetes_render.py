"""The kubernetes target of the monitoring role, rendered offline (monitoring_k8s_apply=false).

The Prometheus Operator CRDs are not part of the lab cluster, so the objects are not applied in tests: this
renders them through playbooks/monitoring.yml and validates them offline — kinds and API versions, selector labels,
one exporter/ServiceMonitor per tenant, a Probe only for tenants with a URL, the PrometheusRule's groups pass
``promtool check rules`` with runbook links rewritten, and the queries ConfigMap is valid exporter YAML.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow

VARS = {
    "monitoring_hosts": "localhost",
    "monitoring_target": "kubernetes",
    "monitoring_k8s_apply": False,
    "monitoring_runbook_base_url": "https://runbooks.example.com/odoo/",
    "monitoring_tenants": [
        {"name": "acme", "url": "https://acme.example.com",
         "integrations": [{"name": "payroll_export", "sql": "SELECT 1 AS items, 0 AS oldest_age_seconds"}]},
        {"name": "beta", "namespace": "shared"},
    ],
}


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    tmp = tmp_path_factory.mktemp("k8s")
    varsfile = tmp / "vars.yml"
    varsfile.write_text(yaml.safe_dump(dict(VARS, monitoring_k8s_render_dir=str(tmp))))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "build" / "collections"), ANSIBLE_NOCOLOR="1")
    playbook = Path(sys.executable).parent / "ansible-playbook"
    res = subprocess.run([str(playbook), "-i", "localhost,", "-c", "local", "-e",
                          f"ansible_python_interpreter={sys.executable}", "-e", f"@{varsfile}",
                          str(REPO / "playbooks" / "monitoring.yml")],
                         cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    return [d for d in yaml.safe_load_all((tmp / "monitoring-objects.yml").read_text()) if d]


def _by(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def test_kinds_and_api_versions(objects: list[dict]) -> None:
    kinds = sorted((o["apiVersion"], o["kind"]) for o in objects)
    assert kinds.count(("monitoring.coreos.com/v1", "ServiceMonitor")) == 2
    assert kinds.count(("apps/v1", "Deployment")) == 2
    assert kinds.count(("v1", "Service")) == 2
    assert kinds.count(("monitoring.coreos.com/v1", "Probe")) == 1
    assert kinds.count(("monitoring.coreos.com/v1", "PrometheusRule")) == 1
    assert kinds.count(("monitoring.coreos.com/v1", "PodMonitor")) == 1
    for o in objects:
        assert o["metadata"]["name"] and o["metadata"]["namespace"]
        assert o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "erpops.odoo.monitoring"
        if o["apiVersion"].startswith("monitoring.coreos.com/"):
            assert o["metadata"]["labels"]["release"] == "prometheus", "Prometheus selects objects by this label"


def test_tenant_objects_live_in_the_tenant_namespace(objects: list[dict]) -> None:
    ns = {o["metadata"]["name"]: o["metadata"]["namespace"] for o in _by(objects, "Deployment")}
    assert ns == {"acme-pg-exporter": "acme", "beta-pg-exporter": "shared"}
    (probe,) = _by(objects, "Probe")
    assert probe["spec"]["targets"]["staticConfig"]["static"] == ["https://acme.example.com/web/health"]
    assert probe["spec"]["module"] == "odoo_health" and probe["spec"]["jobName"] == "odoo_health"


def test_exporter_reads_its_secret_and_queries(objects: list[dict]) -> None:
    dep = next(o for o in _by(objects, "Deployment") if o["metadata"]["name"] == "acme-pg-exporter")
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["env"][0]["valueFrom"]["secretKeyRef"] == {"name": "acme-monitoring-dsn", "key": "DATA_SOURCE_NAME"}
    assert "--extend.query-path=/etc/erpops/queries.yaml" in c["args"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True and pod["securityContext"]["runAsNonRoot"] is True
    assert dep["spec"]["selector"]["matchLabels"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    svc = next(o for o in _by(objects, "Service") if o["metadata"]["name"] == "acme-pg-exporter")
    assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]
    sm = next(o for o in _by(objects, "ServiceMonitor") if o["metadata"]["namespace"] == "acme")
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    assert {"targetLabel": "tenant", "replacement": "acme"} in sm["spec"]["endpoints"][0]["relabelings"]
    cm = next(o for o in _by(objects, "ConfigMap") if o["metadata"]["name"] == "acme-pg-exporter-queries")
    queries = yaml.safe_load(cm["data"]["queries.yaml"])
    assert {"odoo_cron", "odoo_queue_job", "odoo_integration_backlog"} <= set(queries)
    assert "payroll_export" in queries["odoo_integration_backlog"]["query"]


def test_traefik_pod_monitor_maps_services_to_tenants(objects: list[dict]) -> None:
    (pm,) = _by(objects, "PodMonitor")
    relabel = pm["spec"]["podMetricsEndpoints"][0]["metricRelabelings"]
    assert {r["replacement"]: r["regex"] for r in relabel} == {
        "acme": r"acme\-acme\-http\-8069@kubernetescrd", "beta": r"shared\-beta\-http\-8069@kubernetescrd"}


def test_prometheus_rule_passes_promtool(objects: list[dict], tmp_path: Path) -> None:
    (rule,) = _by(objects, "PrometheusRule")
    path = tmp_path / "operator.rules.yml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: run tools/apt-deps.sh"
    res = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert alerts and all(a["annotations"]["runbook_url"] == f"https://runbooks.example.com/odoo/{a['alert']}.md"
                          for a in alerts)
    assert any("{{ $labels.tenant }}" in a["annotations"]["summary"] for a in alerts), "templates kept verbatim"
    records = {r["record"] for g in rule["spec"]["groups"] for r in g["rules"] if "record" in r}
    assert "erpops:slo_objective:ratio" in records


def test_dashboards_config_map(objects: list[dict]) -> None:
    cm = next(o for o in _by(objects, "ConfigMap") if o["metadata"]["name"] == "erpops-grafana-dashboards")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert len(cm["data"]) == 4
