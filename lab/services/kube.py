"""A real Kubernetes control plane on 127.0.0.1, built from Go modules.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler of one release,
plus kwok simulating three nodes (zones zone-a/b/c) so Deployments roll out,
Jobs complete and Pods become Ready without a container runtime. Binaries come
from ``lab/build/build.sh`` (built on first use into the cache, keyed by version).

Network safety: pod, service and node addresses are private-range and nothing
here dials them: kwok reports every node at 127.0.0.1, the API server's
endpoint reconciler is off, and no webhook or aggregated API is registered.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import subprocess
from pathlib import Path

from lab.framework import Lab, LabError, Service, log, port_open

ETCD_PORT = int(os.environ.get("ERPOPS_LAB_ETCD_PORT", "52379"))
ETCD_PEER_PORT = ETCD_PORT + 1
API_PORT = int(os.environ.get("ERPOPS_LAB_KUBE_PORT", "56443"))
CM_PORT = int(os.environ.get("ERPOPS_LAB_KUBE_CM_PORT", "56257"))
SCHED_PORT = int(os.environ.get("ERPOPS_LAB_KUBE_SCHED_PORT", "56259"))
NODES = int(os.environ.get("ERPOPS_LAB_KUBE_NODES", "3"))
ZONES = ("zone-a", "zone-b", "zone-c")
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"

PROCS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
BUILD_SCRIPT = Path(__file__).resolve().parent.parent / "build" / "build.sh"
KWOK_STAGES = Path(__file__).resolve().parent.parent / "kwok"


# -- binaries -------------------------------------------------------------------
def build(lab: Lab, *components: str) -> None:
    """Build (or find cached) binaries; progress lines go straight to the terminal."""
    env = {**os.environ, "ERPOPS_LAB_CACHE": str(lab.cache)}
    res = subprocess.run(["bash", str(BUILD_SCRIPT), *components], env=env, check=False)
    if res.returncode != 0:
        raise LabError(f"building {' '.join(components)} failed (see the [lab-build] lines above; "
                       f"build logs under {lab.cache / 'build'})")


_PATHS: dict[str, dict[str, str]] = {}


def paths(lab: Lab) -> dict[str, str]:
    """Versions, binary directories and module source directories, from the build script."""
    key = str(lab.cache)
    if key not in _PATHS:
        res = lab.run(["bash", str(BUILD_SCRIPT), "paths"], env={"ERPOPS_LAB_CACHE": key})
        _PATHS[key] = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
    return _PATHS[key]


# -- PKI (openssl CLI, so plain python3 suffices) ---------------------------------
def pki_dir(lab: Lab) -> Path:
    d = lab.dir("kube") / "pki"
    d.mkdir(mode=0o700, exist_ok=True)
    return d


def ensure_ca(lab: Lab) -> Path:
    pki = pki_dir(lab)
    if not (pki / "ca.crt").exists():
        lab.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", str(pki / "ca.key"), "-out", str(pki / "ca.crt"), "-days", "3650",
                 "-subj", "/CN=erpops-lab-ca", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"])
    return pki / "ca.crt"


def issue_cert(lab: Lab, name: str, subject: str, *, client: bool = True,
               sans: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """A key and certificate signed by the lab CA (kept across restarts)."""
    ensure_ca(lab)
    pki = pki_dir(lab)
    key, crt, csr, ext = (pki / f"{name}{s}" for s in (".key", ".crt", ".csr", ".ext"))
    if key.exists() and crt.exists():
        return crt, key
    lab.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", subject])
    usage = "clientAuth" if client else "serverAuth"
    lines = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
             f"extendedKeyUsage={usage}"]
    if sans:
        lines.append("subjectAltName=" + ",".join(sans))
    ext.write_text("\n".join(lines) + "\n")
    tmp = crt.with_suffix(".tmp")
    lab.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"),
             "-CAcreateserial", "-CAserial", str(pki / "ca.srl"), "-days", "825", "-sha256",
             "-extfile", str(ext), "-out", str(tmp)])
    tmp.replace(crt)
    csr.unlink(missing_ok=True)
    key.chmod(0o600)
    return crt, key


def ensure_sa_key(lab: Lab) -> tuple[Path, Path]:
    pki = pki_dir(lab)
    key, pub = pki / "sa.key", pki / "sa.pub"
    if not (key.exists() and pub.exists()):
        lab.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key)])
        lab.run(["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(pub)])
        key.chmod(0o600)
    return key, pub


def write_kubeconfig(lab: Lab, path: Path, user: str, crt: Path, key: Path) -> Path:
    """A kubeconfig (JSON is YAML) with embedded CA, certificate and key."""
    def b64(p: Path) -> str:
        return base64.b64encode(p.read_bytes()).decode()

    cfg = {
        "apiVersion": "v1", "kind": "Config", "current-context": "erpops-lab",
        "clusters": [{"name": "erpops-lab", "cluster": {
            "server": api_url(), "certificate-authority-data": b64(pki_dir(lab) / "ca.crt")}}],
        "users": [{"name": user, "user": {"client-certificate-data": b64(crt), "client-key-data": b64(key)}}],
        "contexts": [{"name": "erpops-lab", "context": {"cluster": "erpops-lab", "user": user}}],
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(cfg, indent=1) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def api_url() -> str:
    return f"https://127.0.0.1:{API_PORT}"


def admin_kubeconfig(lab: Lab) -> Path:
    return lab.root / "kubeconfig"


def api_get(lab: Lab, path: str, timeout: float = 3.0) -> tuple[int, str]:
    """GET from the API server as the lab admin (stdlib only)."""
    pki = pki_dir(lab)
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    conn = http.client.HTTPSConnection("127.0.0.1", API_PORT, context=ctx, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


def kubectl_path(lab: Lab) -> str:
    return str(Path(paths(lab)["KUBE_BIN"]) / "kubectl")


def kubectl(lab: Lab, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return lab.run([kubectl_path(lab), "--kubeconfig", str(admin_kubeconfig(lab)), *args], input=input, check=check)


# -- the service ------------------------------------------------------------------
class Kube(Service):
    name = "kube"
    # the first `up` may build the binaries inside start(); afterwards this is a few seconds
    start_timeout = 120.0

    def healthy(self, lab: Lab) -> bool:
        if not port_open(API_PORT) or not (pki_dir(lab) / "admin.key").exists():
            return False
        procs = lab.pids(self.name)
        if any(p not in procs or not lab.alive(procs[p]) for p in PROCS):
            return False
        try:
            status, body = api_get(lab, "/readyz")
        except (OSError, ssl.SSLError, http.client.HTTPException):
            return False
        return status == 200 and body.strip() == "ok"

    def stop(self, lab: Lab) -> None:
        lab.stop_procs(self.name, procs=reversed(PROCS))

    def start(self, lab: Lab) -> None:
        build(lab, "etcd", "kube", "kwok")
        p = paths(lab)
        kube_bin, d = Path(p["KUBE_BIN"]), lab.dir(self.name)
        logs = [lab.logfile(self.name, n) for n in PROCS]

        # certificates and kubeconfigs
        pki = pki_dir(lab)
        ca = ensure_ca(lab)
        sa_key, sa_pub = ensure_sa_key(lab)
        serving, serving_key = issue_cert(
            lab, "apiserver", "/CN=kube-apiserver", client=False,
            sans=("IP:127.0.0.1", "IP:10.96.0.1", "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default",
                  "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local"))
        identities = {
            "admin": "/O=system:masters/CN=lab-admin",
            "controller-manager": "/CN=system:kube-controller-manager",
            "scheduler": "/CN=system:kube-scheduler",
        }
        kubeconfigs: dict[str, Path] = {}
        for ident, subject in identities.items():
            crt, key = issue_cert(lab, ident, subject)
            target = admin_kubeconfig(lab) if ident == "admin" else d / f"{ident}.kubeconfig"
            kubeconfigs[ident] = write_kubeconfig(lab, target, ident, crt, key)

        # etcd
        etcd_dir = d / "etcd"
        etcd_url, peer_url = f"http://127.0.0.1:{ETCD_PORT}", f"http://127.0.0.1:{ETCD_PEER_PORT}"
        lab.spawn(self.name, "etcd", [
            str(Path(p["ETCD_BIN"]) / "etcd"), "--name=lab", f"--data-dir={etcd_dir}",
            f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=lab={peer_url}", "--initial-cluster-state=new",
            "--unsafe-no-fsync", "--quota-backend-bytes=2147483648", "--log-level=warn",
        ])
        lab.wait_until(lambda: _http_ok(ETCD_PORT, "/health"), 30, "etcd /health", logs[:1])
        log(f"kube: etcd up on 127.0.0.1:{ETCD_PORT}")

        # kube-apiserver
        lab.spawn(self.name, "kube-apiserver", [
            str(kube_bin / "kube-apiserver"),
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={API_PORT}",
            "--endpoint-reconciler-type=none",
            f"--tls-cert-file={serving}", f"--tls-private-key-file={serving_key}",
            f"--client-ca-file={ca}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={sa_pub}", f"--service-account-signing-key-file={sa_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC", "--allow-privileged=true", "--profiling=false",
            f"--cert-dir={pki}",
        ])
        lab.wait_until(lambda: self._readyz(lab), 90, "kube-apiserver /readyz", logs[:2])
        log(f"kube: kube-apiserver ready on {api_url()}")

        common = ["--authentication-kubeconfig=KC", "--authorization-kubeconfig=KC", "--kubeconfig=KC",
                  "--bind-address=127.0.0.1", "--leader-elect=false", "--profiling=false"]

        def args(kc: Path) -> list[str]:
            return [a.replace("KC", str(kc)) for a in common]

        lab.spawn(self.name, "kube-controller-manager", [
            str(kube_bin / "kube-controller-manager"), *args(kubeconfigs["controller-manager"]),
            f"--secure-port={CM_PORT}", f"--root-ca-file={ca}",
            f"--service-account-private-key-file={sa_key}", "--use-service-account-credentials=true",
            f"--cluster-signing-cert-file={ca}", f"--cluster-signing-key-file={pki / 'ca.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
        ])
        lab.spawn(self.name, "kube-scheduler", [
            str(kube_bin / "kube-scheduler"), *args(kubeconfigs["scheduler"]), f"--secure-port={SCHED_PORT}",
        ])
        lab.spawn(self.name, "kwok", [
            str(Path(p["KWOK_BIN"]) / "kwok"), f"--kubeconfig={kubeconfigs['admin']}",
            "--manage-all-nodes=true", "--node-ip=127.0.0.1", f"--cidr={POD_CIDR}",
            # kwok renews a Lease per node (the heartbeat-with-lease stage only refreshes the Node status every
            # ~10 min): without leases the node controller marks the nodes NotReady after its grace period and
            # every pod NotReady with them, so rollouts stall and Deployments flap between Ready and not.
            "--node-lease-duration-seconds=40",
            *(f"--config={f}" for f in sorted(KWOK_STAGES.glob("*.yaml"))),
        ], env={"HOME": str(d)})  # keep kwok from reading ~/.kwok/kwok.yaml

        self._bootstrap(lab, p, logs)

    # -- helpers ----------------------------------------------------------------
    def _readyz(self, lab: Lab) -> bool:
        try:
            return api_get(lab, "/readyz")[0] == 200
        except (OSError, ssl.SSLError, http.client.HTTPException):
            return False

    def _bootstrap(self, lab: Lab, p: dict[str, str], logs: list[Path]) -> None:
        """Nodes, CRDs and RBAC: server-side apply, so a restart re-applies harmlessly."""
        nodes = {"apiVersion": "v1", "kind": "List", "items": [node_manifest(i) for i in range(NODES)]}
        kubectl(lab, "apply", "--server-side", "--force-conflicts", "--field-manager=erpops-lab",
                "-f", "-", input=json.dumps(nodes))
        # status is ignored when an existing Node is applied again: set it through the subresource.
        # Both address types matter: kwok's node-initialize stage writes an empty address list when
        # a node lacks a Hostname address and kwok has no --node-name (it does after a restart).
        for i in range(NODES):
            kubectl(lab, "patch", "node", node_name(i), "--subresource=status", "--type=merge",
                    "-p", json.dumps({"status": node_status(i)}))
        traefik_docs = Path(p["TRAEFIK_SRC"]) / "docs/content/reference/dynamic-configuration"
        crds = [traefik_docs / "kubernetes-crd-definition-v1.yml"]
        crds += sorted((Path(p["CNPG_SRC"]) / "config/crd/bases").glob("*.yaml"))
        missing = [str(c) for c in crds if not c.exists()]
        if missing:
            raise LabError(f"CRD manifests not found: {missing}")
        args: list[str] = []
        for c in crds:
            args += ["-f", str(c)]
        kubectl(lab, "apply", "--server-side", "--force-conflicts", "--field-manager=erpops-lab", *args)
        rbac = traefik_docs / "kubernetes-crd-rbac.yml"
        kubectl(lab, "apply", "--server-side", "--force-conflicts", "--field-manager=erpops-lab", "-f", str(rbac))
        binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": "lab-traefik"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                               "name": "traefik-ingress-controller"},
                   "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "lab:traefik"}]}
        kubectl(lab, "apply", "--server-side", "--force-conflicts", "--field-manager=erpops-lab",
                "-f", "-", input=json.dumps(binding))
        kubectl(lab, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
        lab.wait_until(lambda: kubectl(lab, "wait", "--for=condition=Ready", "node", "--all", "--timeout=2s",
                                       check=False).returncode == 0,
                       60, "kwok nodes to become Ready", logs)
        lab.wait_until(lambda: kubectl(lab, "get", "serviceaccount", "default", "-n", "default",
                                       check=False).returncode == 0,
                       60, "the default ServiceAccount (controller-manager)", logs)
        log(f"kube: {NODES} nodes Ready, {len(crds)} CRD manifests applied")

    def env(self, lab: Lab) -> dict[str, str]:
        p = paths(lab)
        return {
            "KUBECONFIG": str(admin_kubeconfig(lab)),
            "LAB_KUBE_API": api_url(),
            "LAB_KUBE_VERSION": p["K8S_VERSION"],
            "LAB_KUBECTL": str(Path(p["KUBE_BIN"]) / "kubectl"),
            "LAB_KUBE_CA": str(pki_dir(lab) / "ca.crt"),
            "LAB_KUBE_NODES": ",".join(node_name(i) for i in range(NODES)),
        }

    def describe(self, lab: Lab) -> str:
        try:
            version = json.loads(api_get(lab, "/version")[1]).get("gitVersion", "?")
        except (OSError, ValueError, ssl.SSLError, http.client.HTTPException):
            version = "?"
        return f"{api_url()} Kubernetes {version}, {NODES} kwok nodes, kubeconfig {admin_kubeconfig(lab)}"


def node_name(i: int) -> str:
    return f"lab-node-{i + 1}"


def node_manifest(i: int) -> dict[str, object]:
    """A kwok-managed fake node; kwok fills in its status (InternalIP 127.0.0.1)."""
    name = node_name(i)
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                "type": "kwok", "topology.kubernetes.io/zone": ZONES[i % len(ZONES)],
                "topology.kubernetes.io/region": "lab",
            },
        },
        "spec": {},
        "status": node_status(i),
    }


def node_status(i: int) -> dict[str, object]:
    resources = {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    return {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": node_name(i)}],
        "allocatable": resources, "capacity": resources,
    }


def _http_ok(port: int, path: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()
