"""The lab's Traefik binary with the file provider on free 127.0.0.1 ports, for tests that need real proxying.

Routers of the lab Traefik (kubernetescrd) point at pod addresses the lab never dials; tests that need a request
to go through Traefik start their own with :func:`file_traefik` and route to 127.0.0.1 backends.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def traefik_binary(lab_env: dict[str, str]) -> str:
    binary = lab_env.get("LAB_TRAEFIK_BIN")
    if not binary or not Path(binary).exists():
        raise RuntimeError("the lab's Traefik binary is not built (no LAB_TRAEFIK_BIN in .lab/env): run `make lab-up`")
    return binary


@contextmanager
def file_traefik(binary: str, workdir: Path, dynamic: dict[str, Any], routers: set[str],
                 extra_args: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
    """Run Traefik with ``dynamic`` as its file-provider configuration until ``routers`` (``name@file``) exist.

    Yields ``{"ports": {"web", "websecure", "api"}, "log": path}``; stops Traefik on exit.
    """
    ports = {name: free_port() for name in ("web", "websecure", "api")}
    dyn = workdir / "dynamic.yaml"
    dyn.write_text(json.dumps(dynamic, indent=1))  # JSON is YAML
    log = workdir / "traefik.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([
            binary, "--global.checkNewVersion=false", "--global.sendAnonymousUsage=false",
            f"--entryPoints.web.address=127.0.0.1:{ports['web']}",
            f"--entryPoints.websecure.address=127.0.0.1:{ports['websecure']}",
            f"--entryPoints.traefik.address=127.0.0.1:{ports['api']}",
            "--api=true", "--api.insecure=true", "--ping=true",
            f"--providers.file.filename={dyn}", "--providers.file.watch=false", "--log.level=INFO", *extra_args,
        ], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, cwd=workdir)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", ports["api"], timeout=2)
                conn.request("GET", "/api/http/routers")
                if routers <= {r["name"] for r in json.loads(conn.getresponse().read())}:
                    break
            except (OSError, ValueError, http.client.HTTPException):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"file-provider Traefik did not come up:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield {"ports": ports, "log": log}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
