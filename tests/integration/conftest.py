"""Fixtures for lab-backed integration tests (``pytest -m lab``; start the lab with ``make lab-up``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from lab.framework import read_env  # noqa: E402

LAB_DIR = Path(os.environ.get("ERPOPS_LAB_DIR", REPO / ".lab"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/integration needs the lab: mark it so `-m lab` selects it."""
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def lab_env() -> dict[str, str]:
    """The lab's ``.lab/env`` as a dict. A missing lab is an error, never a skip."""
    path = LAB_DIR / "env"
    if not path.exists():
        pytest.fail(f"{path} not found: start the lab with `make lab-up`")
    return read_env(path)


@pytest.fixture(scope="session")
def conninfo(lab_env: dict[str, str]) -> str:
    """libpq connection string of the lab PostgreSQL (no dbname: pass it to connect)."""
    return "host=%s port=%s user=%s password=%s" % (lab_env["PGHOST"], lab_env["PGPORT"], lab_env["PGUSER"],
                                                    lab_env["PGPASSWORD"])


@pytest.fixture(scope="session")
def ansible_env(lab_env: dict[str, str]) -> dict[str, str]:
    """Process environment for running ansible-playbook against the lab."""
    env = dict(os.environ)
    env.update(lab_env)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / "build" / "collections"))
    env.setdefault("ANSIBLE_ROLES_PATH", str(REPO / "roles"))
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_RETRY_FILES_ENABLED"] = "0"
    return env


@pytest.fixture(scope="session")
def run_playbook(ansible_env: dict[str, str]):
    """Run a playbook with the lab inventory; returns the CompletedProcess (stdout+stderr text)."""

    def _run(playbook: str, *args: str, check: bool = True, inventory: str = "inventories/lab",
             extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(ansible_env)
        env.update(extra_env or {})
        cmd = ["ansible-playbook", "-i", str(REPO / inventory), str(REPO / playbook), *args]
        res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        if check and res.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout[-6000:]}\n{res.stderr[-3000:]}")
        return res

    return _run
