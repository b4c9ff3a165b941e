"""Three Debian "hosts" (pg1..pg3) for the postgresql_ha role: podman containers running systemd.

The image comes from ``lab/images/build-host-image.sh`` (built once into the lab cache). The
containers sit on a lab-made podman network that is ``--internal`` (no route out of the machine,
no NAT): they reach each other on 10.213.0.0/24 and the host reaches them only through ports
published on 127.0.0.1. Ansible drives them with the ``containers.podman.podman`` connection, so
there is no sshd. Nothing is installed on them at start: the role does that (``inventories/lab/pgnodes.yml``).

The nodes' WAL archive (pgBackRest) goes to an S3 API only they can reach: a second moto server, over TLS
(pgBackRest speaks S3 only over HTTPS) with a certificate from the lab CA, bound to the bridge's host address
(``S3_HOST``, the lab's own network) rather than 127.0.0.1, which inside a container is the container itself.

Not a default service: ``make lab-up LAB_SERVICES=pgnodes`` (or the tests/molecule that need it).
"""

from __future__ import annotations

import json
import os
import shlex
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from lab.framework import Lab, LabError, Service, log, port_open
from lab.services.kube import issue_cert, pki_dir
from lab.services.s3 import REGION, credentials, ensure_bucket, moto_binary

NODES = ("pg1", "pg2", "pg3")
NETWORK = "erpops-pgnodes"
SUBNET = os.environ.get("ERPOPS_LAB_PGNODES_SUBNET", "10.213.0.0/24")
PORT_BASE = int(os.environ.get("ERPOPS_LAB_PGNODES_PORT_BASE", "56400"))
#: container port -> offset of the published 127.0.0.1 port (node i publishes PORT_BASE + 10*i + offset)
PUBLISHED = {"haproxy_write": (5000, 0), "haproxy_read": (5001, 1), "postgres": (5432, 2), "patroni": (8008, 3),
             "redis": (6379, 4)}
IMAGE_SCRIPT = Path(__file__).resolve().parent.parent / "images" / "build-host-image.sh"
S3_PORT = int(os.environ.get("ERPOPS_LAB_PGNODES_S3_PORT", "55443"))
S3_BACKEND_PORT = S3_PORT + 1
#: pgBackRest repository bucket (created by ``ready``)
S3_BUCKET = "erpops-lab-pgbackrest"
#: the name the nodes reach it by (an --add-host entry of every node)
S3_NAME = "pgnodes-s3"


def node_ip(i: int) -> str:
    prefix = SUBNET.split("/")[0].rsplit(".", 1)[0]
    return f"{prefix}.{10 + i}"


def port(i: int, what: str) -> int:
    return PORT_BASE + 10 * i + PUBLISHED[what][1]


def container(node: str) -> str:
    return f"erpops-{node}"


def s3_host() -> str:
    """The bridge's address on the host (``.1``): reachable from the nodes, bound by nothing else."""
    return node_ip(-9)


