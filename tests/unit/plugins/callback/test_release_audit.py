"""Unit tests of the release_audit callback (fake play/task objects; S3 faked with moto)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
import yaml
from ansible_collections.erpops.odoo.plugins.callback import release_audit as ra
from moto import mock_aws

SECRET = "hunter2-Sup3rS3cretValue-0000000000"


class FakeVM:
    def __init__(self, extra_vars: dict) -> None:
        self.extra_vars = extra_vars


class FakePlay:
    def __init__(self, name: str, extra_vars: dict | None = None, play_vars: dict | None = None) -> None:
        self.name, self.hosts = name, ["web1", "web2"]
        self.vars = play_vars or {}
        self._vm = FakeVM(extra_vars or {})

    def get_name(self) -> str:
        return self.name

    def get_variable_manager(self) -> FakeVM:
        return self._vm


def result(name: str, host: str = "web1", action: str = "ansible.builtin.command", no_log: bool = False,
           **data: object) -> SimpleNamespace:
    task = SimpleNamespace(action=action, no_log=no_log, get_name=lambda: name)
    return SimpleNamespace(task=task, host=SimpleNamespace(get_name=lambda: host), result=dict(data))


def make(**options: object) -> ra.CallbackModule:
    """A callback with its documented defaults plus ``options`` (as Ansible's config manager would set them)."""
    cb = ra.CallbackModule()
    doc = yaml.safe_load(ra.DOCUMENTATION)["options"]
    cb._plugin_options = {name: spec.get("default") for name, spec in doc.items()}
    cb._plugin_options.update(options)
    return cb


@pytest.fixture
def callback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ERPOPS_AUDIT_S3_BUCKET", raising=False)
    cb = make(path=str(tmp_path / "audit" / "log.jsonl"))
    cb.v2_playbook_on_start(SimpleNamespace(_file_name="playbooks/upgrade.yml"))
    return cb


def lines(cb: ra.CallbackModule) -> list[dict]:
    return [json.loads(x) for x in Path(cb.get_option("path")).read_text().splitlines()]


def test_documented_default_path() -> None:
    assert make().get_option("path") == "~/.ansible/erpops-audit.jsonl"


def test_one_line_per_play_with_gate_and_task_status(callback, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOB_ID", "4711")
    gate = {"allowed": True, "risk_class": "high", "reasons": ["ok"], "break_glass": False,
            "post_review_required": False, "freezes": [{"reason": "none", "start": "x"}],
            "approvals": [{"approver": "alice@erpops.example", "roles": ["release-manager"],
                           "timestamp": "2025-04-08T09:00:00Z", "risk_class": "high", "file": "a.yml"}],
            "change": {"id": "CHG-1", "tenants": ["acme"]}}
    callback.v2_playbook_on_play_start(FakePlay("Upgrade acme", {"awx_user_name": "jdoe",
                                                                 "erpops_backup_id": "backup-42"}))
    callback.v2_runner_on_ok(result("Gate", action="erpops.odoo.release_gate", **gate))
    callback.v2_runner_on_ok(result("Record", action="ansible.builtin.set_fact",
                                    ansible_facts={"erpops_release_before": "17.0-a", "erpops_release_after": "17.0-b",
                                                   "erpops_change_id": "CHG-1"}))
    callback.v2_runner_on_ok(result("Deploy", changed=True, stdout=SECRET))
    callback.v2_runner_on_skipped(result("Maybe", host="web2"))
    callback.v2_runner_on_failed(result("Probe", host="web2", msg=SECRET), ignore_errors=True)
    callback.v2_playbook_on_play_start(FakePlay("Verify"))
    callback.v2_runner_on_unreachable(result("Ping", host="web2"))
    callback.v2_playbook_on_stats(None)

    first, second = lines(callback)
    assert first["schema"] == "erpops.audit/v1" and first["playbook"] == "playbooks/upgrade.yml"
    assert first["change_id"] == "CHG-1" and first["tenants"] == ["acme"]
    assert first["who"]["awx"] == {"awx_user_name": "jdoe", "job_id": "4711"}
    assert (first["release_before"], first["release_after"], first["backup_id"]) == ("17.0-a", "17.0-b", "backup-42")
    assert first["gate"]["allowed"] is True and first["gate"]["freezes"] == ["none"]
    assert first["approvals"] == [{"approver": "alice@erpops.example", "roles": ["release-manager"],
                                   "timestamp": "2025-04-08T09:00:00Z", "risk_class": "high"}]
    assert [(t["task"], t["host"], t["status"]) for t in first["tasks"]] == [
        ("Gate", "web1", "ok"), ("Record", "web1", "ok"), ("Deploy", "web1", "changed"),
        ("Maybe", "web2", "skipped"), ("Probe", "web2", "ignored")]
    assert first["result"] == "ok"
    assert second["result"] == "failed" and second["tasks"][0]["status"] == "unreachable"
    assert second["run_id"] == first["run_id"]
    assert SECRET not in Path(callback.get_option("path")).read_text()


def test_lines_are_hash_chained_across_runs(callback, tmp_path: Path) -> None:
    for name in ("one", "two"):
        callback.v2_playbook_on_play_start(FakePlay(name))
        callback.v2_runner_on_ok(result("t"))
    callback.v2_playbook_on_stats(None)
    other = make(path=callback.get_option("path"))
    other.v2_playbook_on_play_start(FakePlay("three"))
    other.v2_playbook_on_stats(None)
    raw = Path(callback.get_option("path")).read_bytes().splitlines(keepends=True)
    records = [json.loads(x) for x in raw]
    assert records[0]["prev_sha256"] is None
    for prev, rec in zip(raw, records[1:], strict=False):
        assert rec["prev_sha256"] == hashlib.sha256(prev).hexdigest()
    assert oct(Path(callback.get_option("path")).stat().st_mode & 0o777) == "0o600"


def test_no_log_tasks_hide_name_and_facts(callback) -> None:
    callback.v2_playbook_on_play_start(FakePlay("Rotate"))
    callback.v2_runner_on_ok(result("set password %s" % SECRET, action="ansible.builtin.set_fact", no_log=True,
                                    ansible_facts={"erpops_backup_id": SECRET}))
    callback.v2_runner_on_failed(result("login with %s" % SECRET, _ansible_no_log=True))
    callback.v2_playbook_on_stats(None)
    (rec,) = lines(callback)
    assert [t["task"] for t in rec["tasks"]] == ["(no_log task: ansible.builtin.set_fact)",
                                                 "(no_log task: ansible.builtin.command)"]
    assert rec["backup_id"] is None and rec["result"] == "failed"
    assert SECRET not in json.dumps(rec)


def test_aborted_run_still_writes_its_line(callback) -> None:
    callback.v2_playbook_on_play_start(FakePlay("Interrupted"))
    callback.v2_runner_on_ok(result("first"))
    callback._flush_aborted()  # what atexit does when the run dies before the stats
    (rec,) = lines(callback)
    assert rec["result"] == "aborted"


@pytest.mark.parametrize(("value", "expected"), [
    ({"db_password": "x", "password": "", "token_count": 3}, {"db_password": "<redacted>", "password": "",
                                                             "token_count": "<redacted>"}),
    ("postgres://odoo:s3cret@db:5432/odoo", "<redacted>"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc", "<redacted>"),
    ("AKIAIOSFODNN7EXAMPLE", "<redacted>"),
    ("export PASSWORD=abc", "<redacted>"),
    ("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", "<redacted>"),
    ("key aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gH2 here", "key <redacted> here"),
    ("revision 4b825dc642cb6eb9a060e54bf8d69288fbee4904", "revision 4b825dc642cb6eb9a060e54bf8d69288fbee4904"),
    ("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("payroll run 'monthly' on 2025-03-31", "payroll run 'monthly' on 2025-03-31"),
    ([1, True, None, 2.5], [1, True, None, 2.5]),
])
def test_redact(value: object, expected: object) -> None:
    assert ra.redact(value) == expected


@mock_aws
def test_copy_to_s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="audit")
    cb = make(path=str(tmp_path / "log.jsonl"), s3_bucket="audit", s3_prefix="erpops/", s3_region="us-east-1")
    cb.v2_playbook_on_play_start(FakePlay("Upgrade", {"erpops_change_id": "CHG-9"}))
    cb.v2_playbook_on_stats(None)
    (obj,) = s3.list_objects_v2(Bucket="audit")["Contents"]
    assert obj["Key"].startswith("erpops/") and obj["Key"].endswith("-1.json")
    body = json.loads(s3.get_object(Bucket="audit", Key=obj["Key"])["Body"].read())
    assert body["change_id"] == "CHG-9"


def test_s3_failure_is_a_warning_not_an_error(tmp_path: Path) -> None:
    warnings = []
    cb = make(path=str(tmp_path / "log.jsonl"), s3_bucket="b", s3_endpoint_url="http://127.0.0.1:9")
    cb._display = SimpleNamespace(warning=warnings.append)

    class Broken:
        def put_object(self, **kw: object) -> None:
            raise OSError("connection refused")

    cb._s3 = Broken()
    cb.v2_playbook_on_play_start(FakePlay("Upgrade"))
    cb.v2_playbook_on_stats(None)
    assert (tmp_path / "log.jsonl").read_text().count("\n") == 1
    assert "S3 copy to bucket b failed: connection refused" in warnings[0]
