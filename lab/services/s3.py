"""An S3-compatible API server (moto_server from the project venv) on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from lab.framework import Lab, LabError, Service, log, port_open

PORT = int(os.environ.get("ERPOPS_LAB_S3_PORT", "55000"))
REGION = "eu-west-1"
#: The lab's backup bucket, as provision.yml creates one per estate in production: inventories/lab backs up to
#: it (backup.yml, the pre-upgrade backup of upgrade.yml, the demo). Tests that need a clean slate make their own.
BACKUP_BUCKET = "erpops-lab-backups"


def moto_binary() -> str:
    venv = os.environ.get("ERPOPS_VENV")
    if venv and (Path(venv) / "bin" / "moto_server").exists():
        return str(Path(venv) / "bin" / "moto_server")
    found = shutil.which("moto_server")
    if found is None:
        raise LabError("moto_server not found: set ERPOPS_VENV (make lab-up does) or run tools/venv.sh")
    return found


def credentials(lab: Lab) -> dict[str, str]:
    """The lab's S3 key pair (moto accepts any; one pair for every S3 endpoint of the lab)."""
    return {"AWS_ACCESS_KEY_ID": "lab" + lab.secret("aws_access_key", 8),
            "AWS_SECRET_ACCESS_KEY": lab.secret("aws_secret_key")}


def ensure_bucket(opener: urllib.request.OpenerDirector, base_url: str, bucket: str, service: str) -> None:
    """Create ``bucket`` in region REGION on the moto server at ``base_url`` unless it exists (moto accepts
    unsigned path-style requests, so the standard library suffices)."""
    url = f"{base_url}/{bucket}"
    try:
        with opener.open(urllib.request.Request(url, method="HEAD"), timeout=5):  # noqa: S310 - lab http(s) URL
            return
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise LabError(f"{service}: HEAD {url} answered {exc.code}") from exc
    body = ("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            f"<LocationConstraint>{REGION}</LocationConstraint></CreateBucketConfiguration>").encode()
    with opener.open(urllib.request.Request(url, data=body, method="PUT"), timeout=10) as r:  # noqa: S310
        if r.status != 200:
            raise LabError(f"{service}: creating bucket {bucket} answered {r.status}")
    log(f"{service}: created bucket {bucket}")


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
        lab.spawn(self.name, "moto", [moto_binary(), "-H", "127.0.0.1", "-p", str(PORT)],
                  env={"MOTO_ALLOW_NONEXISTENT_REGION": "false"})

    def ready(self, lab: Lab) -> None:
        ensure_bucket(urllib.request.build_opener(urllib.request.ProxyHandler({})), f"http://127.0.0.1:{PORT}",
                      BACKUP_BUCKET, self.name)

    def env(self, lab: Lab) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{PORT}",
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{PORT}",
            **credentials(lab),
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "ERPOPS_LAB_BACKUP_BUCKET": BACKUP_BUCKET,
        }

    def describe(self, lab: Lab) -> str:
        return f"http://127.0.0.1:{PORT} (moto S3/SecretsManager/EKS API, region {REGION})"
