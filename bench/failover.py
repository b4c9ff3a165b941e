#!/usr/bin/env python3
"""Failover and switchover write-unavailability of the lab's Patroni cluster (postgresql_ha role).

Needs ``make lab-up LAB_SERVICES=pgnodes`` (``make bench`` starts it); when no Patroni answers yet, the cluster is
converged first with ``playbooks/postgresql_ha.yml`` on ``inventories/lab/pgnodes.yml`` (not timed).

For each timing profile - the collection's defaults (ttl 20, loop_wait 2, retry_timeout 6) and Patroni's
(ttl 30, loop_wait 10, retry_timeout 10), applied with PATCH /config - it SIGKILLs the primary's Patroni and
postmaster ``ERPOPS_BENCH_FAILOVER_RUNS`` times (default 3) and measures the time from the kill to the first
successful INSERT through HAProxy (a new connection every 100 ms). Then it measures the same for planned
switchovers (POST /switchover to the best replica). Reports median and max, and the ratio of the two
profiles' medians. The collection's profile is restored at the end.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lab.framework import read_env  # noqa: E402
from tests.support.pgnodes import ClusterNotHealthy, PgNodes  # noqa: E402

PROFILES = {
    "collection_defaults": {"ttl": 20, "loop_wait": 2, "retry_timeout": 6},
    "patroni_defaults": {"ttl": 30, "loop_wait": 10, "retry_timeout": 10},
}


class Lab(PgNodes):
    def __init__(self) -> None:
        path = Path(os.environ.get("ERPOPS_LAB_DIR", REPO / ".lab")) / "env"
        env = read_env(path)
        if "PGNODES_INVENTORY" not in env:
            raise RuntimeError("the pgnodes lab service is not up: make lab-up LAB_SERVICES=pgnodes")
        super().__init__(env)

    def converge_if_needed(self) -> None:
        try:
            self.cluster()
            return
        except ClusterNotHealthy:
            pass
        print("[bench] failover: converging the pgnodes cluster first (postgresql_ha.yml)", flush=True)
        env = {**os.environ, **self.env, "ANSIBLE_COLLECTIONS_PATH": str(REPO / "build" / "collections"),
               "ANSIBLE_ROLES_PATH": str(REPO / "roles")}
        bindir = Path(sys.executable).parent
        subprocess.run([str(bindir / "ansible-playbook"), "-i", self.env["PGNODES_INVENTORY"],
                        str(REPO / "playbooks" / "postgresql_ha.yml")], cwd=REPO, env=env, check=True,
                       stdout=subprocess.DEVNULL)

    def write_once(self) -> bool:
        try:
            with psycopg.connect(host="127.0.0.1", port=int(self.env["PGNODES_HAPROXY_WRITE_PORT"]),
                                 user="postgres", password=self.env["PGNODES_SUPERUSER_PASSWORD"],
                                 dbname="postgres", sslmode="require", connect_timeout=1, autocommit=True) as c:
                c.execute("INSERT INTO bench_failover(at) VALUES (now())")
            return True
        except psycopg.Error:
            return False

    def time_to_write(self, start: float, timeout: float = 180) -> float:
        while time.monotonic() - start < timeout:
            if self.write_once():
                return round(time.monotonic() - start, 2)
            time.sleep(0.1)
        raise RuntimeError(f"no successful write through HAProxy within {timeout}s")

    def apply_profile(self, profile: dict[str, int]) -> None:
        status, body = self.rest(self.leader() or "pg1", "/config", method="PATCH", body=profile)
        if status != 200:
            raise RuntimeError(f"PATCH /config answered {status}: {body}")
        time.sleep(max(profile["loop_wait"], 2) + 2)  # every member picks it up within one loop


def summary(runs: list[float]) -> dict[str, object]:
    return {"runs": runs, "median": round(statistics.median(runs), 2), "max": max(runs), "n": len(runs)}


def main() -> dict:
    lab = Lab()
    runs = int(os.environ.get("ERPOPS_BENCH_FAILOVER_RUNS", "3"))
    lab.converge_if_needed()
    lab.wait_healthy()
    with psycopg.connect(host="127.0.0.1", port=int(lab.env["PGNODES_HAPROXY_WRITE_PORT"]), user="postgres",
                         password=lab.env["PGNODES_SUPERUSER_PASSWORD"], dbname="postgres",
                         sslmode="require", autocommit=True) as c:
        c.execute("CREATE TABLE IF NOT EXISTS bench_failover(id bigserial PRIMARY KEY, at timestamptz)")
    failover: dict[str, dict[str, object]] = {}
    try:
        for name, profile in PROFILES.items():
            lab.apply_profile(profile)
            times = []
            for i in range(runs):
                lab.wait_healthy()
                old = lab.leader()
                start = time.monotonic()
                lab.crash(old)
                t = lab.time_to_write(start)
                times.append(t)
                print(f"[bench] failover {name} run {i + 1}: {old} -> {lab.leader()} writes after {t}s", flush=True)
                lab.rejoin(old)
            failover[name] = summary(times)
        lab.apply_profile(PROFILES["collection_defaults"])
        switch = []
        for i in range(runs):
            body = lab.wait_healthy()
            old = lab.leader()
            cand = sorted((m for m in body["members"] if m["role"] != "leader"),
                          key=lambda m: (m["role"] != "sync_standby", m.get("lag", 0)))[0]["name"]
            start = time.monotonic()
            status, answer = lab.rest(old, "/switchover", method="POST", body={"leader": old, "candidate": cand},
                                      timeout=60)
            if status != 200:
                raise RuntimeError(f"switchover answered {status}: {answer}")
            t = lab.time_to_write(start)
            switch.append(t)
            print(f"[bench] switchover run {i + 1}: {old} -> {cand} writes after {t}s", flush=True)
    finally:
        lab.apply_profile(PROFILES["collection_defaults"])
    lab.wait_healthy()
    result = {
        "what": "seconds from SIGKILL of the primary's Patroni+postmaster (or a switchover request) to the first "
                "successful INSERT through HAProxy; 3-node Patroni 3.0.2 + etcd 3.4 + HAProxy on lab containers, "
                "synchronous mode",
        "profiles": PROFILES,
        "failover_seconds": failover,
        "switchover_write_unavailability_seconds": summary(switch),
        "ratios": {
            "failover_median_collection_vs_patroni_defaults": round(
                failover["collection_defaults"]["median"] / failover["patroni_defaults"]["median"], 3),
            "failover_max_collection_vs_patroni_defaults": round(
                failover["collection_defaults"]["max"] / failover["patroni_defaults"]["max"], 3),
            "switchover_median_vs_failover_median": round(
                statistics.median(switch) / failover["collection_defaults"]["median"], 3),
        },
    }
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
