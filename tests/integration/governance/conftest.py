"""Fixtures for the governance playbook tests: no lab services, only ansible-playbook on localhost.

Deliberately not using ``lab_env``/``run_playbook`` (they need ``.lab/env``): the gate and the audit
callback run entirely on the controller.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
PEOPLE = {"alice": "alice@erpops.example", "bob": "bob@erpops.example", "carol": "carol@acme.example",
          "dev": "dev@erpops.example"}


@dataclass
class Run:
    proc: subprocess.CompletedProcess[str]
    audit: list[dict]

    @property
    def last(self) -> dict:
        return self.audit[-1]

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr


class Governance:
    """Throwaway SSH keys, allowed_signers, a policy file, and a runner for ansible-playbook."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.keys: dict[str, Path] = {}
        signers = []
        for short, ident in PEOPLE.items():
            key = root / "keys" / short
            key.parent.mkdir(exist_ok=True)
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", ident, "-f", str(key)], check=True)
            self.keys[ident] = key
            signers.append('%s namespaces="erpops-release" %s' % (ident, key.with_suffix(".pub").read_text().strip()))
        self.allowed_signers = root / "allowed_signers"
        self.allowed_signers.write_text("\n".join(signers) + "\n")
        # the shipped example policy, plus the author as an approver so separation of duties is what rejects him
        policy = yaml.safe_load((REPO / "inventories/examples/governance/policy.yml").read_text())
        policy["approvals"]["approvers"]["dev@erpops.example"] = {"roles": ["release-manager"]}
        self.policy = root / "policy.yml"
        self.policy.write_text(yaml.safe_dump(policy))
        self.inventory = root / "inventory.ini"
        self.inventory.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
        self.audit_log = root / "audit.jsonl"
        self.runs = 0

    def approval(self, folder: str, approver: str, change_id: str, *, risk_class: str = "high",
                 timestamp: str = "2025-04-08T09:00:00Z", signer: str | None = None) -> Path:
        path = self.root / folder / ("%s.yml" % approver.split("@", maxsplit=1)[0])
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump({"change_id": change_id, "risk_class": risk_class, "approver": approver,
                                        "timestamp": timestamp, "decision": "approve"}))
        subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(self.keys[signer or approver]), "-n",
                        "erpops-release", str(path)], check=True, capture_output=True)
        return path

    def run(self, extra_vars: dict, playbook: str = "playbooks/gate.yml", *args: str) -> Run:
        self.runs += 1
        vars_file = self.root / ("vars-%d.json" % self.runs)
        vars_file.write_text(json.dumps(extra_vars))
        env = dict(os.environ)
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / "build" / "collections"),
            "ANSIBLE_CALLBACKS_ENABLED": "erpops.odoo.release_audit",
            "ERPOPS_AUDIT_LOG": str(self.audit_log),
            "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0", "ANSIBLE_LOCALHOST_WARNING": "0",
            "PATH": "%s:%s" % (Path(sys.executable).parent, env.get("PATH", "")),
        })
        play = playbook if playbook.startswith("/") else str(REPO / playbook)
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(self.inventory), play,
               "-e", "@%s" % vars_file, *args]
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=300)
        lines = self.audit_log.read_text().splitlines() if self.audit_log.exists() else []
        audit = [json.loads(line) for line in lines]
        return Run(proc, audit)


@pytest.fixture(scope="module")
def governance(tmp_path_factory: pytest.TempPathFactory) -> Governance:
    link = REPO / "build" / "collections" / "ansible_collections" / "erpops" / "odoo"
    if not link.exists():
        pytest.fail("run `make collection-link` first (%s missing)" % link)
    return Governance(tmp_path_factory.mktemp("governance"))


@pytest.fixture
def change() -> Callable[..., dict]:
    def make(**kw: object) -> dict:
        base = {"id": "CHG-2025-042", "summary": "Odoo 17 monthly image", "kinds": ["image", "db_migration"],
                "tenants": ["acme"], "environment": "production", "author": "dev@erpops.example",
                "operation": "upgrade", "duration_minutes": 90}
        base.update(kw)
        return base
    return make
