# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release history: one ConfigMap per instance holding a bounded list of releases.

A release records what was deployed and why: revision, image and digest, config
hash, who, when, change id, pre-upgrade backup id, status, and the normalised
spec itself (Secret *references* only, never values) so ``rollback`` can
re-render any recorded revision exactly.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import datetime
import json
from typing import Any

from ansible_collections.erpops.odoo.plugins.module_utils.k8s import render as rd

DATA_KEY = "releases.json"
STATUSES = ("deployed", "failed")


class ReleaseError(ValueError):
    """A release that does not exist or cannot be used."""


def configmap_name(instance: str) -> str:
    return "%s-releases" % instance


def read(engine: Any, namespace: str, instance: str) -> list[dict[str, Any]]:
    """Releases oldest first ([] when the instance has none)."""
    cm = engine.get("v1", "ConfigMap", configmap_name(instance), namespace)
    if cm is None:
        return []
    try:
        releases = json.loads((cm.get("data") or {}).get(DATA_KEY) or "[]")
    except ValueError as exc:
        raise ReleaseError("release history %s/%s is not valid JSON: %s" % (namespace, configmap_name(instance), exc))
    return sorted(releases, key=lambda r: r["revision"])


def last_good(releases: list[dict[str, Any]], before: int | None = None) -> dict[str, Any] | None:
    for rel in reversed(releases):
        if rel.get("status") == "deployed" and (before is None or rel["revision"] < before):
            return rel
    return None


def find(releases: list[dict[str, Any]], target: Any) -> dict[str, Any]:
    """``target``: a revision number, or ``previous`` (the newest good release before the newest one)."""
    if not releases:
        raise ReleaseError("no release recorded yet: nothing to roll back to")
    if target in (None, "", "previous"):
        rel = last_good(releases, before=releases[-1]["revision"])
        if rel is None:
            raise ReleaseError("no successful release before revision %d" % releases[-1]["revision"])
        return rel
    try:
        revision = int(target)
    except (TypeError, ValueError):
        raise ReleaseError("rollback target must be a revision number or 'previous', got %r" % (target,))
    for rel in releases:
        if rel["revision"] == revision:
            if rel.get("status") != "deployed":
                raise ReleaseError("revision %d has status %r: only a successful release can be restored"
                                   % (revision, rel.get("status")))
            return rel
    raise ReleaseError("revision %d is not in the release history (kept: %s)"
                       % (revision, ", ".join(str(r["revision"]) for r in releases)))


def new_release(spec: dict[str, Any], releases: list[dict[str, Any]], status: str, info: dict[str, Any], *,
                digest: str | None = None, rollback_of: int | None = None) -> dict[str, Any]:
    if status not in STATUSES:
        raise ReleaseError("release status must be one of %s" % ", ".join(STATUSES))
    info = info or {}
    utc = datetime.timezone.utc  # noqa: UP017 - datetime.UTC needs Python 3.11; modules run on 3.8+
    now = datetime.datetime.now(utc).replace(microsecond=0)
    return {
        "revision": (releases[-1]["revision"] + 1) if releases else 1,
        "status": status,
        "image": spec["image"],
        "image_digest": spec["image_digest"] or digest,
        "config_hash": rd.config_hash(spec),
        "who": info.get("who") or "unknown",
        "when": now.isoformat().replace("+00:00", "Z"),
        "change_id": info.get("change_id"),
        "backup_id": info.get("backup_id"),
        "note": info.get("note"),
        "rollback_of": rollback_of,
        "spec": spec,
    }


def history_manifest(spec: dict[str, Any], releases: list[dict[str, Any]]) -> dict[str, Any]:
    labels = rd.labels(spec, "release-history")
    labels[rd.LABEL_RELEASES] = "true"
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": configmap_name(spec["instance"]), "namespace": spec["namespace"], "labels": labels},
            "data": {DATA_KEY: json.dumps(releases, sort_keys=True, separators=(",", ":"))}}


def record(engine: Any, spec: dict[str, Any], release: dict[str, Any], releases: list[dict[str, Any]],
           limit: int = 10) -> list[dict[str, Any]]:
    """Append ``release``, keep the newest ``limit`` and write the ConfigMap (skipped in check mode)."""
    kept = [*releases, release][-max(1, limit):]
    if not engine.check_mode:
        engine.ssa(history_manifest(spec, kept), dry_run=False)
    return kept


def summary(rel: dict[str, Any]) -> dict[str, Any]:
    """A release without its embedded spec (what modules return)."""
    return {k: v for k, v in rel.items() if k != "spec"}
