"""Fixtures for credential-rotation tests against the lab (PostgreSQL, Redis, moto Secrets Manager)."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
import redis
from botocore.config import Config
from psycopg import sql

sys.path.insert(0, str(Path(__file__).parent))

from rotation_helpers import Clients, pg_connect


@pytest.fixture(scope="session", autouse=True)
def _lab_aws_env(lab_env: dict[str, str]) -> None:
    """boto3 in this process talks to the lab's moto server."""
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION"):
        if key not in lab_env:
            pytest.fail("the lab's s3 (moto) service is not up (%s missing from .lab/env): run `make lab-up`" % key)
        os.environ[key] = lab_env[key]


@pytest.fixture
def tag() -> str:
    return "rot%s" % uuid.uuid4().hex[:8]


@pytest.fixture
def pg_admin(lab_env: dict[str, str]) -> dict:
    for key in ("PGHOST", "PGPORT", "PGPASSWORD"):
        if key not in lab_env:
            pytest.fail("the lab's postgres service is not up: run `make lab-up`")
    return {"host": lab_env["PGHOST"], "port": int(lab_env["PGPORT"]), "user": lab_env.get("PGUSER", "postgres"),
            "password": lab_env["PGPASSWORD"]}


@pytest.fixture
def pg_cleanup(pg_admin: dict) -> Iterator[Callable[[str], None]]:
    """Register a prefix: its database ``<prefix>`` and roles ``<prefix>``, ``<prefix>_a``/``_b`` are dropped after."""
    prefixes: list[str] = []
    yield prefixes.append
    with pg_connect(pg_admin) as conn:
        for prefix in prefixes:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s OR usename IN "
                         "(%s, %s)", (prefix, prefix + "_a", prefix + "_b"))
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(prefix)))
            for role in (prefix + "_a", prefix + "_b", prefix):
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def sm() -> Iterator:
    """A Secrets Manager client for the lab; secrets whose name starts with a registered tag are deleted after."""
    # 20 client threads share this client: a pool as large as the thread count
    client = boto3.client("secretsmanager", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                          region_name=os.environ["AWS_REGION"], config=Config(max_pool_connections=32))
    client.created_tags = []  # type: ignore[attr-defined]
    yield client
    for page in client.get_paginator("list_secrets").paginate():
        for entry in page.get("SecretList", []):
            if any(entry["Name"].startswith(t) for t in client.created_tags):  # type: ignore[attr-defined]
                client.delete_secret(SecretId=entry["Name"], ForceDeleteWithoutRecovery=True)


@pytest.fixture
def redis_admin(lab_env: dict[str, str]) -> Iterator[dict]:
    if "REDIS_PORT" not in lab_env:
        pytest.fail("the lab's redis service is not up: run `make lab-up LAB_SERVICES=redis`")
    info = {"host": lab_env["REDIS_HOST"], "port": int(lab_env["REDIS_PORT"]), "password": lab_env["REDIS_PASSWORD"],
            "users": []}
    yield info
    client = redis.Redis(host=info["host"], port=info["port"], password=info["password"], retry=None)
    for user in info["users"]:
        client.execute_command("ACL", "DELUSER", user)
    client.close()


@pytest.fixture
def clients() -> Callable[[int, Callable[[], str]], Clients]:
    return Clients
