"""PostgreSQL 15 (Debian binaries), single node, as the ``postgres`` user, on 127.0.0.1."""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from lab.framework import Lab, LabError, Service, port_open

PGBIN = Path(os.environ.get("ERPOPS_PGBIN", "/usr/lib/postgresql/15/bin"))
PORT = int(os.environ.get("ERPOPS_LAB_PG_PORT", "55432"))


def _user() -> str | None:
    """initdb refuses root: run as ``postgres`` when we are root, else as ourselves."""
    return "postgres" if os.geteuid() == 0 else None


class Postgres(Service):
    name = "postgres"

    def _data(self, lab: Lab) -> Path:
        return lab.dir(self.name) / "data"

    def healthy(self, lab: Lab) -> bool:
        if not port_open(PORT):
            return False
        res = lab.run([str(PGBIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(PORT)], check=False)
        return res.returncode == 0

    def start(self, lab: Lab) -> None:
        if not (PGBIN / "postgres").exists():
            raise LabError(f"{PGBIN}/postgres not found: run tools/apt-deps.sh")
        base = lab.dir(self.name)
        data = self._data(lab)
        run = base / "run"
        run.mkdir(exist_ok=True)
        user = _user()
        if user:
            pw = pwd.getpwnam(user)
            for p in (base, run):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        if not (data / "PG_VERSION").exists():
            shutil.rmtree(data, ignore_errors=True)
            pwfile = base / "pwfile"
            pwfile.write_text(lab.secret("postgres_password") + "\n")
            if user:
                os.chown(pwfile, pw.pw_uid, pw.pw_gid)
            pwfile.chmod(0o600)
            try:
                lab.run([str(PGBIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "scram-sha-256",
                         "--auth-local=peer" if user else "--auth-local=scram-sha-256",
                         f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8"], user=user)
            finally:
                pwfile.unlink(missing_ok=True)
            with open(data / "postgresql.conf", "a") as fh:
                fh.write(
                    "\n# erpops lab\n"
                    f"listen_addresses = '127.0.0.1'\nport = {PORT}\n"
                    f"unix_socket_directories = '{run}'\n"
                    "max_connections = 200\nwal_level = replica\nmax_wal_senders = 5\n"
                    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                    "shared_buffers = 128MB\nlog_min_messages = warning\n"
                )
        lab.spawn(self.name, "postgres", [str(PGBIN / "postgres"), "-D", str(data)], user=user)
        lab.wait_until(lambda: self.healthy(lab), 30, "postgres to accept connections", self.logs(lab))

    def env(self, lab: Lab) -> dict[str, str]:
        return {
            "PGHOST": "127.0.0.1",
            "PGPORT": str(PORT),
            "PGUSER": "postgres",
            "PGPASSWORD": lab.secret("postgres_password"),
            "PG_SOCKET_DIR": str(lab.dir(self.name) / "run"),
        }

    def describe(self, lab: Lab) -> str:
        return f"postgresql://postgres@127.0.0.1:{PORT} (PostgreSQL 15)"
