"""Helpers of the platform integration tests (tests/integration/platform)."""

from __future__ import annotations

import json
import re
from pathlib import Path

INVENTORY = "inventories/platform_lab"


def recap(stdout: str) -> dict[str, int]:
    """The localhost line of the PLAY RECAP as {ok, changed, failed, ...}."""
    line = [ln for ln in stdout.splitlines() if ln.startswith("localhost") and "changed=" in ln][-1]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def changed_tasks(stdout: str) -> list[str]:
    """Names of tasks that reported changed (for a readable idempotence failure)."""
    out, task = [], None
    for ln in stdout.splitlines():
        if ln.startswith("TASK ["):
            task = ln
        elif ln.startswith("changed:") and task:
            out.append(task)
    return out


def sa_kubeconfig(kubectl, lab_env: dict[str, str], namespace: str, sa: str, path: Path) -> Path:
    """A kubeconfig authenticating as ServiceAccount ``namespace/sa`` with a short-lived TokenRequest token."""
    token = kubectl("create", "token", sa, "-n", namespace, "--duration=1h").stdout.strip()
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "sa",
           "clusters": [{"name": "lab", "cluster": {"server": lab_env["LAB_KUBE_API"],
                                                    "certificate-authority": lab_env["LAB_KUBE_CA"]}}],
           "users": [{"name": sa, "user": {"token": token}}],
           "contexts": [{"name": "sa", "context": {"cluster": "lab", "user": sa, "namespace": namespace}}]}
    path.write_text(json.dumps(cfg))
    path.chmod(0o600)
    return path
