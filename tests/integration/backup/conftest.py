"""Fixtures for backup/restore tests against the lab's PostgreSQL and S3 (moto) servers."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.backup import pg, storage

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from tests.support import odoo_fixture  # noqa: E402

PGBIN = os.environ.get("ERPOPS_PGBIN", "/usr/lib/postgresql/15/bin")
#: size of the main generated database + filestore (CI default: a few hundred MB)
BIG_MB = float(os.environ.get("ERPOPS_BACKUP_FIXTURE_MB", "240"))
SMALL_MB = 30.0


@pytest.fixture(scope="session")
def pgconn(lab_env: dict[str, str]) -> pg.PgConn:
    return pg.PgConn(host=lab_env["PGHOST"], port=int(lab_env["PGPORT"]), user=lab_env["PGUSER"],
                     password=lab_env["PGPASSWORD"], bin_dir=PGBIN)


def make_bucket(lab_env: dict[str, str], name: str, **kw: object) -> storage.S3Settings:
    s3 = storage.S3Settings(bucket=name, prefix="odoo-backups", endpoint_url=lab_env["AWS_ENDPOINT_URL"],
                            region=lab_env["AWS_REGION"], access_key=lab_env["AWS_ACCESS_KEY_ID"],
                            secret_key=lab_env["AWS_SECRET_ACCESS_KEY"], part_size=5 * 1024 * 1024, max_attempts=2)
    s3.client().create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": lab_env["AWS_REGION"]},
                              **kw)
    return s3


@pytest.fixture(scope="session")
def s3(lab_env: dict[str, str]) -> storage.S3Settings:
    return make_bucket(lab_env, "erpops-bk-" + secrets.token_hex(4))


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("odoo-data")
    d.chmod(0o755)
    return d


class Databases:
    """Databases created by a test session; all dropped at the end."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.names: set[str] = set()

    def name(self, stem: str) -> str:
        n = "bk_%s_%s" % (stem, secrets.token_hex(3))
        self.names.add(n)
        return n

    def exists(self, name: str) -> bool:
        with psycopg.connect(self.conninfo, dbname="postgres") as c:
            return c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None

    def all_like(self, prefix: str) -> set[str]:
        with psycopg.connect(self.conninfo, dbname="postgres") as c:
            return {r[0] for r in c.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                            (prefix + "%",))}

    def drop_all(self) -> None:
        """This session's databases and what restores renamed aside from them (``<name>_old_<hex>``) — never
        another session's: test sessions run in parallel against the same server."""
        derived = set()
        for n in self.names:
            derived |= self.all_like(n[:48] + "_old_")
        for n in sorted(self.names | derived):
            odoo_fixture.drop(n, self.conninfo)


@pytest.fixture(scope="session")
def dbs(conninfo: str) -> Iterator[Databases]:
    d = Databases(conninfo)
    yield d
    d.drop_all()


@pytest.fixture(scope="session")
def big_source(dbs: Databases, workdir: Path, conninfo: str) -> dict:
    """The generated Odoo database of ERPOPS_BACKUP_FIXTURE_MB (default 240 MB) with its filestore."""
    name = dbs.name("src")
    return odoo_fixture.create(name, workdir, BIG_MB, conninfo=conninfo)


@pytest.fixture(scope="session")
def small_source(dbs: Databases, workdir: Path, conninfo: str) -> dict:
    name = dbs.name("small")
    return odoo_fixture.create(name, workdir, SMALL_MB, conninfo=conninfo)


@dataclass
class Lab:
    """What a backup test needs, in one fixture."""

    pg: pg.PgConn
    s3: storage.S3Settings
    dbs: Databases
    conninfo: str
    workdir: Path


@pytest.fixture(scope="session")
def bk(pgconn: pg.PgConn, s3: storage.S3Settings, dbs: Databases, conninfo: str, workdir: Path) -> Lab:
    return Lab(pgconn, s3, dbs, conninfo, workdir)


def fingerprint(conninfo: str, db: str) -> dict[str, str]:
    """Content digest of every public table (all rows, all columns, in id order) plus the schema."""
    out: dict[str, str] = {}
    with psycopg.connect(conninfo, dbname=db) as c:
        tables = [r[0] for r in c.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        for t in tables:
            q = "SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x.id)), '') FROM public.%s x"
            out[t] = c.execute(q % t).fetchone()[0]  # table names come from the catalogue
        out["__schema__"] = str(c.execute(
            "SELECT md5(string_agg(table_name || '.' || column_name || ':' || data_type || ':' || is_nullable, ',' "
            "ORDER BY table_name, column_name)) FROM information_schema.columns WHERE table_schema = 'public'"
        ).fetchone()[0])
        out["__indexes__"] = str(c.execute(
            "SELECT md5(string_agg(indexdef, ',' ORDER BY indexname)) FROM pg_indexes WHERE schemaname = 'public'"
        ).fetchone()[0])
    return out
