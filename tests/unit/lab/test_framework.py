"""Unit tests of the lab framework (lab/framework.py): ordering, env file, process handling."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from lab.framework import Lab, LabError, Service, order, read_env, write_env


class _Svc(Service):
    def __init__(self, name: str, after: tuple[str, ...] = (), up: bool = True, env: dict[str, str] | None = None):
        self.name, self.after, self._up, self._env = name, after, up, env or {}

    def healthy(self, lab: Lab) -> bool:
        return self._up

    def start(self, lab: Lab) -> None:
        self._up = True

    def env(self, lab: Lab) -> dict[str, str]:
        return self._env


def test_order_pulls_dependencies_first() -> None:
    svcs = {"a": _Svc("a"), "b": _Svc("b", ("a",)), "c": _Svc("c", ("b", "a"))}
    assert order(svcs, ["c"]) == ["a", "b", "c"]
    assert order(svcs, ["b", "a"]) == ["a", "b"]


def test_order_rejects_unknown_and_cycles() -> None:
    with pytest.raises(LabError, match="unknown lab service 'x'"):
        order({"a": _Svc("a")}, ["x"])
    with pytest.raises(LabError, match="dependency cycle"):
        order({"a": _Svc("a", ("b",)), "b": _Svc("b", ("a",))}, ["a"])


def test_env_file_roundtrip_only_healthy_services(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    svcs = {"a": _Svc("a", env={"A_URL": "redis://:p@127.0.0.1:1/0"}), "b": _Svc("b", up=False, env={"B": "x"})}
    path = write_env(lab, svcs)
    env = read_env(path)
    assert env["A_URL"] == "redis://:p@127.0.0.1:1/0"
    assert "B" not in env
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_secret_is_stable_and_private(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    first = lab.secret("pw")
    assert len(first) >= 20
    assert Lab(tmp_path).secret("pw") == first
    assert lab.secret("other") != first
    assert oct((tmp_path / "secrets.json").stat().st_mode & 0o777) == "0o600"


def test_spawn_and_stop_leave_no_process(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    # a parent that forks a child: stop must take down the whole process group
    pid = lab.spawn("svc", "sleeper", ["sh", "-c", "sleep 300 & sleep 300"])
    lab.wait_until(lambda: lab.alive(pid), 5, "sleeper")
    time.sleep(0.2)
    assert lab._group_alive(pid)
    lab.stop_procs("svc", timeout=5)
    assert not lab._group_alive(pid)
    assert lab.pids("svc") == {}


def test_wait_until_reports_log_tail(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    log = tmp_path / "x.log"
    log.write_text("line1\nboom: port in use\n")
    with pytest.raises(LabError, match="boom: port in use"):
        lab.wait_until(lambda: False, 0.3, "never", [log])
