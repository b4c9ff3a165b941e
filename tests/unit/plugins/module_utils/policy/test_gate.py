"""The gate decision: calendars + risk + approvals + break-glass, failing closed on bad input."""

from __future__ import annotations

import copy
import json

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.policy import gate
from ansible_collections.erpops.odoo.plugins.module_utils.policy.notes import render_release_notes

BERLIN = {
    "timezone": "Europe/Berlin",
    "payroll": [{"name": "monthly payroll", "days": ["last_business_day"], "freeze_days_before": 2}],
    "month_end_close": {"last_business_days": 1, "first_business_days": 2},
    "release_windows": [{"days": ["tue", "wed", "thu"], "start": "22:00", "end": "02:00"}],
}
POLICY = {
    "calendars": {"default": BERLIN, "ny": {"timezone": "America/New_York", "holidays": ["2025-04-08"]}},
    "tenants": {"acme": {"calendar": "default"}, "bauhaus": {"calendar": "ny"}, "stahlbau": {}},
    "environments": {"production": {"calendar": "default"}, "staging": {"enforce_calendar": False}},
    "approvals": {"approvers": {"alice@erpops.example": {"roles": ["release-manager"]},
                                "bob@erpops.example": {"roles": ["engineer"]}}},
}
UPGRADE = {"id": "CHG-1", "kinds": ["image", "db_migration"], "tenants": ["acme"], "environment": "production",
           "author": "dev@erpops.example", "operation": "upgrade", "duration_minutes": 90}
IN_FREEZE = "2025-03-27T22:30:00+01:00"  # Thursday evening, payroll freeze for Mon 31 March
OUTSIDE = "2025-04-08T22:30:00+02:00"  # Tuesday evening, no freeze


def fake_verifier(valid: set[str]):
    """Stand-in for ssh-keygen (the process edge): signatures of identities in ``valid`` verify."""
    def verifier(path, sig, identity, allowed_signers, *, namespace, ssh_keygen):
        return (identity in valid, "Good signature" if identity in valid else "Signature verification failed")
    return verifier


@pytest.fixture
def approvals(tmp_path, approval):
    def make(*approvers: str, **kw: object) -> list[str]:
        out = []
        for who in approvers:
            path = tmp_path / ("%s.json" % who.split("@")[0])
            path.write_text(json.dumps(approval(who, **kw)))
            (tmp_path / (path.name + ".sig")).write_text("sig")
            out.append(str(path))
        return out
    return make


def decide(change=UPGRADE, policy=POLICY, **kw):
    kw.setdefault("allowed_signers", "/dev/null")
    kw.setdefault("verifier", fake_verifier({"alice@erpops.example", "bob@erpops.example"}))
    return gate.decide(change, policy, **kw)


def test_high_risk_upgrade_in_payroll_freeze_is_blocked_with_the_reason(approvals) -> None:
    d = decide(at=IN_FREEZE, approvals=approvals("alice@erpops.example", "bob@erpops.example",
                                                 timestamp="2025-03-27T09:00:00Z"))
    assert d["allowed"] is False
    assert d["risk_class"] == "high"
    assert len(d["approvals"]) == 2
    assert d["reasons"] == ["freeze: payroll run 'monthly payroll' on 2025-03-31 "
                            "(freeze 2025-03-27 .. 2025-03-31, Europe/Berlin)"]
    assert d["freezes"][0]["kind"] == "payroll"
    # payroll (to Mon 31) and close (Mon 31 .. Wed 2 April) free Wednesday's window only after midnight
    assert d["next_window"]["start"] == "2025-04-03T00:00:00+02:00"


def test_same_change_outside_the_window_with_approvals_proceeds(approvals) -> None:
    d = decide(at=OUTSIDE, approvals=approvals("alice@erpops.example", "bob@erpops.example"))
    assert d["allowed"] is True, d["reasons"]
    assert [a["approver"] for a in d["approvals"]] == ["alice@erpops.example", "bob@erpops.example"]
    assert d["post_review_required"] is False and d["next_window"] is None


