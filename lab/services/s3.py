"""An S3-compatible API server (moto_server from the project venv) on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from lab.framework import Lab, LabError, Service, port_open

PORT = int(os.environ.get("ERPOPS_LAB_S3_PORT", "55000"))
REGION = "eu-west-1"


def _moto() -> str:
    venv = os.environ.get("ERPOPS_VENV")
    if venv and (Path(venv) / "bin" / "moto_server").exists():
        return str(Path(venv) / "bin" / "moto_server")
    found = shutil.which("moto_server")
    if found is None:
        raise LabError("moto_server not found: set ERPOPS_VENV (make lab-up does) or run tools/venv.sh")
    return found


class S3(Service):
    name = "s3"

    def healthy(self, lab: Lab) -> bool:
        if not port_open(PORT):
            return False
        try:
            # ListBuckets: cheap, unlike /moto-api/data.json which serialises moto's whole state
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/", timeout=5) as r:
                return r.status == 200 and b"ListAllMyBucketsResult" in r.read()
        except (urllib.error.URLError, OSError):
            return False

    def start(self, lab: Lab) -> None:
        lab.spawn(self.name, "moto", [_moto(), "-H", "127.0.0.1", "-p", str(PORT)],
                  env={"MOTO_ALLOW_NONEXISTENT_REGION": "false"})

    def env(self, lab: Lab) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{PORT}",
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{PORT}",
            "AWS_ACCESS_KEY_ID": "lab" + lab.secret("aws_access_key", 8),
            "AWS_SECRET_ACCESS_KEY": lab.secret("aws_secret_key"),
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def describe(self, lab: Lab) -> str:
        return f"http://127.0.0.1:{PORT} (moto S3/SecretsManager/EKS API, region {REGION})"
