"""Fixtures for the postgresql_ha tests: the pgnodes lab service, converged once per session by the role."""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parents[3]
INVENTORY = "inventories/lab/pgnodes.yml"
NODES = ("pg1", "pg2", "pg3")


def _recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host."""
    out: dict[str, dict[str, int]] = {}
    for line in output.split("PLAY RECAP", 1)[-1].splitlines():
        m = re.match(r"^(\S+)\s+:\s+(.*)$", line.strip())
        if m:
            out[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return out


class Cluster:
    """Access to the lab's pg nodes: SQL through HAProxy or per node, REST, podman exec."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.password = env["PGNODES_SUPERUSER_PASSWORD"]
        self.podman_args = shlex.split(env["PGNODES_PODMAN_ARGS"])

    def connect(self, port: int, timeout: int = 3, **kw) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=port, user=kw.pop("user", "postgres"),
                               password=kw.pop("password", self.password), dbname=kw.pop("dbname", "postgres"),
                               sslmode="require", connect_timeout=timeout, autocommit=True, **kw)

    def write_port(self) -> int:
        return int(self.env["PGNODES_HAPROXY_WRITE_PORT"])

    def read_port(self) -> int:
        return int(self.env["PGNODES_HAPROXY_READ_PORT"])

    def node_port(self, node: str) -> int:
        return int(self.env[f"PGNODES_{node.upper()}_PG_PORT"])

    def rest(self, node: str, path: str) -> tuple[int, dict]:
        import urllib.error
        import urllib.request
        port = self.env[f"PGNODES_{node.upper()}_REST_PORT"]
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"http://127.0.0.1:{port}{path}", timeout=3) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def cluster(self) -> dict:
        for n in NODES:
            try:
                status, body = self.rest(n, "/cluster")
            except OSError:
                continue
            if status == 200:
                return body
        raise AssertionError("no Patroni REST API answered")

    def leader(self) -> str | None:
        for m in self.cluster()["members"]:
            if m["role"] in ("leader", "master", "primary"):
                return m["name"]
        return None

    def wait_healthy(self, timeout: float = 120) -> dict:
        """Until there is a leader and every other member runs as a replica (the old leader rejoined)."""
        deadline = time.monotonic() + timeout
        body: dict = {}
        while time.monotonic() < deadline:
            try:
                body = self.cluster()
            except (AssertionError, OSError):
                time.sleep(1)
                continue
            roles = [m["role"] for m in body["members"]]
            if (len(body["members"]) == 3 and sum(r in ("leader", "master", "primary") for r in roles) == 1
                    and all(m["state"] in ("running", "streaming") for m in body["members"])
                    and all(m.get("lag", 0) not in ("unknown", None) for m in body["members"])):
                return body
            time.sleep(1)
        raise AssertionError(f"cluster not healthy after {timeout}s: {body}")

    def podman(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["podman", *self.podman_args, *args], capture_output=True, text=True, check=check)

    def sh(self, node: str, script: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.podman("exec", f"erpops-{node}", "sh", "-c", script, check=check)

    def crash(self, node: str) -> None:
        """SIGKILL Patroni and the postmaster; keep systemd from restarting Patroni until :meth:`rejoin`."""
        self.sh(node, "kill -9 $(systemctl show -p MainPID --value patroni) "
                      "$(head -1 /var/lib/postgresql/15/odoo/postmaster.pid); systemctl stop patroni")

    def rejoin(self, node: str) -> None:
        self.sh(node, "systemctl reset-failed patroni; systemctl start patroni")


@pytest.fixture(scope="session")
def cluster(lab_env: dict[str, str]) -> Cluster:
    if "PGNODES_INVENTORY" not in lab_env:
        pytest.fail("the pgnodes lab service is not up: make lab-up LAB_SERVICES=pgnodes")
    return Cluster(lab_env)


@pytest.fixture(scope="session")
def converged(run_playbook, cluster: Cluster) -> dict[str, object]:
    """Converge the cluster with the role twice: the first run may change things, the second must not."""
    first = run_playbook("playbooks/postgresql_ha.yml", inventory=INVENTORY)
    second = run_playbook("playbooks/postgresql_ha.yml", inventory=INVENTORY)
    return {"first": _recap(first.stdout), "second": _recap(second.stdout), "second_stdout": second.stdout}


@pytest.fixture(scope="session")
def recap():
    """Parse the PLAY RECAP of an ansible-playbook run into per-host counters."""
    return _recap


class Writer:
    """Inserts increasing ids through HAProxy; remembers every id whose COMMIT was acknowledged."""

    def __init__(self, cluster: Cluster, table: str) -> None:
        self.cluster = cluster
        self.table = table
        self.acked: list[int] = []
        self.errors = 0
        self.first_ok_after: dict[float, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        n = 0
        conn = None
        while not self._stop.is_set():
            try:
                if conn is None:
                    conn = self.cluster.connect(self.cluster.write_port(), timeout=2)
                n += 1
                conn.execute(f"INSERT INTO {self.table}(id) VALUES (%s)", (n,))  # noqa: S608 - fixed test table name
                self.acked.append(n)
            except psycopg.Error:
                self.errors += 1
                if conn is not None:
                    with contextlib.suppress(psycopg.Error):
                        conn.close()
                conn = None
                time.sleep(0.1)
            time.sleep(0.02)
        if conn is not None:
            conn.close()

    def wait_for_acks(self, count: int, timeout: float) -> None:
        start = len(self.acked)
        deadline = time.monotonic() + timeout
        while len(self.acked) < start + count and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(self.acked) >= start + count, f"writes did not resume within {timeout}s"


@pytest.fixture
def writer_factory(cluster: Cluster) -> Iterator:
    def make(table: str) -> Writer:
        with cluster.connect(cluster.write_port()) as c:
            c.execute(f"DROP TABLE IF EXISTS {table}")
            c.execute(f"CREATE TABLE {table}(id int PRIMARY KEY, at timestamptz DEFAULT now())")
        return Writer(cluster, table)

    yield make
