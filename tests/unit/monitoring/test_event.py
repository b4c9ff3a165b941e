"""tasks_from=event: the deployment/backup/drift event mechanism release playbooks call.

Runs a small playbook (connection local) that records a sequence of events into a temp textfile directory and
events log, then checks the node_exporter textfiles (``promtool check metrics``), the values the alert rules read,
the JSON-lines log, and that invalid events are refused before anything is written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow

EVENTS = [
    {"monitoring_event_kind": "deploy", "monitoring_event_result": "failed", "monitoring_event_revision": "r41",
     "monitoring_event_timestamp": 1000},
    {"monitoring_event_kind": "deploy", "monitoring_event_result": "success", "monitoring_event_revision": "r42",
     "monitoring_event_timestamp": 2000, "monitoring_event_details": {"change": "CHG-2025-042"}},
    {"monitoring_event_kind": "backup", "monitoring_event_result": "success",
     "monitoring_event_revision": "20261203T020000Z-1a2b3c", "monitoring_event_timestamp": 3000},
    {"monitoring_event_kind": "backup", "monitoring_event_result": "failed", "monitoring_event_timestamp": 4000},
    {"monitoring_event_kind": "drift", "monitoring_event_result": "drift", "monitoring_event_revision": 'r42 "hotfix"',
     "monitoring_event_timestamp": 5000},
]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("events")
    role = {"name": "erpops.odoo.monitoring", "tasks_from": "event"}
    tasks = [{"name": f"Event {i}", "ansible.builtin.include_role": role,
              "vars": dict(ev, monitoring_event_tenant="acme")} for i, ev in enumerate(EVENTS)]
    tasks.append({"name": "Invalid event is refused", "block": [
        {"name": "Drift result on a deploy", "ansible.builtin.include_role":
            {"name": "erpops.odoo.monitoring", "tasks_from": "event"},
         "vars": {"monitoring_event_tenant": "beta", "monitoring_event_kind": "deploy",
                  "monitoring_event_result": "drift"}},
        {"name": "Not reached", "ansible.builtin.fail": {"msg": "invalid event accepted"}}],
        "rescue": [{"name": "Refused", "ansible.builtin.debug": {"msg": "refused"}}]})
    play = [{"name": "events", "hosts": "localhost", "gather_facts": False, "tasks": tasks,
             "vars": {"monitoring_textfile_dir": str(tmp / "textfile"),
                      "monitoring_events_log": str(tmp / "log" / "events.jsonl")}}]
    (tmp / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "build" / "collections"), ANSIBLE_NOCOLOR="1")
    res = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                          "-e", f"ansible_python_interpreter={sys.executable}", str(tmp / "play.yml")],
                         env=env, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "Not reached" not in res.stdout
    return tmp


def _samples(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def test_textfiles_are_valid_exposition_format(recorded: Path) -> None:
    files = sorted((recorded / "textfile").glob("*.prom"))
    assert [f.name for f in files] == ["erpops_backup_acme.prom", "erpops_event_acme_backup.prom",
                                       "erpops_event_acme_deploy.prom", "erpops_event_acme_drift.prom"]
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: run tools/apt-deps.sh"
    for f in files:
        res = subprocess.run([promtool, "check", "metrics"], input=f.read_text(), capture_output=True, text=True,
                             check=False)
        assert res.returncode == 0, f"{f.name}: {res.stdout}{res.stderr}"


def test_latest_event_per_kind_replaces_the_previous(recorded: Path) -> None:
    tf = recorded / "textfile"
    assert _samples(tf / "erpops_event_acme_deploy.prom") == [
        'erpops_event_last_timestamp_seconds{tenant="acme",kind="deploy",result="success",revision="r42"} 2000']
    assert _samples(tf / "erpops_event_acme_drift.prom") == [
        'erpops_event_last_timestamp_seconds{tenant="acme",kind="drift",result="drift",'
        'revision="r42 \\"hotfix\\""} 5000']


def test_backup_freshness_only_moves_on_success(recorded: Path) -> None:
    tf = recorded / "textfile"
    assert _samples(tf / "erpops_backup_acme.prom") == [
        'erpops_backup_last_success_timestamp_seconds{tenant="acme"} 3000']
    assert _samples(tf / "erpops_event_acme_backup.prom") == [
        'erpops_event_last_timestamp_seconds{tenant="acme",kind="backup",result="failed",revision=""} 4000']


def test_events_log(recorded: Path) -> None:
    lines = [json.loads(line) for line in (recorded / "log" / "events.jsonl").read_text().splitlines()]
    assert [(e["kind"], e["result"], e["timestamp"]) for e in lines] == [
        ("deploy", "failed", 1000), ("deploy", "success", 2000), ("backup", "success", 3000),
        ("backup", "failed", 4000), ("drift", "drift", 5000)]
    assert lines[1]["details"] == {"change": "CHG-2025-042"} and lines[1]["tenant"] == "acme"
    assert not any(e["tenant"] == "beta" for e in lines), "an invalid event must not be recorded"
