"""The lab framework: start, health-check, report and stop local services.

Standard library only, so it runs with the machine's python3 before any venv exists.
Every service binds to 127.0.0.1 and keeps its state under ``.lab/<service>/``.
A service is a subclass of :class:`Service` in ``lab/services/<name>.py``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pkgutil
import pwd
import secrets
import signal
import socket
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class LabError(RuntimeError):
    """A lab service failed; the message already carries the log tail."""


def log(msg: str) -> None:
    print(f"[lab] {msg}", flush=True)


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 30) -> str:
    try:
        data = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(f"    {line}" for line in data[-lines:])


class Lab:
    """Shared helpers handed to every service."""

    def __init__(self, root: Path | None = None) -> None:
        self.repo = REPO
        self.root = (root or Path(os.environ.get("ERPOPS_LAB_DIR", REPO / ".lab"))).resolve()
        self.cache = Path(os.environ.get("ERPOPS_LAB_CACHE", Path.home() / ".cache" / "erpops-lab"))
        self.root.mkdir(parents=True, exist_ok=True)

    # -- state ---------------------------------------------------------------
    def dir(self, name: str) -> Path:
        d = self.root / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def secret(self, key: str, nbytes: int = 18) -> str:
        """A random secret generated at first use and kept in ``.lab/secrets.json`` (mode 0600)."""
        path = self.root / "secrets.json"
        data: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        if key not in data:
            data[key] = secrets.token_urlsafe(nbytes)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
            tmp.chmod(0o600)
            tmp.replace(path)
        return data[key]

    # -- processes -----------------------------------------------------------
    def _pidfile(self, service: str, proc: str) -> Path:
        return self.dir(service) / f"{proc}.pid"

    def logfile(self, service: str, proc: str) -> Path:
        return self.dir(service) / f"{proc}.log"

    def spawn(
        self,
        service: str,
        proc: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> int:
        """Start ``argv`` detached in its own session; log and pid file under ``.lab/<service>/``."""
        logpath = self.logfile(service, proc)
        full_env = dict(os.environ)
        full_env.update(env or {})
        preexec = None
        if user is not None and os.geteuid() == 0:
            pw = pwd.getpwnam(user)
            full_env.update(HOME=pw.pw_dir, USER=user, LOGNAME=user)

            def preexec() -> None:  # runs in the child
                os.setgid(pw.pw_gid)
                os.initgroups(user, pw.pw_gid)
                os.setuid(pw.pw_uid)

        with open(logpath, "ab") as out:
            if user is not None and os.geteuid() == 0:
                os.chown(logpath, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
            child = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=str(cwd) if cwd else None,
                env=full_env,
                start_new_session=True,
                preexec_fn=preexec,  # noqa: PLW1509 - drop privileges before exec; no threads at this point
            )
        self._pidfile(service, proc).write_text(str(child.pid))
        return child.pid

    def pids(self, service: str) -> dict[str, int]:
        out: dict[str, int] = {}
        d = self.root / service
        if not d.is_dir():
            return out
        for pf in sorted(d.glob("*.pid")):
            try:
                out[pf.stem] = int(pf.read_text().strip())
            except ValueError:
                pf.unlink()
        return out

    @staticmethod
    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        # a zombie is not alive for our purposes
        try:
            with open(f"/proc/{pid}/stat") as fh:
                return fh.read().split(") ", 1)[1][0] != "Z"
        except OSError:
            return False

    def stop_procs(self, service: str, timeout: float = 15.0, procs: Iterable[str] | None = None) -> None:
        """TERM each recorded process group (newest first), then KILL what is left."""
        recorded = self.pids(service)
        names = list(procs) if procs is not None else list(reversed(list(recorded)))
        for name in names:
            pid = recorded.get(name)
            if pid is None:
                continue
            self._signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self._group_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if self._group_alive(pid):
                log(f"{service}/{name}: still running after {timeout:.0f}s, killing")
                self._signal_group(pid, signal.SIGKILL)
                time.sleep(0.2)
            self._pidfile(service, name).unlink(missing_ok=True)

    @staticmethod
    def _signal_group(pid: int, sig: int) -> None:
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def _group_alive(self, pgid: int) -> bool:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().split(") ", 1)[1].split()
            except (OSError, IndexError):
                continue
            # fields[0] = state, fields[2] = pgrp
            if fields[0] != "Z" and int(fields[2]) == pgid:
                return True
        return False

    def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float,
        what: str,
        logs: Sequence[Path] = (),
        interval: float = 0.25,
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(interval)
        tails = "\n".join(f"  --- {p} ---\n{tail(p)}" for p in logs)
        raise LabError(f"timed out after {timeout:.0f}s waiting for {what}\n{tails}")

    def run(self, argv: Sequence[str], *, user: str | None = None, check: bool = True,
            env: Mapping[str, str] | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a short command; on failure raise LabError with its output."""
        cmd = list(argv)
        if user is not None and os.geteuid() == 0:
            cmd = ["runuser", "-u", user, "--", *cmd]
        full_env = dict(os.environ)
        full_env.update(env or {})
        res = subprocess.run(cmd, capture_output=True, text=True, env=full_env, input=input, check=False)
        if check and res.returncode != 0:
            raise LabError(f"command failed ({res.returncode}): {' '.join(cmd)}\n{res.stdout}{res.stderr}")
        return res