def test_missing_approvals_and_window_are_all_reported(approvals) -> None:
    d = decide(at="2025-04-07T10:00:00+02:00", approvals=approvals("alice@erpops.example",
                                                                    timestamp="2025-04-07T06:00:00Z"))
    assert d["allowed"] is False
    assert d["reasons"][0].startswith("outside the allowed release windows (default) for 2025-04-07T10:00:00+02:00")
    assert d["reasons"][1] == ("approvals: risk class high needs 2 distinct approver(s) other than the author, "
                               "1 verified")
    assert d["next_window"]["start"] == "2025-04-08T22:00:00+02:00"


def test_break_glass_proceeds_and_is_flagged() -> None:
    d = decide(at=IN_FREEZE, break_glass=True, break_glass_reason="INC-981 invoices cannot be posted")
    assert d["allowed"] is True
    assert d["break_glass"] is True and d["post_review_required"] is True
    assert d["reasons"][0] == "break-glass by dev@erpops.example: INC-981 invoices cannot be posted"
    assert any(r.startswith("bypassed freeze: payroll run") for r in d["reasons"])
    assert any(r.startswith("bypassed approvals:") for r in d["reasons"])


@pytest.mark.parametrize("reason", ["", "   ", "urgent", None])
def test_break_glass_needs_a_reason(reason: str | None) -> None:
    d = decide(at=IN_FREEZE, break_glass=True, break_glass_reason=reason)
    assert d["allowed"] is False
    assert "break_glass_reason: expected a mandatory reason of at least 15 characters" in d["error"]


def test_break_glass_can_be_disabled() -> None:
    policy = {**POLICY, "break_glass": {"allowed": False}}
    d = decide(policy=policy, at=IN_FREEZE, break_glass=True, break_glass_reason="a long enough reason here")
    assert d["allowed"] is False and "does not allow break-glass" in d["error"]


def test_rollback_is_allowed_in_a_freeze_but_recorded() -> None:
    change = {**UPGRADE, "kinds": ["image"], "operation": "rollback"}
    d = decide(change, at=IN_FREEZE, approvals=[])
    assert d["risk_class"] == "medium"
    # a medium change still needs one approver; the freeze does not block the rollback
    assert d["reasons"] == ["approvals: risk class medium needs 1 distinct approver(s) other than the author, "
                            "0 verified", "rollback is allowed during freezes (recorded): payroll run "
                            "'monthly payroll' on 2025-03-31 (freeze 2025-03-27 .. 2025-03-31, Europe/Berlin)"]


def test_rollback_with_approval_in_freeze_needs_post_review(approvals) -> None:
    change = {**UPGRADE, "kinds": ["image"], "operation": "rollback"}
    d = decide(change, at=IN_FREEZE, approvals=approvals("bob@erpops.example", risk_class="medium",
                                                                    timestamp="2025-03-27T09:00:00Z"))
    assert d["allowed"] is True and d["post_review_required"] is True
    assert d["freezes"]


def test_staging_records_but_does_not_enforce_the_calendar() -> None:
    change = {**UPGRADE, "kinds": ["odoo_conf"], "environment": "staging"}
    d = decide(change, at=IN_FREEZE)
    assert d["allowed"] is True and d["risk_class"] == "low"
    assert d["freezes"][0]["kind"] == "payroll"
    assert "calendar not enforced for environment staging; 1 freeze(s) recorded" in d["reasons"]


def test_every_tenant_calendar_applies() -> None:
    change = {**UPGRADE, "kinds": ["odoo_conf"], "tenants": ["acme", "bauhaus"]}
    d = decide(change, at=OUTSIDE)
    assert d["calendars"] == ["default", "ny"]
    assert d["allowed"] is False
    assert d["reasons"] == ["freeze: public holiday 2025-04-08 (public holiday)"]
    assert d["next_window"]["start"] == "2025-04-09T22:00:00+02:00"


