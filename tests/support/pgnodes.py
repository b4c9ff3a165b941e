"""Client for the lab's pgnodes Patroni cluster (``make lab-up LAB_SERVICES=pgnodes``), shared by the
postgresql_ha integration tests and ``bench/failover.py``: SQL through HAProxy or per node, the Patroni
REST API on the 127.0.0.1 published ports, and ``podman exec`` into the systemd containers."""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
import time
import urllib.error
import urllib.request

import psycopg

NODES = ("pg1", "pg2", "pg3")
PRIMARY_ROLES = ("leader", "master", "primary")
DATA_DIR = "/var/lib/postgresql/15/odoo"


class ClusterNotHealthy(AssertionError):
    """The cluster did not reach the wanted state in time (an assertion failure in tests)."""


class PgNodes:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.password = env["PGNODES_SUPERUSER_PASSWORD"]
        self.podman_args = shlex.split(env["PGNODES_PODMAN_ARGS"])
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # -- SQL -------------------------------------------------------------------------------------
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

    # -- Patroni REST ------------------------------------------------------------------------------
    def rest(self, node: str, path: str, method: str = "GET", body: dict | None = None,
             timeout: float = 3) -> tuple[int, object]:
        """(status, decoded body) of one REST call; writes authenticate as the ``patroni`` REST user."""
        port = self.env[f"PGNODES_{node.upper()}_REST_PORT"]
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        if method != "GET":
            cred = base64.b64encode(f"patroni:{self.env['PGNODES_REST_PASSWORD']}".encode()).decode()
            req.add_header("Authorization", f"Basic {cred}")
            req.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(req, timeout=timeout) as resp:
                raw, status = resp.read(), resp.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        try:
            return status, json.loads(raw or b"{}")
        except ValueError:
            return status, raw.decode(errors="replace")

    def cluster(self) -> dict:
        """``GET /cluster`` from the first node that answers."""
        for n in NODES:
            try:
                status, body = self.rest(n, "/cluster")
            except OSError:
                continue
            if status == 200 and isinstance(body, dict):
                return body
        raise ClusterNotHealthy("no Patroni REST API answered")

    def leader(self) -> str | None:
        return next((m["name"] for m in self.cluster()["members"] if m["role"] in PRIMARY_ROLES), None)

    def wait_healthy(self, timeout: float = 120, sync_standbys: int = 1) -> dict:
        """Until there is one leader, every other member runs as a replica (an old leader rejoined) and, for the
        lab's synchronous mode, ``sync_standbys`` of them are synchronous standbys: right after a switchover the new
        leader names its synchronous standby a few loops later, and until then no replica may take over (Patroni
        promotes only a synchronous standby), so a failover test must not start before that."""
        deadline = time.monotonic() + timeout
        body: dict = {}
        while time.monotonic() < deadline:
            try:
                body = self.cluster()
            except (ClusterNotHealthy, OSError):
                time.sleep(1)
                continue
            ms = body["members"]
            if (len(ms) == 3 and sum(m["role"] in PRIMARY_ROLES for m in ms) == 1
                    and all(m["state"] in ("running", "streaming") for m in ms)
                    and all(m.get("lag", 0) not in ("unknown", None) for m in ms)
                    and sum(m["role"] == "sync_standby" for m in ms) >= sync_standbys):
                return body
            time.sleep(1)
        raise ClusterNotHealthy(f"cluster not healthy after {timeout}s: {body}")

    # -- hosts -----------------------------------------------------------------------------------
    def podman(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["podman", *self.podman_args, *args], capture_output=True, text=True, check=check)

    def sh(self, node: str, script: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.podman("exec", f"erpops-{node}", "sh", "-c", script, check=check)

    def crash(self, node: str) -> None:
        """SIGKILL Patroni and the postmaster; ``systemctl stop`` keeps systemd from restarting Patroni in
        place (so this is a failover, not a restart) until :meth:`rejoin`."""
        self.sh(node, "kill -9 $(systemctl show -p MainPID --value patroni) "
                      f"$(head -1 {DATA_DIR}/postmaster.pid); systemctl stop patroni")

    def rejoin(self, node: str) -> None:
        self.sh(node, "systemctl reset-failed patroni; systemctl start patroni")
