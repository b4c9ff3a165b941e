# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL logins rotated with the *alternating users* strategy.

Roles: an owner role ``<owner>`` (NOLOGIN) that owns the database objects, and two login roles
``<prefix>_a`` / ``<prefix>_b`` created ``IN ROLE <owner>`` with ``ALTER ROLE <login> SET role = '<owner>'``:
every session of either login runs as the owner role, so tables Odoo creates are owned by ``<owner>``
whichever login created them and ownership never splits.

A rotation changes the password of the *idle* login (the one the store does not name as current), logs in
with it, and only then the store promotes it. The previously current login keeps its password until the
next rotation, so clients that still hold it keep working (zero downtime).

psycopg (v3) is used directly rather than community.postgresql: the four steps must run inside one
module invocation with shared state (the idle role's previous verifier for rollback, a fresh login as
the test), and psycopg's ``PGconn.encrypt_password`` computes the SCRAM verifier client-side, so the
plaintext password never appears in SQL text or server logs.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

from ansible_collections.erpops.odoo.plugins.module_utils.rotation.core import RotationError, StoredCredential, Target

try:
    import psycopg
    from psycopg import sql
    HAS_PSYCOPG = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_PSYCOPG = False


class PostgresAlternatingUsers(Target):
    backend = "postgresql"

    def __init__(self, prefix: str, host: str, *, port: int = 5432, db: str = "postgres",
                 owner_role: str | None = None, admin_user: str | None = None, admin_password: str | None = None,
                 admin_db: str = "postgres", sslmode: str | None = None, connect_timeout: int = 10,
                 connect=None):
        self.prefix = prefix
        self.owner = owner_role or prefix
        self.users = ("%s_a" % prefix, "%s_b" % prefix)
        self.host, self.port, self.db = host, int(port), db
        self.admin_user, self.admin_password, self.admin_db = admin_user, admin_password, admin_db
        self.sslmode, self.connect_timeout = sslmode, connect_timeout
        self._connect = connect
        self._saved_verifier = None
        self._saved_known = False

    # -- connections ---------------------------------------------------------------------------------------
    def _conn(self, user: str, password: str, dbname: str):
        kwargs = {"host": self.host, "port": self.port, "dbname": dbname, "user": user, "password": password,
                  "connect_timeout": self.connect_timeout, "autocommit": True,
                  "application_name": "erpops-credential-rotate"}
        if self.sslmode:
            kwargs["sslmode"] = self.sslmode
        connect = self._connect or psycopg.connect
        return connect(**kwargs)

    def _admin(self):
        try:
            return self._conn(self.admin_user, self.admin_password, self.admin_db)
        except Exception as exc:  # noqa: BLE001 - psycopg raises several classes; the message has no secret
            raise RotationError("cannot connect to PostgreSQL %s:%s as admin user %s: %s"
                                % (self.host, self.port, self.admin_user, _first_line(exc)))

    # -- steps -----------------------------------------------------------------------------------------------
    def check(self) -> None:
        if not HAS_PSYCOPG and self._connect is None:
            raise RotationError("psycopg (v3) is required for the postgresql backend")
        missing = [n for n, v in (("admin_user", self.admin_user), ("admin_password", self.admin_password))
                   if not v]
        if missing:
            raise RotationError("postgresql target %s:%s: missing admin credentials (%s)"
                                % (self.host, self.port, ", ".join(missing)))
        for name in (self.owner, *self.users):
            if len(name) > 63:
                raise RotationError("role name %s is longer than 63 characters" % name)

    def plan(self, current: StoredCredential | None) -> dict:
        user = current.value.get("username") if current is not None else None
        idle = self.users[0] if user == self.users[1] else self.users[1] if user == self.users[0] else self.users[0]
        with self._admin() as conn:
            rows = conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                                ([self.owner, *self.users],)).fetchall()
        existing = {r[0] for r in rows}
        return {"username": idle, "owner": self.owner, "previous": user,
                "create_roles": [r for r in (self.owner, *self.users) if r not in existing]}

    def build_value(self, plan: dict, secret: str) -> dict:
        return {"username": plan["username"], "password": secret}

    def set(self, plan: dict, value: dict, secret: str, current: StoredCredential | None) -> None:
        idle, owner = plan["username"], self.owner
        with self._admin() as conn:
            # remember the idle role's verifier (superusers only) so a failed test can restore it
            try:
                row = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (idle,)).fetchone()
                self._saved_verifier, self._saved_known = (row[0] if row else None), True
            except psycopg.Error:
                self._saved_known = False
            with conn.transaction():
                if owner in plan["create_roles"]:
                    conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(owner)))
                for login in self.users:
                    if login in plan["create_roles"]:
                        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(
                            sql.Identifier(login), sql.Identifier(owner)))
                    elif not conn.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", (login, owner)).fetchone()[0]:
                        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(owner), sql.Identifier(login)))
                    conn.execute(sql.SQL("ALTER ROLE {} SET role = {}").format(
                        sql.Identifier(login), sql.Literal(owner)))
                verifier = conn.pgconn.encrypt_password(secret.encode("utf-8"), idle.encode("utf-8"),
                                                        b"scram-sha-256").decode("ascii")
                conn.execute(sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(
                    sql.Identifier(idle), sql.Literal(verifier)))

    def test(self, plan: dict, value: dict, secret: str) -> None:
        try:
            with self._conn(plan["username"], secret, self.db) as conn:
                session_user, current_user = conn.execute("SELECT session_user, current_user").fetchone()
        except Exception as exc:  # noqa: BLE001
            raise RotationError("login as %s to database %s with the new password failed: %s"
                                % (plan["username"], self.db, _first_line(exc)))
        if (session_user, current_user) != (plan["username"], self.owner):
            raise RotationError("login as %s runs as %s, not as the owner role %s (objects would be owned by the "
                                "login role)" % (session_user, current_user, self.owner))

    def rollback(self, plan: dict, value: dict, secret: str, current: StoredCredential | None) -> None:
        if not self._saved_known or plan["username"] in plan.get("create_roles", []):
            return
        with self._admin() as conn:
            if self._saved_verifier is None:
                conn.execute(sql.SQL("ALTER ROLE {} WITH PASSWORD NULL").format(sql.Identifier(plan["username"])))
            else:
                conn.execute(sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(
                    sql.Identifier(plan["username"]), sql.Literal(self._saved_verifier)))

    def retire(self, plan: dict, current: StoredCredential | None, check_mode: bool) -> list[str]:
        if plan.get("previous"):
            return ["%s %s valid until the next rotation" % ("would keep" if check_mode else "kept", plan["previous"])]
        return []


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return " ".join(line.strip() for line in text.splitlines() if line.strip())[:500]
