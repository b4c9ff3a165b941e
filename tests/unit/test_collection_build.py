"""``ansible-galaxy collection build`` ships the collection only: no lab state, build trees, bench results or venv."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN_TOP = {".lab", "build", "bench", "lab", "tools", ".venv", ".git", ".ci", "tests/output"}


def test_tarball_holds_no_lab_build_or_bench_content(tmp_path: Path) -> None:
    galaxy = Path(sys.executable).parent / "ansible-galaxy"
    res = subprocess.run([str(galaxy), "collection", "build", "--force", "--output-path", str(tmp_path), str(REPO)],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    (tarball,) = tmp_path.glob("erpops-odoo-*.tar.gz")
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    bad = [n for n in names if any(n == f or n.startswith(f + "/") for f in FORBIDDEN_TOP)]
    assert not bad, f"shipped by mistake: {bad[:10]}"
    for wanted in ("MANIFEST.json", "plugins/modules/odoo_instance.py", "roles/odoo/tasks/upgrade.yml",
                   "playbooks/pitr_restore.yml", "meta/runtime.yml", "COPYING"):
        assert wanted in names, wanted