class PgNodes(Service):
    name = "pgnodes"
    default = False
    start_timeout = 120.0

    def __init__(self) -> None:
        self._paths: dict[str, str] | None = None

    # -- podman -----------------------------------------------------------------
    def paths(self, lab: Lab) -> dict[str, str]:
        if self._paths is None:
            res = lab.run(["bash", str(IMAGE_SCRIPT), "--paths"], env={"ERPOPS_LAB_CACHE": str(lab.cache)})
            self._paths = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
        return self._paths

    def podman(self, lab: Lab, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return lab.run(["podman", *shlex.split(self.paths(lab)["PODMAN_ARGS"]), *args], check=check)

    def _running(self, lab: Lab) -> set[str]:
        res = self.podman(lab, "ps", "--format", "json", "--filter", "label=erpops.lab=pgnodes", check=False)
        if res.returncode != 0 or not res.stdout.strip():
            return set()
        return {n for c in json.loads(res.stdout) if c.get("State") == "running" for n in c.get("Names", [])}

    # -- Service ------------------------------------------------------------------
    def healthy(self, lab: Lab) -> bool:
        if not IMAGE_SCRIPT.exists() or not (lab.root / "pgnodes" / "ready").exists():
            return False
        if self._running(lab) != {container(n) for n in NODES}:
            return False
        for n in NODES:
            res = self.podman(lab, "exec", container(n), "systemctl", "is-system-running", check=False)
            if res.stdout.strip() not in ("running", "degraded"):
                return False
        return self._s3_answers(lab)

    def _s3_opener(self, lab: Lab) -> urllib.request.OpenerDirector:
        """HTTPS to the pgnodes S3, verified with the lab CA, never through a proxy."""
        ctx = ssl.create_default_context(cafile=str(pki_dir(lab) / "ca.crt"))
        return urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))

    def _s3_url(self) -> str:
        return f"https://{s3_host()}:{S3_PORT}"

    def _s3_answers(self, lab: Lab) -> bool:
        if not port_open(S3_PORT, host=s3_host()):
            return False
        try:
            with self._s3_opener(lab).open(self._s3_url() + "/", timeout=5) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError, ssl.SSLError):
            return False

    def start(self, lab: Lab) -> None:
        env = {**os.environ, "ERPOPS_LAB_CACHE": str(lab.cache)}
        res = subprocess.run(["bash", str(IMAGE_SCRIPT)], env=env, capture_output=False, check=False,
                             stdout=subprocess.PIPE, text=True)
        if res.returncode != 0:
            raise LabError("building the lab host image failed (see the [lab-image] lines above)")
        image = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)["IMAGE"]
        if self.podman(lab, "network", "exists", NETWORK, check=False).returncode != 0:
            self.podman(lab, "network", "create", "--internal", "--subnet", SUBNET,
                        "--label", "erpops.lab=pgnodes", NETWORK)
        hosts = [*(f"--add-host={n}:{node_ip(i)}" for i, n in enumerate(NODES, 1)), f"--add-host={S3_NAME}:{s3_host()}"]
        for i, n in enumerate(NODES, 1):
            if container(n) in self._running(lab):
                continue
            publish = [f"--publish=127.0.0.1:{port(i, what)}:{cport}" for what, (cport, dummy) in PUBLISHED.items()]
            self.podman(
                lab, "run", "-d", "--name", container(n), "--hostname", n, "--label", "erpops.lab=pgnodes",
                "--runtime", "runc", "--systemd", "always", "--cap-add", "SYS_ADMIN",
                "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768",
                "--network", f"{NETWORK}:ip={node_ip(i)}", *hosts, *publish,
                "--tmpfs", "/tmp", "--shm-size", "256m",  # noqa: S108 - the container's own /tmp
                image, "/sbin/init",
            )
        self._host_side(lab)
        self._start_s3(lab)
        lab.wait_until(lambda: self._s3_answers(lab), 60, "the pgnodes S3 (TLS) to answer", self.logs(lab))
        lab.wait_until(self._booted(lab), 90, "systemd in the pg nodes to reach running", self.logs(lab))
        (lab.dir(self.name) / "ready").write_text(image + "\n")
        log(f"pgnodes: {', '.join(NODES)} booted from {image}; converge with the postgresql_ha role")

    def _host_side(self, lab: Lab) -> None:
        """Give the internal bridge an address so 127.0.0.1 port mappings can reach the nodes.

        An ``--internal`` CNI network has no gateway on the host, so packets DNAT-ed from a 127.0.0.1
        published port would leave by the default route. The containers still have no default route
        (and the host does not forward), so nothing from them leaves the machine.
        """
        res = self.podman(lab, "network", "inspect", NETWORK, "--format", "{{.NetworkInterface}}")
        bridge = res.stdout.strip()
        gateway = node_ip(-9)  # .1
        prefix = SUBNET.split("/")[1]
        addrs = lab.run(["ip", "-o", "-4", "addr", "show", "dev", bridge]).stdout
        if f" {gateway}/" not in addrs:
            lab.run(["ip", "addr", "add", f"{gateway}/{prefix}", "dev", bridge])
        lab.run(["sysctl", "-qw", f"net.ipv4.conf.{bridge}.route_localnet=1"])

    def _booted(self, lab: Lab):
        def check() -> bool:
            for n in NODES:
                res = self.podman(lab, "exec", container(n), "systemctl", "is-system-running", check=False)
                if res.stdout.strip() not in ("running", "degraded"):
                    return False
            return True
        return check

    def _start_s3(self, lab: Lab) -> None:
        """moto (plain HTTP, 127.0.0.1) behind HAProxy terminating TLS on the bridge address. HAProxy rather than
        moto's own TLS: werkzeug closes every connection without a TLS close_notify, which pgBackRest's keep-alive
        client reports as "TLS error ... unexpected eof"."""
        # pgBackRest matches the endpoint against DNS names only (not IP SANs): the nodes use S3_NAME
        crt, key = issue_cert(lab, f"pgnodes-s3-{S3_NAME}", f"/CN={S3_NAME}", client=False,
                              sans=(f"DNS:{S3_NAME}", f"IP:{s3_host()}", "IP:127.0.0.1"))
        d = lab.dir(self.name)
        pem = d / "s3-tls.pem"
        pem.write_text(crt.read_text() + key.read_text())
        pem.chmod(0o600)
        cfg = d / "s3-haproxy.cfg"
        cfg.write_text(
            "global\n  maxconn 256\n"
            "defaults\n  mode http\n  timeout connect 5s\n  timeout client 120s\n  timeout server 120s\n"
            f"frontend s3\n  bind {s3_host()}:{S3_PORT} ssl crt {pem}\n  default_backend moto\n"
            f"backend moto\n  server moto 127.0.0.1:{S3_BACKEND_PORT}\n")
        # S3_IGNORE_SUBDOMAIN_BUCKETNAME: path-style whatever the Host header says
        lab.spawn(self.name, "s3moto", [moto_binary(), "-H", "127.0.0.1", "-p", str(S3_BACKEND_PORT)],
                  env={"MOTO_ALLOW_NONEXISTENT_REGION": "false", "S3_IGNORE_SUBDOMAIN_BUCKETNAME": "true"})
        lab.wait_until(lambda: port_open(S3_BACKEND_PORT), 60, "the pgnodes S3 backend to listen", self.logs(lab))
        lab.spawn(self.name, "s3tls", ["/usr/sbin/haproxy", "-db", "-f", str(cfg)])

    def ready(self, lab: Lab) -> None:
        """The pgBackRest repository bucket."""
        ensure_bucket(self._s3_opener(lab), self._s3_url(), S3_BUCKET, self.name)

    def stop(self, lab: Lab) -> None:
        lab.stop_procs(self.name)
        if self.podman(lab, "version", check=False).returncode != 0:
            return
        (lab.root / "pgnodes" / "ready").unlink(missing_ok=True)
        names = [container(n) for n in NODES]
        self.podman(lab, "rm", "-f", "-t", "5", "--ignore", *names, check=False)
        if self.podman(lab, "network", "exists", NETWORK, check=False).returncode == 0:
            self.podman(lab, "network", "rm", "-f", NETWORK, check=False)

    def env(self, lab: Lab) -> dict[str, str]:
        out = {
            "PGNODES_INVENTORY": str(lab.repo / "inventories" / "lab" / "pgnodes.yml"),
            "PGNODES_PODMAN_ARGS": self.paths(lab)["PODMAN_ARGS"],
            "PGNODES_NODES": ",".join(NODES),
            "PGNODES_SUBNET": SUBNET,
            "PGNODES_PKI_DIR": str(lab.dir(self.name) / "pki"),
            "PGNODES_HAPROXY_WRITE_PORT": str(port(1, "haproxy_write")),
            "PGNODES_HAPROXY_READ_PORT": str(port(1, "haproxy_read")),
            "PGNODES_SUPERUSER_PASSWORD": lab.secret("pgnodes_superuser_password"),
            "PGNODES_REPLICATION_PASSWORD": lab.secret("pgnodes_replication_password"),
            "PGNODES_ODOO_PASSWORD": lab.secret("pgnodes_odoo_password"),
            "PGNODES_REST_PASSWORD": lab.secret("pgnodes_rest_password"),
            "PGNODES_REDIS_PASSWORD": lab.secret("pgnodes_redis_password"),
            # pgBackRest repository: moto over TLS on the bridge (any key pair is accepted; these are the lab's)
            "PGNODES_S3_ENDPOINT": S3_NAME,
            "PGNODES_S3_PORT": str(S3_PORT),
            "PGNODES_S3_BUCKET": S3_BUCKET,
            "PGNODES_S3_REGION": REGION,
            "PGNODES_S3_CA": str(pki_dir(lab) / "ca.crt"),
            "PGNODES_S3_KEY": credentials(lab)["AWS_ACCESS_KEY_ID"],
            "PGNODES_S3_KEY_SECRET": credentials(lab)["AWS_SECRET_ACCESS_KEY"],
        }
        for i, n in enumerate(NODES, 1):
            up = n.upper()
            out[f"PGNODES_{up}_IP"] = node_ip(i)
            out[f"PGNODES_{up}_PG_PORT"] = str(port(i, "postgres"))
            out[f"PGNODES_{up}_REST_PORT"] = str(port(i, "patroni"))
            out[f"PGNODES_{up}_HAPROXY_WRITE_PORT"] = str(port(i, "haproxy_write"))
            out[f"PGNODES_{up}_HAPROXY_READ_PORT"] = str(port(i, "haproxy_read"))
            out[f"PGNODES_{up}_REDIS_PORT"] = str(port(i, "redis"))
        return out

    def describe(self, lab: Lab) -> str:
        return (f"{', '.join(NODES)} (systemd containers on {SUBNET}, internal); HAProxy write "
                f"127.0.0.1:{port(1, 'haproxy_write')}, read 127.0.0.1:{port(1, 'haproxy_read')}")

    def logs(self, lab: Lab) -> list[Path]:
        return [*sorted((lab.cache / "logs").glob("build-host-image-*.log"))[-1:], *super().logs(lab)]
