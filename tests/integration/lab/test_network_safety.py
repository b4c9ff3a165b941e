"""The lab's Kubernetes and Traefik processes listen on, and talk to, 127.0.0.0/8 only."""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.kube]

LAB_DIR = Path(os.environ.get("ERPOPS_LAB_DIR", Path(__file__).resolve().parents[3] / ".lab"))


def lab_pids(services: tuple[str, ...]) -> set[int]:
    pids = set()
    for svc in services:
        for pf in (LAB_DIR / svc).glob("*.pid"):
            pids.add(int(pf.read_text().strip()))
    return pids


def sockets() -> list[tuple[str, str, str, set[int]]]:
    """(state, local, peer, pids) for every TCP socket, from ``ss``."""
    out = subprocess.run(["ss", "-Htanp"], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 5:
            continue
        rows.append((parts[0], parts[3], parts[4], {int(p) for p in re.findall(r"pid=(\d+)", line)}))
    return rows


def host(addr: str) -> str:
    return addr.rsplit(":", 1)[0].strip("[]")


def is_loopback(addr: str) -> bool:
    h = host(addr)
    if h == "*":
        return False
    ip = ipaddress.ip_address(h.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def check_sockets(pids: set[int], allowed, what: str) -> int:
    """Assert every TCP socket of ``pids`` is bound to (and, unless listening, connected to) an allowed address;
    return how many there were."""
    seen = 0
    for state, local, peer, owners in sockets():
        if not owners & pids:
            continue
        seen += 1
        assert allowed(local), f"{what} {owners} bound to {local}"
        if state != "LISTEN":
            assert allowed(peer), f"{what} {owners} connected to {peer}"
    return seen


def test_lab_processes_use_loopback_only(lab_env: dict[str, str]) -> None:
    pids = lab_pids(("kube", "traefik"))
    assert pids, f"no kube/traefik pid files under {LAB_DIR}"
    seen = check_sockets(pids, is_loopback, "lab process")
    assert seen, "found no socket of the lab processes (is `ss` able to see them?)"


def test_pgnodes_repository_stays_on_the_lab_network(lab_env: dict[str, str]) -> None:
    """The pgnodes' pgBackRest S3 (HAProxy + moto) listens on and talks to loopback or the lab's own bridge."""
    bridge = ipaddress.ip_network(lab_env.get("PGNODES_SUBNET", "10.213.0.0/24"))
    pids = lab_pids(("pgnodes",))
    assert pids, f"no pgnodes pid files under {LAB_DIR} (make lab-up-test starts them)"

    def allowed(addr: str) -> bool:
        return is_loopback(addr) or ipaddress.ip_address(host(addr)) in bridge

    seen = check_sockets(pids, allowed, "pgnodes S3 process")
    assert seen >= 2, "expected the HAProxy and moto listeners of the pgnodes S3"
