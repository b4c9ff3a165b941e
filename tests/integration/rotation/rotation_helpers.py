"""Helpers shared by the credential-rotation integration tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import psycopg


def pg_connect(admin: dict, dbname: str = "postgres", **override):
    kw = {"host": admin["host"], "port": admin["port"], "user": admin["user"], "password": admin["password"],
          "dbname": dbname, "autocommit": True, "connect_timeout": 10}
    kw.update(override)
    return psycopg.connect(**kw)


def stages(sm, secret_id: str) -> dict[str, list[str]]:
    got = sm.describe_secret(SecretId=secret_id).get("VersionIdsToStages") or {}
    return {v: sorted(s) for v, s in got.items() if s}


def sm_current(sm, secret_id: str) -> dict:
    # VersionStage is explicit: moto 5.2 answers a bare GetSecretValue with the version that was current before
    # the last UpdateSecretVersionStage (AWS answers with AWSCURRENT, the documented default).
    return json.loads(sm.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")["SecretString"])


class Clients:
    """``n`` threads that each loop: read the current credential, open a NEW connection, query, close."""

    def __init__(self, n: int, attempt: Callable[[], str]) -> None:
        self.n, self.attempt = n, attempt
        self.stop = threading.Event()
        self.ok = 0
        self.failures: list[str] = []
        self.users: set[str] = set()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(n)]

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                user = self.attempt()
            except Exception as exc:  # noqa: BLE001 - every failure counts
                with self.lock:
                    self.failures.append("%s: %s" % (type(exc).__name__, str(exc).splitlines()[0][:200]))
            else:
                with self.lock:
                    self.ok += 1
                    self.users.add(user)
            time.sleep(0.01)

    def __enter__(self) -> Clients:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)
