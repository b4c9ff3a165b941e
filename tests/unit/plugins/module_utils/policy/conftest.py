"""Fixtures for the governance core tests: throwaway SSH signing keys (never committed)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

PEOPLE = {
    "alice": "alice@erpops.example",
    "bob": "bob@erpops.example",
    "carol": "carol@acme.example",
    "dev": "dev@erpops.example",
    "mallory": "mallory@evil.example",  # has a key, but is not in allowed_signers
}


class Signing:
    """Ed25519 keys for a few people, an allowed_signers file, and a helper to sign approvals."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.keys: dict[str, Path] = {}
        lines = []
        for short, ident in PEOPLE.items():
            key = root / short
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", ident, "-f", str(key)], check=True)
            self.keys[ident] = key
            if short != "mallory":
                pub = (root / (short + ".pub")).read_text().strip()
                lines.append('%s namespaces="erpops-release" %s' % (ident, pub))
        self.allowed_signers = root / "allowed_signers"
        self.allowed_signers.write_text("\n".join(lines) + "\n")

    def sign(self, name: str, approval: dict, signer: str | None = None, namespace: str = "erpops-release") -> str:
        """Write ``approval`` as JSON to ``name`` and sign it with ``signer``'s key (default: the approver)."""
        path = self.root / name
        path.write_text(json.dumps(approval, indent=2) + "\n")
        key = self.keys[signer or approval["approver"]]
        subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(key), "-n", namespace, str(path)], check=True,
                       capture_output=True)
        return str(path)


@pytest.fixture(scope="session")
def signing(tmp_path_factory: pytest.TempPathFactory) -> Signing:
    if not shutil.which("ssh-keygen"):
        pytest.fail("ssh-keygen (OpenSSH >= 8.1) is required for signature tests")
    return Signing(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def approval() -> Callable[..., dict]:
    def make(approver: str, change_id: str = "CHG-1", risk_class: str = "high",
             timestamp: str = "2025-04-08T09:00:00Z", **extra: object) -> dict:
        return {"change_id": change_id, "risk_class": risk_class, "approver": approver, "timestamp": timestamp,
                **extra}
    return make
