"""playbooks/gate.yml with the release_audit callback: the issue's "must show" scenarios end to end."""

from __future__ import annotations

import json

IN_PAYROLL_FREEZE = "2025-03-27T22:30:00+01:00"  # Thu night before acme's payroll (Mon 31 March, 2 days before)
OUTSIDE = "2025-04-08T22:30:00+02:00"  # Tue night, inside the weeknight window, no freeze
FAKE_SECRET = "s3cr3t-Fake-DB-Passw0rd-7f9e2b1c4d"


def gate_vars(governance, change: dict, **kw: object) -> dict:
    out = {"release_gate_change": change, "release_gate_policy_file": str(governance.policy),
           "release_gate_allowed_signers": str(governance.allowed_signers),
           "release_gate_business_impact": ["Timesheet screen changes for site foremen"],
           "release_gate_rollback_point": "backup-acme-20250327"}
    out.update({"release_gate_" + k: v for k, v in kw.items()})
    return out


def test_high_risk_upgrade_in_payroll_freeze_is_blocked(governance, change) -> None:
    folder = "approvals-freeze"
    for who in ("alice@erpops.example", "bob@erpops.example"):
        governance.approval(folder, who, "CHG-2025-042", timestamp="2025-03-27T09:00:00Z")
    run = governance.run(gate_vars(governance, change(), at=IN_PAYROLL_FREEZE,
                                   approvals_dir=str(governance.root / folder)))
    assert run.proc.returncode == 2, run.output
    assert "release gate denied CHG-2025-042: freeze: payroll run 'monthly payroll' on 2025-03-31" in run.output
    gate = run.last["gate"]
    assert gate["allowed"] is False and gate["risk_class"] == "high"
    assert gate["reasons"] == ["freeze: payroll run 'monthly payroll' on 2025-03-31 "
                               "(freeze 2025-03-27 .. 2025-03-31, Europe/Berlin)"]
    # after payroll and month-end close (first 3 business days of April): Thursday's window, past midnight
    assert gate["next_window"]["start"] == "2025-04-04T00:00:00+02:00"
    assert [a["approver"] for a in run.last["approvals"]] == ["alice@erpops.example", "bob@erpops.example"]
    assert run.last["result"] == "failed" and run.last["change_id"] == "CHG-2025-042"


def test_same_change_outside_the_window_with_signed_approvals_proceeds(governance, change, tmp_path) -> None:
    folder = "approvals-ok"
    for who in ("alice@erpops.example", "bob@erpops.example"):
        governance.approval(folder, who, "CHG-2025-042")
    run = governance.run(gate_vars(governance, change(), at=OUTSIDE, approvals_dir=str(governance.root / folder),
                                   notes_dir=str(tmp_path)))
    assert run.proc.returncode == 0, run.output
    assert "change CHG-2025-042: ALLOWED" in run.output
    assert run.last["gate"]["allowed"] is True and run.last["result"] == "ok"
    assert {a["approver"] for a in run.last["approvals"]} == {"alice@erpops.example", "bob@erpops.example"}
    notes = (tmp_path / "CHG-2025-042.md").read_text()
    assert "| Gate decision | ALLOWED |" in notes and "- backup-acme-20250327" in notes


def test_tampered_approval_is_rejected(governance, change) -> None:
    folder = "approvals-tampered"
    alice = governance.approval(folder, "alice@erpops.example", "CHG-2025-001")
    alice.write_text(alice.read_text().replace("CHG-2025-001", "CHG-2025-042"))  # reuse for another change
    governance.approval(folder, "bob@erpops.example", "CHG-2025-042")
    run = governance.run(gate_vars(governance, change(), at=OUTSIDE, approvals_dir=str(governance.root / folder)))
    assert run.proc.returncode == 2, run.output
    (rejected,) = run.last["gate"]["rejected_approvals"]
    assert rejected["file"] == "alice.yml"
    assert rejected["reason"].startswith("signature does not verify for 'alice@erpops.example'")
    assert run.last["gate"]["allowed"] is False


def test_approval_for_another_change_is_rejected(governance, change) -> None:
    folder = "approvals-other-change"
    governance.approval(folder, "alice@erpops.example", "CHG-2025-001")
    governance.approval(folder, "bob@erpops.example", "CHG-2025-042")
    run = governance.run(gate_vars(governance, change(), at=OUTSIDE, approvals_dir=str(governance.root / folder)))
    assert run.proc.returncode == 2
    assert run.last["gate"]["rejected_approvals"][0]["reason"] == "signed for change 'CHG-2025-001', not 'CHG-2025-042'"


