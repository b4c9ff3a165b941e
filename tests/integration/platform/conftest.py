"""Fixtures for the platform tests: the lab cluster (kubectl, API client) and the platform lab inventory."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from kubernetes import client, config


@pytest.fixture(scope="session")
def kube(lab_env: dict[str, str]) -> client.ApiClient:
    if "KUBECONFIG" not in lab_env:
        pytest.fail("the lab's kube service is not up (no KUBECONFIG in .lab/env): make lab-up LAB_SERVICES='kube s3'")
    return config.new_client_from_config(config_file=lab_env["KUBECONFIG"])


@pytest.fixture(scope="session")
def kubectl(lab_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, check: bool = True, kubeconfig: str | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [lab_env["LAB_KUBECTL"], "--kubeconfig", kubeconfig or lab_env["KUBECONFIG"], *args]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if check and res.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed: {res.stdout}{res.stderr}")
        return res
    return run
