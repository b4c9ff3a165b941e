"""Fixtures for the postgresql_ha tests: the pgnodes lab service, converged once per session by the role."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.pgnodes import PgNodes

REPO = Path(__file__).resolve().parents[3]
INVENTORY = "inventories/lab/pgnodes.yml"


def _recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host."""
    out: dict[str, dict[str, int]] = {}
    for line in output.split("PLAY RECAP", 1)[-1].splitlines():
        m = re.match(r"^(\S+)\s+:\s+(.*)$", line.strip())
        if m:
            out[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return out


@pytest.fixture(scope="session")
def cluster(lab_env: dict[str, str]) -> PgNodes:
    if "PGNODES_INVENTORY" not in lab_env:
        pytest.fail("the pgnodes lab service is not up: make lab-up LAB_SERVICES=pgnodes")
    return PgNodes(lab_env)


@pytest.fixture(scope="session")
def converged(run_playbook, cluster: PgNodes) -> dict[str, object]:
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

    def __init__(self, cluster: PgNodes, table: str) -> None:
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
def writer_factory(cluster: PgNodes) -> Iterator:
    def make(table: str) -> Writer:
        with cluster.connect(cluster.write_port()) as c:
            c.execute(f"DROP TABLE IF EXISTS {table}")
            c.execute(f"CREATE TABLE {table}(id int PRIMARY KEY, at timestamptz DEFAULT now())")
        return Writer(cluster, table)

    yield make