def test_approval_signed_by_the_author_is_rejected(governance, change) -> None:
    folder = "approvals-author"
    governance.approval(folder, "dev@erpops.example", "CHG-2025-042")
    governance.approval(folder, "bob@erpops.example", "CHG-2025-042")
    run = governance.run(gate_vars(governance, change(), at=OUTSIDE, approvals_dir=str(governance.root / folder)))
    assert run.proc.returncode == 2, run.output
    (rejected,) = run.last["gate"]["rejected_approvals"]
    assert rejected["reason"] == ("separation of duties: 'dev@erpops.example' is the change author and cannot "
                                  "approve it")
    assert "approvals: risk class high needs 2 distinct approver(s) other than the author, 1 verified" in \
        run.last["gate"]["reasons"]


def test_break_glass_proceeds_and_is_flagged(governance, change) -> None:
    run = governance.run(gate_vars(governance, change(), at=IN_PAYROLL_FREEZE, break_glass=True,
                                   break_glass_reason="INC-981 invoices cannot be posted, hotfix"))
    assert run.proc.returncode == 0, run.output
    gate = run.last["gate"]
    assert gate["allowed"] is True and gate["break_glass"] is True and gate["post_review_required"] is True
    assert gate["reasons"][0] == "break-glass by dev@erpops.example: INC-981 invoices cannot be posted, hotfix"
    assert "break-glass: True, post-review: True" in run.output


def test_bad_policy_fails_closed_and_is_audited(governance, change, tmp_path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(governance.policy.read_text().replace("Europe/Berlin", "Europe/Atlantis", 1))
    before = len(governance.audit_log.read_text().splitlines()) if governance.audit_log.exists() else 0
    run = governance.run(gate_vars(governance, change(), at=OUTSIDE, policy_file=str(broken), break_glass=True,
                                   break_glass_reason="break-glass cannot bypass bad input"))
    assert run.proc.returncode == 2
    assert "unknown time zone 'Europe/Atlantis'" in run.last["gate"]["error"]
    assert len(run.audit) == before + 1


def test_every_run_is_audited_and_no_secret_leaks(governance, change, tmp_path, monkeypatch) -> None:
    playbook = tmp_path / "upgrade-with-secret.yml"
    playbook.write_text("""---
- name: Upgrade with a credential
  hosts: localhost
  gather_facts: false
  vars:
    fake_db_password: "{{ lookup('ansible.builtin.env', 'FAKE_DB_PASSWORD') }}"
  tasks:
    - name: Gate
      ansible.builtin.include_role:
        name: erpops.odoo.release_gate
    - name: Record revisions and backup
      ansible.builtin.set_fact:
        erpops_release_before: "17.0-20250301"
        erpops_release_after: "17.0-20250408"
        erpops_backup_id: backup-acme-20250408T2230
    - name: Use the credential {{ fake_db_password }}
      ansible.builtin.debug:
        msg: "connecting with {{ fake_db_password }}"
      no_log: true
    - name: Fail while holding the credential
      ansible.builtin.command: /bin/false {{ fake_db_password }}
      changed_when: false
      no_log: true
""")
    folder = "approvals-secret"
    for who in ("alice@erpops.example", "bob@erpops.example"):
        governance.approval(folder, who, "CHG-2025-042")
    before = len(governance.audit_log.read_text().splitlines()) if governance.audit_log.exists() else 0
    monkeypatch.setenv("FAKE_DB_PASSWORD", FAKE_SECRET)
    run = governance.run(gate_vars(governance, change(), at=OUTSIDE, approvals_dir=str(governance.root / folder)),
                         str(playbook), "-e", json.dumps({"db_password": FAKE_SECRET}))
    assert run.proc.returncode == 2, run.output  # the last task fails
    assert len(run.audit) == before + 1
    rec = run.last
    assert rec["result"] == "failed"
    assert (rec["release_before"], rec["release_after"], rec["backup_id"]) == (
        "17.0-20250301", "17.0-20250408", "backup-acme-20250408T2230")
    assert rec["tasks"][-1] == {"task": "(no_log task: ansible.builtin.command)", "host": "localhost",
                                "status": "failed"}
    assert rec["who"]["user"]
    # every run of this module wrote exactly one line per play, and none contains the secret
    text = governance.audit_log.read_text()
    assert FAKE_SECRET not in text
    assert len(text.splitlines()) == governance.runs