class Service(ABC):
    """One lab component. Subclasses define ``healthy`` and ``start`` and override other hooks as needed."""

    name: str = ""
    after: tuple[str, ...] = ()
    #: started by ``labctl up`` without arguments
    default: bool = True
    #: seconds ``labctl up`` waits for ``healthy`` after ``start`` returned
    start_timeout: float = 60.0

    @abstractmethod
    def healthy(self, lab: Lab) -> bool:
        """Cheap check that the service answers (called often)."""

    @abstractmethod
    def start(self, lab: Lab) -> None:
        """Start the service; called only when it is not healthy."""

    def stop(self, lab: Lab) -> None:
        lab.stop_procs(self.name)

    def ready(self, lab: Lab) -> None:  # noqa: B027 - optional hook, a no-op unless a service needs set-up
        """Idempotent set-up once the service is healthy (fixtures every user of the lab expects, such as the
        backup bucket); called by ``labctl up`` whether the service was started now or already running."""

    def env(self, lab: Lab) -> dict[str, str]:
        return {}

    def describe(self, lab: Lab) -> str:
        return ""

    def logs(self, lab: Lab) -> list[Path]:
        d = lab.root / self.name
        return sorted(d.glob("*.log")) if d.is_dir() else []


def discover() -> dict[str, Service]:
    """Import every module in ``lab/services`` and instantiate its Service subclasses."""
    import lab.services as pkg  # noqa: PLC0415 - imported late so `lab.framework` has no import cycle

    found: dict[str, Service] = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        mod = importlib.import_module(f"lab.services.{info.name}")
        for obj in vars(mod).values():
            if isinstance(obj, type) and issubclass(obj, Service) and obj.__module__ == mod.__name__ and obj.name:
                found[obj.name] = obj()
    return found


def order(services: Mapping[str, Service], wanted: Iterable[str]) -> list[str]:
    """Names in start order: each after its dependencies (which are pulled in)."""
    result: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in result:
            return
        if name not in services:
            raise LabError(f"unknown lab service {name!r}; known: {', '.join(sorted(services))}")
        if name in visiting:
            raise LabError(f"dependency cycle at lab service {name!r}")
        visiting.add(name)
        for dep in services[name].after:
            visit(dep)
        visiting.discard(name)
        result.append(name)

    for n in wanted:
        visit(n)
    return result


def write_env(lab: Lab, services: Mapping[str, Service]) -> Path:
    """Write ``.lab/env``: KEY=value lines from every healthy service (shell- and Python-readable)."""
    lines = ["# Written by lab/labctl.py; sourced by inventories/lab and the tests."]
    lines.append(f"LAB_DIR={lab.root}")
    for name in sorted(services):
        svc = services[name]
        if not svc.healthy(lab):
            continue
        for k, v in svc.env(lab).items():
            if any(c in v for c in "\n'"):
                raise LabError(f"{name}: env value for {k} cannot be written safely")
            lines.append(f"{k}='{v}'")
    path = lab.root / "env"
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def read_env(path: Path) -> dict[str, str]:
    """Parse ``.lab/env`` (the format written by :func:`write_env`)."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        out[k] = v[1:-1] if len(v) >= 2 and v[0] == v[-1] == "'" else v
    return out


def main_exit(err: LabError) -> None:
    print(f"[lab] ERROR: {err}", file=sys.stderr, flush=True)
    sys.exit(1)
