# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis ACL user passwords, rotated without downtime.

A Redis ACL user may have several valid passwords: ``ACL SETUSER u >new`` adds the new one while the old
one keeps working, the new one is tested with a fresh connection, the store promotes it, and after a short
grace period (for clients that read the store just before promotion) ``ACL SETUSER u <old`` removes the
old one. Stale passwords left by an interrupted run (anything but the new one) are removed by hash then.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import hashlib
import time

from ansible_collections.erpops.odoo.plugins.module_utils.rotation.core import RotationError, StoredCredential, Target

try:
    import redis
    HAS_REDIS = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_REDIS = False


def _sha256(password: str) -> str:
    return hashlib.sha256(password.encode("utf-8")).hexdigest()


class RedisAclTarget(Target):
    backend = "redis"

    def __init__(self, username: str, host: str, *, port: int = 6379, admin_username: str = "default",
                 admin_password: str | None = None, tls: bool = False, acl_rules: str = "~* &* +@all",
                 grace_seconds: float = 2.0, socket_timeout: float = 5.0, client_factory=None, sleep=time.sleep):
        self.username = username
        self.host, self.port, self.tls = host, int(port), tls
        self.admin_username, self.admin_password = admin_username, admin_password
        self.acl_rules = acl_rules.split() if isinstance(acl_rules, str) else list(acl_rules)
        self.grace_seconds, self.socket_timeout = grace_seconds, socket_timeout
        self._factory = client_factory
        self._sleep = sleep
        self._created = False
        self._new_hash = None

    def _client(self, username: str | None, password: str | None):
        factory = self._factory or redis.Redis
        # retry=None: a rejected login must fail at once, not be retried for seconds
        return factory(host=self.host, port=self.port, username=username, password=password, ssl=self.tls,
                       socket_timeout=self.socket_timeout, socket_connect_timeout=self.socket_timeout, retry=None)

    def _admin(self):
        return self._client(self.admin_username, self.admin_password)

    def _call(self, what: str, *args):
        client = self._admin()
        try:
            return client.execute_command(*args)
        except Exception as exc:  # noqa: BLE001 - redis-py error classes; messages carry no password
            raise RotationError("redis %s:%s: %s failed: %s" % (self.host, self.port, what, exc))
        finally:
            client.close()

    def check(self) -> None:
        if not HAS_REDIS and self._factory is None:
            raise RotationError("redis (redis-py) is required for the redis backend")
        if not self.admin_password:
            raise RotationError("redis target %s:%s: missing admin credentials (admin_password)"
                                % (self.host, self.port))
        if not self.username or any(c.isspace() for c in self.username):
            raise RotationError("redis target: invalid ACL user name")

    def _user(self) -> dict | None:
        raw = self._call("ACL GETUSER %s" % self.username, "ACL", "GETUSER", self.username)
        if raw is None:
            return None
        if isinstance(raw, list):  # RESP2: flat key/value list
            raw = dict(zip(raw[0::2], raw[1::2]))  # noqa: B905 - strict= is Python 3.10+
        return {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}

    def plan(self, current: StoredCredential | None) -> dict:
        user = self._user()
        return {"username": self.username, "create_user": user is None}

    def build_value(self, plan: dict, secret: str) -> dict:
        return {"username": self.username, "password": secret}

    def set(self, plan: dict, value: dict, secret: str, current: StoredCredential | None) -> None:
        self._new_hash = _sha256(secret)
        if plan["create_user"]:
            self._call("ACL SETUSER (create)", "ACL", "SETUSER", self.username, "on", ">" + secret, *self.acl_rules)
            self._created = True
        else:
            self._call("ACL SETUSER (add password)", "ACL", "SETUSER", self.username, "on", ">" + secret)
        self._save()

    def test(self, plan: dict, value: dict, secret: str) -> None:
        client = self._client(self.username, secret)
        try:
            who = client.execute_command("ACL", "WHOAMI")
            client.ping()
        except Exception as exc:  # noqa: BLE001
            raise RotationError("login as ACL user %s with the new password failed: %s" % (self.username, exc))
        finally:
            client.close()
        who = who.decode() if isinstance(who, bytes) else who
        if who != self.username:
            raise RotationError("login with the new password authenticated as %s, not %s" % (who, self.username))

    def rollback(self, plan: dict, value: dict, secret: str, current: StoredCredential | None) -> None:
        if self._created:
            self._call("ACL DELUSER", "ACL", "DELUSER", self.username)
        else:
            self._call("ACL SETUSER (remove new password)", "ACL", "SETUSER", self.username, "<" + secret)
        self._save()

    def retire(self, plan: dict, current: StoredCredential | None, check_mode: bool) -> list[str]:
        if check_mode:
            return ["would remove the previous password of ACL user %s after %ss"
                    % (self.username, self.grace_seconds)]
        old = current.value.get("password") if current is not None else None
        self._sleep(self.grace_seconds)
        hashes = {h.decode() if isinstance(h, bytes) else h for h in (self._user() or {}).get("passwords") or []}
        rules = []
        if old is not None and _sha256(old) in hashes:
            rules.append("<" + old)
        # passwords left by an interrupted rotation: nobody was ever told them, remove them by hash
        rules.extend("!" + h for h in sorted(hashes - {self._new_hash} - ({_sha256(old)} if old else set())))
        if not rules:
            return []
        self._call("ACL SETUSER (remove previous password)", "ACL", "SETUSER", self.username, *rules)
        self._save()
        return ["removed %d previous password(s) of ACL user %s" % (len(rules), self.username)]

    def _save(self) -> None:
        """Persist ACLs when the server uses an ACL file; servers without one keep them in memory."""
        try:
            self._call("ACL SAVE", "ACL", "SAVE")
        except RotationError as exc:
            if "not configured to use an ACL file" not in str(exc):
                raise
