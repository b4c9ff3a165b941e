"""promtool check/test of the monitoring role's Prometheus rules (alerts, SLO burn rates, recording rules).

- every rule file under roles/monitoring passes ``promtool check rules`` (the SLO objectives template is rendered
  with the role defaults first);
- every unit test file tests/promtool/*_test.yml passes ``promtool test rules``;
- every alert is covered by at least one case where it fires and one where it must not;
- every alert carries a severity, a summary, a description and the runbook_url of its docs/runbooks page.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "monitoring"
RULE_FILES = sorted((ROLE / "files" / "rules").glob("*.rules.yml"))
TEST_FILES = sorted((REPO / "tests" / "promtool").glob("*_test.yml"))
PROMTOOL = shutil.which("promtool")
RUNBOOK_BASE = "https://github.com/erpops/odoo/blob/main/docs/runbooks/"



def _promtool(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    if PROMTOOL is None:
        pytest.fail("promtool not found: run tools/apt-deps.sh (Debian package 'prometheus')")
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, check=False)


def _alerts() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    assert rule["alert"] not in out, f"duplicate alert {rule['alert']}"
                    out[rule["alert"]] = rule
    return out


def render_slo_objectives(tmp: Path) -> Path:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROLE / "templates")),  # noqa: S701 - YAML, not HTML
                             undefined=jinja2.StrictUndefined)
    env.filters["comment"] = lambda text: "\n".join(f"# {line}" for line in str(text).splitlines())
    text = env.get_template("slo_objectives.rules.yml.j2").render(ansible_managed="managed by the test", **defaults)
    out = tmp / "slo_objectives.rules.yml"
    out.write_text(text)
    return out


def test_rule_files_exist() -> None:
    assert {p.name for p in RULE_FILES} >= {"platform.rules.yml", "slo.rules.yml", "odoo-business.rules.yml",
                                            "operations.rules.yml"}


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_promtool_check_rules(path: Path) -> None:
    res = _promtool("check", "rules", str(path))
    assert res.returncode == 0, res.stdout + res.stderr


def test_promtool_check_rendered_slo_objectives(tmp_path: Path) -> None:
    rendered = render_slo_objectives(tmp_path)
    res = _promtool("check", "rules", str(rendered))
    assert res.returncode == 0, res.stdout + res.stderr
    records = [r["record"] for g in yaml.safe_load(rendered.read_text())["groups"] for r in g["rules"]]
    assert records == ["erpops:slo_objective:ratio", "erpops:slo_objective:ratio"]


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_promtool_test_rules(path: Path) -> None:
    res = _promtool("test", "rules", path.name, cwd=path.parent)
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_alert_fires_and_stays_silent_in_some_test() -> None:
    fires: set[str] = set()
    silent: set[str] = set()
    for path in TEST_FILES:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fires if check.get("exp_alerts") else silent).add(check["alertname"])
    alerts = set(_alerts())
    assert alerts - fires == set(), "alerts never shown to fire"
    assert alerts - silent == set(), "alerts never shown to stay silent"
    assert fires - alerts == set(), "tests name alerts that do not exist"


@pytest.mark.parametrize("name,rule", sorted(_alerts().items()), ids=lambda v: v if isinstance(v, str) else "")
def test_alert_metadata(name: str, rule: dict) -> None:
    assert rule["labels"]["severity"] in {"critical", "warning", "info"}
    ann = rule["annotations"]
    assert ann["summary"].strip() and ann["description"].strip()
    assert ann["runbook_url"] == f"{RUNBOOK_BASE}{name}.md"
    assert (REPO / "docs" / "runbooks" / f"{name}.md").is_file(), f"docs/runbooks/{name}.md missing"
