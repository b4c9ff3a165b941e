# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client of Patroni's REST API over ``ansible.module_utils.urls`` (no extra dependencies).

Reads go to the first member that answers; writes (``POST /switchover``) go to a given member.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import json
from typing import Any
from collections.abc import Callable

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

from ansible_collections.erpops.odoo.plugins.module_utils.patroni.errors import PatroniError


class Response:
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body


def _default_opener(method: str, url: str, data: bytes | None, headers: dict[str, str], *, timeout: float,
                    username: str | None, password: str | None, validate_certs: bool,
                    ca_path: str | None) -> tuple[int, bytes]:
    try:
        resp = open_url(url, data=data, headers=headers, method=method, timeout=timeout,
                        url_username=username, url_password=password, force_basic_auth=bool(username),
                        validate_certs=validate_certs, ca_path=ca_path)
        return resp.getcode(), resp.read()
    except HTTPError as exc:  # Patroni answers health endpoints with 503 and a JSON body
        body = exc.read() if hasattr(exc, "read") else b""
        return exc.code, body


class PatroniClient:
    """REST client for a set of member API URLs (``http://host:8008``)."""

    def __init__(self, api_urls: list[str], *, username: str | None = None, password: str | None = None,
                 timeout: float = 5.0, validate_certs: bool = True, ca_path: str | None = None,
                 opener: Callable[..., tuple[int, bytes]] | None = None) -> None:
        if not api_urls:
            raise PatroniError("api_url: at least one Patroni REST URL is required", kind="invalid")
        self.api_urls = [u.rstrip("/") for u in api_urls]
        self.username = username
        self.password = password
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self._open = opener or _default_opener

    def request(self, method: str, url: str, payload: dict[str, Any] | None = None,
                timeout: float | None = None) -> Response:
        data = json.dumps(payload).encode() if payload is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            status, raw = self._open(method, url, data, headers, timeout=timeout or self.timeout,
                                     username=self.username, password=self.password,
                                     validate_certs=self.validate_certs, ca_path=self.ca_path)
        except (URLError, OSError, ValueError) as exc:
            raise PatroniError(f"{method} {url}: {exc}", kind="unreachable", url=url)
        text = raw.decode("utf-8", "replace") if raw else ""
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = text
        return Response(status, body)

    def get_any(self, path: str) -> tuple[str, Response]:
        """GET ``path`` from the first member that answers; returns (base_url, response)."""
        errors = []
        for base in self.api_urls:
            try:
                return base, self.request("GET", base + path)
            except PatroniError as exc:
                errors.append(str(exc))
        raise PatroniError("no Patroni REST API answered: " + "; ".join(errors), kind="unreachable",
                           api_urls=self.api_urls)

    def cluster(self) -> dict[str, Any]:
        base, resp = self.get_any("/cluster")
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise PatroniError(f"GET {base}/cluster answered {resp.status}: {resp.body!r}", kind="api")
        return resp.body

    def health(self, api_url: str, endpoint: str) -> int:
        """Status of a health endpoint (``/primary``, ``/replica``, ...) of one member; 0 if unreachable."""
        try:
            return self.request("GET", api_url.rstrip("/") + endpoint, timeout=min(self.timeout, 3.0)).status
        except PatroniError:
            return 0

    def accepts_writes(self, api_url: str) -> bool:
        """The member holds the leader lock (``/primary`` 200) and its PostgreSQL is out of recovery.

        Patroni's ``/primary`` answers from the lock alone; ``xlog.location`` (rather than
        ``received_location``/``replayed_location``) appears only when ``pg_is_in_recovery()`` is false.
        """
        try:
            resp = self.request("GET", api_url.rstrip("/") + "/primary", timeout=min(self.timeout, 3.0))
        except PatroniError:
            return False
        body = resp.body if isinstance(resp.body, dict) else {}
        return (resp.status == 200 and body.get("state") == "running"
                and "location" in (body.get("xlog") or {}))

    def switchover(self, api_url: str, leader: str, candidate: str, timeout: float) -> Response:
        return self.request("POST", api_url.rstrip("/") + "/switchover",
                            {"leader": leader, "candidate": candidate}, timeout=timeout)
