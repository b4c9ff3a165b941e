"""Traefik v3 on 127.0.0.1 watching the lab cluster through the kubernetescrd provider.

Entry points and the API listen on 127.0.0.1 only. Traefik authenticates to the
lab API server with its own client certificate (user ``lab:traefik``), bound to
Traefik's upstream ClusterRole. Routers that point at Kubernetes Services would
proxy to private pod/ClusterIP addresses: the lab never sends requests through
them; real proxying is tested with the file provider and 127.0.0.1 backends.
"""

from __future__ import annotations

import http.client
import json
import os
from pathlib import Path

from lab.framework import Lab, Service
from lab.services.kube import build, issue_cert, paths, write_kubeconfig

WEB_PORT = int(os.environ.get("ERPOPS_LAB_TRAEFIK_WEB_PORT", "58080"))
WEBSECURE_PORT = int(os.environ.get("ERPOPS_LAB_TRAEFIK_WEBSECURE_PORT", "58443"))
API_PORT = int(os.environ.get("ERPOPS_LAB_TRAEFIK_API_PORT", "58090"))


def traefik_bin(lab: Lab) -> Path:
    return Path(paths(lab)["TRAEFIK_BIN"]) / "traefik"


def api_get(path: str, port: int = API_PORT, timeout: float = 3.0) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


class Traefik(Service):
    name = "traefik"
    after = ("kube",)
    start_timeout = 60.0

    def healthy(self, lab: Lab) -> bool:
        pid = lab.pids(self.name).get("traefik")
        if pid is None or not lab.alive(pid):
            return False
        try:
            return api_get("/ping")[0] == 200
        except (OSError, http.client.HTTPException):
            return False

    def start(self, lab: Lab) -> None:
        build(lab, "traefik")
        d = lab.dir(self.name)
        crt, key = issue_cert(lab, "traefik", "/CN=lab:traefik")
        kubeconfig = write_kubeconfig(lab, d / "kubeconfig", "lab:traefik", crt, key)
        lab.spawn(self.name, "traefik", [
            str(traefik_bin(lab)),
            "--global.checkNewVersion=false", "--global.sendAnonymousUsage=false",
            f"--entryPoints.web.address=127.0.0.1:{WEB_PORT}",
            f"--entryPoints.websecure.address=127.0.0.1:{WEBSECURE_PORT}",
            f"--entryPoints.traefik.address=127.0.0.1:{API_PORT}",
            "--api=true", "--api.insecure=true", "--api.dashboard=true", "--ping=true",
            "--providers.kubernetescrd=true",
            # a route whose Service has no endpoints still becomes a router (503s)
            "--providers.kubernetescrd.allowEmptyServices=true",
            "--log.level=INFO",
        ], env={"KUBECONFIG": str(kubeconfig)}, cwd=d)

    def env(self, lab: Lab) -> dict[str, str]:
        return {
            "LAB_TRAEFIK_BIN": str(traefik_bin(lab)),
            "LAB_TRAEFIK_VERSION": paths(lab)["TRAEFIK_VERSION"],
            "LAB_TRAEFIK_WEB": f"http://127.0.0.1:{WEB_PORT}",
            "LAB_TRAEFIK_WEBSECURE": f"https://127.0.0.1:{WEBSECURE_PORT}",
            "LAB_TRAEFIK_API": f"http://127.0.0.1:{API_PORT}",
        }

    def describe(self, lab: Lab) -> str:
        try:
            version = json.loads(api_get("/api/version")[1]).get("Version", "?")
        except (OSError, ValueError, http.client.HTTPException):
            version = "?"
        return (f"Traefik {version}: web 127.0.0.1:{WEB_PORT}, websecure 127.0.0.1:{WEBSECURE_PORT}, "
                f"API/dashboard http://127.0.0.1:{API_PORT}")
