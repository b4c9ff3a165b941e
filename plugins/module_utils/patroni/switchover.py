# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planned switchover: choose and pre-check a candidate, ask Patroni, wait until it accepts writes.

"Accepts writes" is Patroni's ``GET /primary`` answering 200 on the candidate: Patroni answers 200 only
when the member holds the leader key and its PostgreSQL runs read-write (not in recovery), which is
the same check HAProxy uses to route writes.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import time
from typing import Any
from collections.abc import Callable

from ansible_collections.erpops.odoo.plugins.module_utils.patroni.client import PatroniClient
from ansible_collections.erpops.odoo.plugins.module_utils.patroni.cluster import (
    HEALTHY_REPLICA_STATES,
    api_url_of,
    read_cluster,
)
from ansible_collections.erpops.odoo.plugins.module_utils.patroni.errors import PatroniError


def _why_not(member: dict[str, Any], max_lag_bytes: int, sync_required: bool) -> str | None:
    """Why ``member`` cannot take over, or None when it can."""
    if member["role"] == "leader":
        return "it is the current leader"
    if member["state"] not in HEALTHY_REPLICA_STATES:
        return f"state is {member['state']!r}, not a healthy replica"
    if member["nofailover"]:
        return "it is tagged nofailover"
    if member["lag_bytes"] is None:
        return "its replication lag is unknown"
    if member["lag_bytes"] > max_lag_bytes:
        return f"lag {member['lag_bytes']} bytes exceeds max_lag_bytes={max_lag_bytes}"
    if sync_required and not member["sync"]:
        return "synchronous mode is on and it is not a synchronous standby"
    return None


def plan_switchover(state: dict[str, Any], candidate: str | None, max_lag_bytes: int) -> dict[str, Any]:
    """Validate the request against ``state`` (from :func:`read_cluster`) before anything changes."""
    if max_lag_bytes < 0:
        raise PatroniError(f"max_lag_bytes={max_lag_bytes}: must be >= 0", kind="invalid")
    if state["paused"]:
        raise PatroniError("the cluster is in maintenance mode (paused): resume it before a switchover",
                           kind="precondition", cluster=state)
    leader = state["leader"]
    if leader is None:
        raise PatroniError("the cluster has no leader: nothing to switch over from", kind="precondition",
                           cluster=state)
    members = {m["name"]: m for m in state["members"]}
    sync_required = bool(state["sync_standbys"])
    if candidate is not None:
        if candidate == leader:
            return {"action": "none", "leader": leader, "candidate": candidate,
                    "reason": f"{candidate} is already the leader"}
        if candidate not in members:
            raise PatroniError(f"candidate={candidate!r} is not a member of the cluster (members: "
                               f"{', '.join(sorted(members))})", kind="invalid", cluster=state)
        why = _why_not(members[candidate], max_lag_bytes, sync_required)
        if why:
            raise PatroniError(f"candidate={candidate!r} cannot take over: {why}", kind="precondition",
                               cluster=state)
        chosen = members[candidate]
    else:
        reasons = {n: _why_not(m, max_lag_bytes, sync_required) for n, m in members.items() if n != leader}
        able = [members[n] for n, why in reasons.items() if why is None]
        if not able:
            detail = "; ".join(f"{n}: {why}" for n, why in sorted(reasons.items())) or "no replicas"
            raise PatroniError(f"no healthy replica can take over ({detail})", kind="precondition", cluster=state)
        # Best candidate: a synchronous standby first, then the smallest lag, then the name.
        chosen = sorted(able, key=lambda m: (not m["sync"], m["lag_bytes"], m["name"]))[0]
    return {"action": "switchover", "leader": leader, "candidate": chosen["name"],
            "candidate_lag_bytes": chosen["lag_bytes"], "candidate_sync": chosen["sync"],
            "reason": f"switch over from {leader} to {chosen['name']} (lag {chosen['lag_bytes']} bytes"
                      f"{', synchronous' if chosen['sync'] else ''})"}


def run_switchover(client: PatroniClient, candidate: str | None, max_lag_bytes: int, *, wait_timeout: float,
                   check_mode: bool, member_urls: dict[str, str] | None = None,
                   sleep: Callable[[float], None] = time.sleep,
                   clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    before = read_cluster(client)
    plan = plan_switchover(before, candidate, max_lag_bytes)
    result: dict[str, Any] = {"changed": False, "plan": plan, "leader_before": plan["leader"],
                              "leader_after": plan["leader"], "cluster_before": before}
    if plan["action"] == "none":
        result.update(msg=plan["reason"], cluster=before)
        return result
    if check_mode:
        result.update(changed=True, leader_after=plan["candidate"], msg=f"would {plan['reason']}", cluster=before)
        return result

    members = {m["name"]: m for m in before["members"]}
    leader_url = api_url_of(members[plan["leader"]], member_urls)
    candidate_url = api_url_of(members[plan["candidate"]], member_urls)
    if not leader_url or not candidate_url:
        raise PatroniError("cannot tell the REST URL of the leader or the candidate; pass member_api_urls",
                           kind="invalid", cluster=before)
    start = clock()
    deadline = start + wait_timeout
    try:
        resp = client.switchover(leader_url, plan["leader"], plan["candidate"], timeout=wait_timeout)
        answer = f"{resp.status}: {resp.body}"
        accepted = resp.status in (200, 202)
    except PatroniError as exc:  # the old leader may drop the connection while demoting
        answer, accepted = str(exc), True
    done = False
    if accepted:
        while clock() < deadline:
            if client.accepts_writes(candidate_url):
                done = True
                break
            sleep(0.2)
    seconds = round(clock() - start, 2)
    if done:
        after = read_cluster(client)
        result.update(changed=True, leader_after=plan["candidate"], cluster=after, seconds=seconds,
                      msg=f"switched over from {plan['leader']} to {plan['candidate']} in {seconds}s")
        return result
    # Not completed: Patroni keeps (or re-elects) a leader by itself; wait for one and report the state.
    after = _wait_for_leader(client, deadline + 30.0, sleep, clock)
    raise PatroniError(
        f"switchover from {plan['leader']} to {plan['candidate']} did not complete within {wait_timeout}s "
        f"(Patroni answered {answer}); leader now: {after['leader'] if after else 'unknown'}",
        kind="not_completed", leader_after=after["leader"] if after else None, cluster=after, plan=plan)


def _wait_for_leader(client: PatroniClient, deadline: float, sleep: Callable[[float], None],
                     clock: Callable[[], float]) -> dict[str, Any] | None:
    state = None
    while True:
        try:
            state = read_cluster(client)
            if state["leader"] is not None:
                return state
        except PatroniError:
            pass
        if clock() >= deadline:
            return state
        sleep(1.0)
