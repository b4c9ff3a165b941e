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


def test_lab_processes_use_loopback_only(lab_env: dict[str, str]) -> None:
    pids = lab_pids(("kube", "traefik"))
    assert pids, f"no kube/traefik pid files under {LAB_DIR}"
    seen = 0
    for state, local, peer, owners in sockets():
        if not owners & pids:
            continue
        seen += 1
        assert is_loopback(local), f"lab process {owners} bound to {local}"
        if state != "LISTEN":
            assert is_loopback(peer), f"lab process {owners} connected to {peer}"
    assert seen, "found no socket of the lab processes (is `ss` able to see them?)"
