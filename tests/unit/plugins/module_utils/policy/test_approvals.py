"""Signed approvals, verified with real ``ssh-keygen -Y verify`` and throwaway keys."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.policy import approvals as ap
from ansible_collections.erpops.odoo.plugins.module_utils.policy import risk
from ansible_collections.erpops.odoo.plugins.module_utils.policy.errors import PolicyError

NOW = dt.datetime(2025, 4, 8, 20, 0, tzinfo=dt.UTC)
POLICY = {"approvers": {
    "alice@erpops.example": {"roles": ["release-manager"]},
    "bob@erpops.example": {"roles": ["engineer"]},
    "carol@acme.example": {"roles": ["business-owner"]},
    "dev@erpops.example": {"roles": ["release-manager"]},
    "mallory@evil.example": {"roles": ["release-manager"]},
}}
CHANGE = risk.normalize_change({"id": "CHG-1", "kinds": ["db_migration"], "environment": "production",
                                "author": "dev@erpops.example"})


def verify(files: list[str], signing, risk_class: str = "high", policy: dict | None = None) -> ap.ApprovalResult:
    return ap.verify_approvals(CHANGE, risk_class, files, policy or POLICY,
                               allowed_signers=str(signing.allowed_signers), now=NOW)


def test_two_valid_approvals_with_the_role_satisfy_high(signing, approval) -> None:
    files = [signing.sign("ok-alice.json", approval("alice@erpops.example")),
             signing.sign("ok-bob.json", approval("bob@erpops.example"))]
    result = verify(files, signing)
    assert result.satisfied, result.missing
    assert [a["approver"] for a in result.verified] == ["alice@erpops.example", "bob@erpops.example"]
    assert result.rejected == []


def test_tampered_file_is_rejected(signing, approval) -> None:
    path = signing.sign("tampered.json", approval("alice@erpops.example"))
    Path(path).write_text(Path(path).read_text().replace("CHG-1", "CHG-1 "))  # any byte change breaks it
    result = verify([path], signing)
    assert not result.satisfied
    assert "signature does not verify for 'alice@erpops.example'" in result.rejected[0]["reason"]


def test_author_cannot_approve(signing, approval) -> None:
    files = [signing.sign("self.json", approval("dev@erpops.example")),
             signing.sign("self-alice.json", approval("alice@erpops.example"))]
    result = verify(files, signing)
    assert not result.satisfied
    assert result.rejected[0]["reason"].startswith("separation of duties: 'dev@erpops.example' is the change author")
    assert "needs 2 distinct approver(s) other than the author, 1 verified" in result.missing[0]


def test_same_person_counts_once(signing, approval) -> None:
    files = [signing.sign("twice-1.json", approval("alice@erpops.example")),
             signing.sign("twice-2.json", approval("alice@erpops.example", comment="again"))]
    result = verify(files, signing)
    assert len(result.verified) == 1
    assert result.rejected[0]["reason"] == "duplicate approval by 'alice@erpops.example' (counted once)"
    assert not result.satisfied


@pytest.mark.parametrize(("data", "signer", "reason"), [
    ({"change_id": "CHG-2"}, None, "signed for change 'CHG-2', not 'CHG-1'"),
    ({"risk_class": "medium"}, None, "approved risk class medium is lower than the change's class high"),
    ({"timestamp": "2025-03-01T00:00:00Z"}, None, "older than 168 hours"),
    ({"timestamp": "2025-04-09T00:00:00Z"}, None, "is in the future"),
    ({}, "bob@erpops.example", "signature does not verify"),  # alice's name, bob's key
    ({"approver": "mallory@evil.example"}, None, "signature does not verify"),  # key not in allowed_signers
    ({"approver": "eve@nowhere.example"}, "alice@erpops.example", "is not listed in approvals.approvers"),
])
def test_mismatching_approvals_are_rejected(signing, approval, data: dict, signer: str | None, reason: str) -> None:
    content = {**approval("alice@erpops.example"), **data}
    path = signing.sign("bad-%s.json" % abs(hash(reason)), content, signer=signer or content["approver"]
                        if content["approver"] in signing.keys else "alice@erpops.example")
    result = verify([path], signing)
    assert reason in result.rejected[0]["reason"]
    assert result.verified == []


def test_wrong_namespace_is_rejected(signing, approval) -> None:
    path = signing.sign("ns.json", approval("alice@erpops.example"), namespace="git")
    assert "signature does not verify" in verify([path], signing).rejected[0]["reason"]


def test_roles_need_distinct_people(signing, approval) -> None:
    files = [signing.sign("c-alice.json", approval("alice@erpops.example", risk_class="critical")),
             signing.sign("c-bob.json", approval("bob@erpops.example", risk_class="critical")),
             signing.sign("c-carol.json", approval("carol@acme.example", risk_class="critical"))]
    assert verify(files, signing, "critical").satisfied
    result = verify(files[:2], signing, "critical")
    assert any("roles release-manager, business-owner" in m for m in result.missing)


def test_signed_rejection_vetoes(signing, approval) -> None:
    files = [signing.sign("v-alice.json", approval("alice@erpops.example")),
             signing.sign("v-bob.json", approval("bob@erpops.example")),
             signing.sign("v-carol.json", approval("carol@acme.example", decision="reject", comment="not in Q1"))]
    result = verify(files, signing)
    assert not result.satisfied
    assert result.missing == ["rejected by carol@acme.example: not in Q1"]


def test_missing_signature_and_garbage_are_rejected_not_raised(signing, approval, tmp_path: Path) -> None:
    unsigned = tmp_path / "unsigned.json"
    unsigned.write_text(json.dumps(approval("alice@erpops.example")))
    partial = tmp_path / "partial.json"
    partial.write_text('{"change_id": "CHG-1"}')
    garbage = tmp_path / "garbage.yml"
    garbage.write_text("- [unbalanced")
    result = verify([str(unsigned), str(partial), str(garbage), str(tmp_path / "absent.yml")], signing)
    reasons = [r["reason"] for r in result.rejected]
    assert reasons[0] == "signature file unsigned.json.sig not found"
    assert reasons[1] == "approval partial.json.risk_class: expected a value, got None"
    assert "not valid YAML/JSON" in reasons[2]
    assert "No such file" in reasons[3]


def test_yaml_approvals_work(signing) -> None:
    path = signing.root / "yaml-approval.yml"
    path.write_text("change_id: CHG-1\nrisk_class: critical\napprover: alice@erpops.example\n"
                    "timestamp: '2025-04-08T10:00:00Z'\n")
    subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(signing.keys["alice@erpops.example"]), "-n",
                    "erpops-release", str(path)], check=True, capture_output=True)
    result = verify([str(path)], signing, "medium")
    assert result.satisfied and result.verified[0]["risk_class"] == "critical"


def test_missing_allowed_signers_fails_closed(signing, approval) -> None:
    path = signing.sign("as.json", approval("alice@erpops.example"))
    with pytest.raises(PolicyError, match="allowed_signers file '/nonexistent' not found"):
        ap.verify_approvals(CHANGE, "high", [path], POLICY, allowed_signers="/nonexistent", now=NOW)


def test_missing_ssh_keygen_fails_closed(signing, approval) -> None:
    path = signing.sign("kg.json", approval("alice@erpops.example"))
    with pytest.raises(PolicyError, match="cannot run '/no/ssh-keygen'"):
        ap.verify_approvals(CHANGE, "high", [path], POLICY, allowed_signers=str(signing.allowed_signers), now=NOW,
                            ssh_keygen="/no/ssh-keygen")


@pytest.mark.parametrize(("policy", "match"), [
    ({"requirements": {"huge": {}}}, r"approvals\.requirements key: expected one of low"),
    ({"requirements": {"high": {"min_approvers": 1, "roles": ["a", "b"]}}}, r"at most min_approvers \(1\)"),
    ({"requirements": {"high": {"min_approvers": -1}}}, r"min_approvers: expected an integer"),
    ({"approvers": {"x": {"roles": "admin"}}}, r"approvals\.approvers\['x'\]\.roles: expected a list"),
    ({"max_age_hours": 0}, r"max_age_hours: expected a positive number"),
    ({"approver": {}}, r"approvals: unknown key 'approver'"),
])
def test_bad_approval_policy(policy: dict, match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        ap.load_approval_policy(policy)
