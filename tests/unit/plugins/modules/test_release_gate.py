"""The release_gate module edge: arguments in, decision out, fail_on_deny, unreadable policy fails closed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.erpops.odoo.plugins.modules import release_gate

CHANGE = {"id": "CHG-7", "kinds": ["odoo_conf"], "environment": "production", "author": "dev@erpops.example",
          "tenants": ["acme"]}
POLICY = {"calendars": {"default": {"timezone": "Europe/Berlin", "holidays": ["2025-12-25"]}}}


def run(capsys: pytest.CaptureFixture[str], **args: object) -> tuple[int, dict]:
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        release_gate.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def test_allowed_change_returns_the_decision_and_notes(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = run(capsys, change=CHANGE, policy=POLICY, at="2025-12-24T10:00:00+01:00",
                  rollback_point="backup-1", _ansible_check_mode=True)
    assert rc == 0
    assert out["allowed"] is True and out["changed"] is False and out["diff"] == {}
    assert out["risk_class"] == "low" and out["approvals"] == []
    assert out["release_notes"].startswith("# Release CHG-7\n")
    assert "- backup-1" in out["release_notes"]


def test_denied_change_fails_the_task_with_the_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = run(capsys, change=CHANGE, policy=POLICY, at="2025-12-25T10:00:00+01:00")
    assert rc == 1 and out["failed"] is True
    assert out["msg"] == "release gate denied CHG-7: freeze: public holiday 2025-12-25 (public holiday)"
    assert out["next_window"]["start"] == "2025-12-26T00:00:00+01:00"


def test_fail_on_deny_false_returns_the_denial(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = run(capsys, change=CHANGE, policy=POLICY, at="2025-12-25T10:00:00+01:00", fail_on_deny=False)
    assert rc == 0 and out["allowed"] is False and "failed" not in out


def test_policy_file_and_unreadable_policy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(POLICY))
    rc, out = run(capsys, change=CHANGE, policy_file=str(path), at="2025-12-24T10:00:00+01:00")
    assert rc == 0 and out["calendars"] == ["default"]
    rc, out = run(capsys, change=CHANGE, policy_file=str(tmp_path / "absent.yml"), fail_on_deny=False)
    assert out["allowed"] is False
    assert out["error"].startswith("policy_file '%s' cannot be read" % (tmp_path / "absent.yml"))
    path.write_text("calendars: [unbalanced")
    rc, out = run(capsys, change=CHANGE, policy_file=str(path), fail_on_deny=False)
    assert "is not valid YAML" in out["error"]


def test_missing_approvals_dir_fails_closed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out = run(capsys, change=CHANGE, policy=POLICY, approvals_dir=str(tmp_path / "nope"))
    assert rc == 1 and out["error"] == "approvals_dir '%s' is not a directory" % (tmp_path / "nope")
