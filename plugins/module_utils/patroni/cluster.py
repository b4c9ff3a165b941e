# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster state from Patroni's ``GET /cluster``: members, roles, lag, timeline, pending restart."""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

from typing import Any

from ansible_collections.erpops.odoo.plugins.module_utils.patroni.client import PatroniClient

LEADER_ROLES = ("leader", "master", "primary", "standby_leader")
SYNC_ROLES = ("sync_standby",)
# Patroni 3.0 reports a healthy replica as "running", 3.0.4+ as "streaming".
HEALTHY_REPLICA_STATES = ("running", "streaming")


def _lag(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None  # "unknown" or missing


def member_summary(raw: dict[str, Any]) -> dict[str, Any]:
    role = str(raw.get("role", "unknown"))
    return {
        "name": raw.get("name"),
        "role": "leader" if role in LEADER_ROLES else role,
        "sync": role in SYNC_ROLES,
        "state": raw.get("state"),
        "host": raw.get("host"),
        "port": raw.get("port"),
        "api_url": raw.get("api_url"),
        "timeline": raw.get("timeline"),
        "lag_bytes": 0 if role in LEADER_ROLES else _lag(raw.get("lag")),
        "pending_restart": bool(raw.get("pending_restart", False)),
        "nofailover": bool((raw.get("tags") or {}).get("nofailover", False)),
    }


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    """The module result for ``patroni_info`` from a ``/cluster`` body."""
    members = [member_summary(m) for m in raw.get("members", [])]
    leaders = [m for m in members if m["role"] == "leader"]
    leader = leaders[0] if leaders else None
    replicas = [m for m in members if m["role"] != "leader"]
    timelines = [m["timeline"] for m in members if isinstance(m["timeline"], int)]
    return {
        "members": members,
        "leader": leader["name"] if leader else None,
        "replicas": [m["name"] for m in replicas],
        "sync_standbys": [m["name"] for m in members if m["sync"]],
        "timeline": leader["timeline"] if leader else (max(timelines) if timelines else None),
        "max_lag_bytes": max((m["lag_bytes"] for m in replicas if m["lag_bytes"] is not None), default=0),
        "pending_restart": [m["name"] for m in members if m["pending_restart"]],
        "paused": bool(raw.get("pause", False)),
        "scheduled_switchover": raw.get("scheduled_switchover"),
        "healthy": bool(leader) and leader["state"] == "running" and all(healthy_replica(m, None) for m in replicas),
    }


def healthy_replica(member: dict[str, Any], max_lag_bytes: int | None) -> bool:
    if member["role"] == "leader" or member["state"] not in HEALTHY_REPLICA_STATES:
        return False
    if max_lag_bytes is None:
        return True
    return member["lag_bytes"] is not None and member["lag_bytes"] <= max_lag_bytes


def api_url_of(member: dict[str, Any], overrides: dict[str, str] | None) -> str | None:
    """The REST URL to reach ``member`` from here: an explicit override, else what Patroni advertises."""
    if overrides and member["name"] in overrides:
        return overrides[member["name"]]
    return member.get("api_url") and member["api_url"].rsplit("/patroni", 1)[0]


def read_cluster(client: PatroniClient) -> dict[str, Any]:
    return summarize(client.cluster())