def test_tenant_without_calendar_uses_the_environment_calendar() -> None:
    d = decide({**UPGRADE, "kinds": ["odoo_conf"], "tenants": ["stahlbau"]}, at=OUTSIDE)
    assert d["calendars"] == ["default"] and d["allowed"] is True


@pytest.mark.parametrize(("change", "policy", "match"), [
    ({**UPGRADE, "tenants": ["umbrella"]}, POLICY,
     "change.tenants: unknown tenant 'umbrella' (known: acme, bauhaus, stahlbau)"),
    ({**UPGRADE, "environment": "prod"}, POLICY, "change.environment: unknown environment 'prod'"),
    (UPGRADE, {**POLICY, "calendars": {"default": {**BERLIN, "timezone": "Mars/Olympus"}}},
     "calendar 'default'.timezone: unknown time zone 'Mars/Olympus'"),
    (UPGRADE, {**POLICY, "calendars": {"default": {**BERLIN, "release_windows": [
        {"days": ["tue"], "start": "22:00", "end": "02:00"}, {"days": ["wed"], "start": "01:00", "end": "03:00"}]}}},
     "windows [0] and [1] overlap"),
    (UPGRADE, {**POLICY, "tenants": {"acme": {"calendar": "nope"}}}, "policy.tenants.acme.calendar: unknown calendar"),
    (UPGRADE, {"calendars": {}}, "no calendar for environment 'production'"),
    (UPGRADE, {**POLICY, "approvals": {"requirements": {"high": {"min_approvers": "two"}}}},
     "approvals.requirements.high.min_approvers: expected an integer"),
    (UPGRADE, {**POLICY, "unknown": 1}, "policy: unknown key 'unknown'"),
    (UPGRADE, None, "policy: expected a mapping"),
    ("CHG-1", POLICY, "change: expected a mapping"),
])
def test_bad_input_fails_closed(change: object, policy: object, match: str) -> None:
    d = decide(change, policy, at=OUTSIDE, break_glass=True, break_glass_reason="even break-glass cannot bypass")
    assert d["allowed"] is False
    assert match in d["error"]
    assert d["reasons"] == ["invalid governance input, failing closed: %s" % d["error"]]


def test_policy_is_not_mutated() -> None:
    before = copy.deepcopy(POLICY)
    decide(at=OUTSIDE)
    assert before == POLICY


def test_release_notes(approvals) -> None:
    change = {**UPGRADE, "summary": "Odoo 17 | monthly", "image": "registry/odoo:17", "modules_update": ["sale"],
              "kinds": ["image", "modules_update", "db_migration"]}
    d = decide(change, at=OUTSIDE, approvals=approvals("alice@erpops.example", "bob@erpops.example"))
    md = render_release_notes(d, ["Timesheets change for foremen"], "backup-42")
    assert md.startswith("# Release CHG-1\n\nOdoo 17 \\| monthly\n")
    for line in ("| Gate decision | ALLOWED |", "| Risk class | high |", "- Container image: `registry/odoo:17`",
                 "- Modules updated: sale", "- Database migration", "- alice@erpops.example (release-manager) at "
                 "2025-04-08T09:00:00Z", "- Timesheets change for foremen", "## Rollback point\n\n- backup-42"):
        assert line in md
    glass = decide(at=IN_FREEZE, break_glass=True, break_glass_reason="INC-981 invoices cannot be posted")
    md = render_release_notes(glass)
    assert "| Gate decision | ALLOWED (break-glass, post-review required) |" in md
    assert "- Reason: INC-981 invoices cannot be posted" in md and "- not recorded" in md


def test_example_policy_is_valid() -> None:
    from pathlib import Path

    import yaml
    repo = Path(__file__).resolve().parents[5]
    policy = gate.load_policy(yaml.safe_load((repo / "inventories/examples/governance/policy.yml").read_text()))
    assert sorted(policy.calendars) == ["acme-de", "bauhaus-us", "default"]
    assert policy.tenants["acme"] == "acme-de"
