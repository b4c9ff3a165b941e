"""The lab's foundation services are real and usable with the credentials from .lab/env."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import psycopg
import redis

REPO = Path(__file__).resolve().parents[3]


def test_env_has_every_foundation_key(lab_env: dict[str, str]) -> None:
    for key in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "REDIS_URL", "AWS_ENDPOINT_URL",
                "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        assert lab_env.get(key), key
    for key in ("PGHOST", "REDIS_HOST"):
        assert lab_env[key] == "127.0.0.1"
    assert lab_env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")


def test_postgres_is_15_and_needs_the_password(lab_env: dict[str, str]) -> None:
    dsn = {"host": lab_env["PGHOST"], "port": int(lab_env["PGPORT"]), "user": lab_env["PGUSER"], "dbname": "postgres"}
    with psycopg.connect(**dsn, password=lab_env["PGPASSWORD"]) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()[0]
        assert version.startswith("15")
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
    try:
        psycopg.connect(**dsn, password="wrong-password", connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        assert "password authentication failed" in str(exc)
    else:
        raise AssertionError("PostgreSQL accepted a wrong password")


def test_redis_requires_auth(lab_env: dict[str, str]) -> None:
    client = redis.Redis.from_url(lab_env["REDIS_URL"], retry=None)
    key = f"lab-test-{uuid.uuid4()}"
    client.set(key, "v", ex=30)
    assert client.get(key) == b"v"
    anonymous = redis.Redis(host=lab_env["REDIS_HOST"], port=int(lab_env["REDIS_PORT"]), retry=None)
    try:
        anonymous.get(key)
    except redis.exceptions.AuthenticationError:
        pass
    else:
        raise AssertionError("Redis answered without a password")


def test_s3_roundtrip_with_versioning(lab_env: dict[str, str]) -> None:
    s3 = boto3.client("s3", endpoint_url=lab_env["AWS_ENDPOINT_URL"], region_name=lab_env["AWS_DEFAULT_REGION"],
                      aws_access_key_id=lab_env["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=lab_env["AWS_SECRET_ACCESS_KEY"])
    bucket = f"lab-test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": lab_env["AWS_DEFAULT_REGION"]})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"one")
    s3.put_object(Bucket=bucket, Key="k", Body=b"two")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    versions = s3.list_object_versions(Bucket=bucket, Prefix="k")["Versions"]
    assert len(versions) == 2


def test_lab_up_again_is_harmless_and_status_reports_up() -> None:
    up = subprocess.run([sys.executable, "lab/labctl.py", "up", "postgres", "redis", "s3"], cwd=REPO,
                        capture_output=True, text=True, check=True)
    for svc in ("postgres", "redis", "s3"):
        assert f"{svc}: already running" in up.stdout
    status = subprocess.run([sys.executable, "lab/labctl.py", "status", "postgres", "redis", "s3"], cwd=REPO,
                            capture_output=True, text=True, check=False)
    assert status.returncode == 0, status.stdout
    assert all(line.split()[1] == "up" for line in status.stdout.splitlines())
