# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Odoo's ``/web/health`` through a route, as the last validation of a restore (before the replaced copy goes).

Odoo answers ``200 {"status": "pass"}`` once it serves the database. A restore on Kubernetes checks it through
the instance's route (Traefik), so a restored database that Odoo cannot serve is rolled back like one whose row
counts differ.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable  # noqa: UP035 - Python 3.8 on managed hosts

from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError


@dataclass
class HealthCheck:
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    validate_certs: bool = True
    retries: int = 30
    delay: float = 2.0
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise BackupError("verify_url=%r: an http:// or https:// URL of /web/health is required" % self.url,
                              kind="input")
        if self.retries < 0 or self.delay < 0:
            raise BackupError("verify_retries=%r / verify_delay=%r: must not be negative" % (self.retries, self.delay),
                              kind="input")


#: ``fetch(check) -> (HTTP status, body)``; raises OSError-like errors when nothing answers.
Fetch = Callable[[HealthCheck], "tuple[int, bytes]"]


def _passes(status: int, body: bytes) -> bool:
    if status != 200:
        return False
    try:
        doc = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("status") == "pass"


def open_url_fetch(check: HealthCheck) -> tuple[int, bytes]:
    """GET with Ansible's ``open_url`` (the CA, client-certificate and proxy handling of ``ansible.builtin.uri``)."""
    from ansible.module_utils.six.moves.urllib.error import HTTPError  # noqa: PLC0415 - only in a module run
    from ansible.module_utils.urls import open_url  # noqa: PLC0415

    try:
        resp = open_url(check.url, headers=dict(check.headers), validate_certs=check.validate_certs,
                        timeout=check.timeout, follow_redirects="safe")
        return int(resp.getcode()), resp.read(65536)
    except HTTPError as exc:
        return int(exc.code), exc.read(65536) if hasattr(exc, "read") else b""


def check_health(check: HealthCheck, fetch: Fetch = open_url_fetch,
                 sleep: Callable[[float], Any] = time.sleep) -> dict[str, Any]:
    """Try up to ``retries + 1`` times; the result names the attempts, else a ``validation`` error the last answer."""
    last = ""
    for attempt in range(1, check.retries + 2):
        try:
            status, body = fetch(check)
        except Exception as exc:  # noqa: BLE001 - connection refused, TLS, timeout: all mean "not serving"
            last = "%s: %s" % (type(exc).__name__, exc)
        else:
            if _passes(status, body):
                return {"url": check.url, "status": status, "attempts": attempt}
            last = "HTTP %d %s" % (status, body[:200].decode("utf-8", "replace"))
        if attempt <= check.retries:
            sleep(check.delay)
    raise BackupError('%s did not answer {"status": "pass"} in %d attempts (last: %s)'
                      % (check.url, check.retries + 1, last), kind="validation", details={"verify_url": check.url})
