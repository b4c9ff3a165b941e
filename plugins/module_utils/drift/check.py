# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One drift run: Kubernetes, PostgreSQL settings, Patroni configuration and Odoo databases,
optional remediation of the Kubernetes drift through the deploy core, and the result for AWX/CI.

Remediation never builds or applies manifests itself: it calls ``k8s.instance.present`` (the
deploy path: render → batch dry-run → server-side apply with the deploy field manager → prune →
release record). The only extra write is for list items *another field manager* added (an
injected sidecar container, an extra env var): server-side apply cannot remove fields it does not
own, so the outermost list is first reset to the rendered list with the engine's merge patch.
Unmanaged objects are deleted only with ``delete_unmanaged``. Everything else (PostgreSQL,
Patroni, Odoo) is reported as unremediated with the reason.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

from typing import Any
from collections.abc import Callable

from ansible_collections.erpops.odoo.plugins.module_utils.drift import compare as cmp
from ansible_collections.erpops.odoo.plugins.module_utils.drift import odoo as odoo_drift
from ansible_collections.erpops.odoo.plugins.module_utils.drift import patroni as patroni_drift
from ansible_collections.erpops.odoo.plugins.module_utils.drift import pg as pg_drift
from ansible_collections.erpops.odoo.plugins.module_utils.drift.errors import DriftError
from ansible_collections.erpops.odoo.plugins.module_utils.drift.kube import KubeDrift
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import instance as inst
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.apply import ApplyError
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.release import ReleaseError
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.spec import SpecError

Fetch = Callable  # fetch(sql, params) -> rows (subscripted only in annotations: Python 3.8)
CHANGES = ("changed", "added", "removed", "missing", "orphaned", "unmanaged", "unexpected", "unknown",
           "missing_key", "pending_restart", "error")


def item_id(item: dict[str, Any]) -> tuple:
    return (item.get("source"), item.get("resource"), item.get("path"), item.get("change"))


def counts(items: list[dict[str, Any]], instances: int = 0, ignored: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {"total": len(items), "instances": instances, "ignored": ignored,
                           "by_change": {}, "by_source": {}, "by_kind": {}, "by_tenant": {}}
    for it in items:
        for key, field in (("by_change", "change"), ("by_source", "source"), ("by_kind", "kind"),
                           ("by_tenant", "tenant")):
            val = it.get(field) or "-"
            out[key][val] = out[key].get(val, 0) + 1
    return out


class DriftRun:
    """Collects drift from every configured source, then optionally remediates Kubernetes drift."""

    def __init__(self, engine: Any = None, *, ignore: list[dict[str, Any]] | None = None,
                 ignore_hpa_replicas: bool = True, report_unmanaged: bool = True,
                 unmanaged_exclude: list[dict[str, str]] | None = None) -> None:
        self.engine = engine
        self.kube = KubeDrift(engine, cmp.IgnoreRules(ignore), ignore_hpa_replicas=ignore_hpa_replicas,
                              report_unmanaged=report_unmanaged, unmanaged_exclude=unmanaged_exclude) \
            if engine is not None else None

    def detect(self, specs: list[dict[str, Any]], *, pg_fetch: Fetch | None = None,
               pg_settings: dict[str, Any] | None = None, pg_target: str = "postgresql",
               patroni_get: Callable[[], dict[str, Any]] | None = None, patroni_config: dict[str, Any] | None = None,
               patroni_target: str = "patroni",
               odoo: list[tuple[Fetch, dict[str, Any]]] | None = None) -> dict[str, Any]:
        items: list[dict[str, Any]] = []
        instances: list[dict[str, Any]] = []
        ignored: list[dict[str, Any]] = []
        if specs:
            if self.kube is None:
                raise DriftError("instances given but no Kubernetes client")
            k = self.kube.check(specs)
            items += k["items"]
            instances = k["instances"]
            ignored = k["ignored"]
        if pg_settings:
            if pg_fetch is None:
                raise DriftError("postgresql.settings given but no connection")
            items += pg_drift.check_settings(pg_fetch, pg_settings, pg_target)
        if patroni_config:
            if patroni_get is None:
                raise DriftError("patroni.config given but no Patroni REST API URL")
            items += patroni_drift.check_config(patroni_get, patroni_config, patroni_target)
        for fetch, desired in odoo or []:
            items += odoo_drift.check_database(fetch, desired)
        for it in items:
            it.setdefault("tenant", None)
            it.setdefault("message", "")
        return {"items": items, "instances": instances, "ignored": ignored}

    # -- remediation -----------------------------------------------------------------
    def remediate(self, specs: list[dict[str, Any]], items: list[dict[str, Any]], *, delete_unmanaged: bool = False,
                  release_info: dict[str, Any] | None = None, wait: bool = False, timeout: float = 300
                  ) -> dict[str, Any]:
        """Re-apply desired Kubernetes state for every drifted instance (check mode: dry-run only)."""
        engine = self.engine
        actions: list[dict[str, Any]] = []
        failed: dict[tuple, str] = {}
        diff: list[dict[str, Any]] = []
        specs_by = {}
        for s in KubeDrift.desired(specs):
            specs_by[s["spec"]["instance"]] = s
        todo: dict[str, list[dict[str, Any]]] = {}
        for it in items:
            if it["source"] == "kubernetes" and it.get("remediable") and it.get("instance") in specs_by:
                todo.setdefault(it["instance"], []).append(it)
        info = dict(release_info or {})
        info.setdefault("note", "drift remediation")
        for name in sorted(todo):
            w = specs_by[name]
            objs = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in w["objects"]}
            try:
                done: set[tuple] = set()
                for it in todo[name]:
                    if it["change"] != "added":
                        continue
                    obj = objs.get((it["kind"], it["namespace"], it["name"]))
                    toks = cmp.parse(it["path"])
                    first = next(i for i, t in enumerate(toks) if t[0] == "b")
                    list_path = toks[:first]
                    if obj is None or (it["resource"], list_path) in done:
                        continue
                    done.add((it["resource"], list_path))
                    engine.patch(obj, _nest(list_path, cmp.value_at(obj, list_path)), manager_suffix="-drift")
                    actions.append({"instance": name, "resource": it["resource"], "action": "reset list",
                                    "path": cmp.fmt(list_path)})
                out = inst.present(engine, w["spec"], prune=True, wait=wait, timeout=timeout, release_info=info)
                changed = [r for r in out["resources"] if r["action"] != "unchanged"]
                diff += out.get("diff") or []
                actions.append({"instance": name, "resource": None, "action": "applied",
                                "resources": changed, "release": (out.get("release") or {}).get("revision")})
            except (SpecError, ApplyError, ReleaseError, inst.InstanceError, DriftError) as exc:
                for it in todo[name]:
                    failed[item_id(it)] = "re-apply failed: %s" % exc
        if delete_unmanaged:
            for it in items:
                if it["source"] == "kubernetes" and it["change"] == "unmanaged":
                    obj = {"apiVersion": it["api_version"], "kind": it["kind"],
                           "metadata": {"name": it["name"], "namespace": it["namespace"]}}
                    try:
                        engine.delete(obj)
                        actions.append({"instance": None, "resource": it["resource"], "action": "deleted"})
                    except ApplyError as exc:
                        failed[item_id(it)] = "delete failed: %s" % exc
        return {"actions": actions, "failed": failed, "diff": diff}


def _nest(path: tuple, value: Any) -> dict[str, Any]:
    out: Any = value
    for token in reversed(path):
        out = {token[1]: out}
    return out


def reason(item: dict[str, Any], delete_unmanaged: bool) -> str:
    """Why an item is left for a human."""
    src, change = item.get("source"), item.get("change")
    if src == "postgresql":
        return "PostgreSQL settings are not changed by drift_check: apply them with the PostgreSQL roles " \
               "(ALTER SYSTEM / postgresql.conf) and reload%s" % (" or restart" if change == "pending_restart" else "")
    if src == "patroni":
        return "Patroni dynamic configuration is not changed by drift_check: restore it with the " \
               "postgresql_ha role or 'patronictl edit-config'"
    if src == "odoo":
        return "Odoo database state is not changed by drift_check: install/upgrade modules with the upgrade " \
               "playbook, set parameters in Odoo"
    if change == "unmanaged":
        return "not owned by the collection: review it, then delete it or set delete_unmanaged" \
            if not delete_unmanaged else "still present after delete"
    if change == "error":
        return "the desired object was refused by the API server: fix the spec"
    return "still drifted after the re-apply (another controller or admission plugin may be changing it)"


def execute(drift: DriftRun, specs: list[dict[str, Any]], *, remediate: bool = False, check_mode: bool = False,
            delete_unmanaged: bool = False, release_info: dict[str, Any] | None = None, wait: bool = False,
            timeout: float = 300, **sources: Any) -> dict[str, Any]:
    """Detect, optionally remediate and re-check; the module result (without ``changed``/``diff``)."""
    first = drift.detect(specs, **sources)
    items = first["items"]
    result: dict[str, Any] = {
        "drifted": bool(items), "counts": counts(items, len(first["instances"]), len(first["ignored"])),
        "items": items, "ignored": first["ignored"], "instances": first["instances"],
        "remediated": [], "unremediated": [], "actions": [], "diff": [], "changed": False,
    }
    result["remaining"] = result["counts"]
    if not remediate:
        return result
    rem = {"actions": [], "failed": {}, "diff": []}
    if items:
        rem = drift.remediate(specs, items, delete_unmanaged=delete_unmanaged, release_info=release_info, wait=wait,
                              timeout=timeout)
    result["actions"] = rem["actions"]
    result["diff"] = rem["diff"]
    if check_mode:
        for it in items:
            fix = (it["source"] == "kubernetes" and item_id(it) not in rem["failed"]
                   and (it.get("remediable") or (delete_unmanaged and it["change"] == "unmanaged")))
            if fix:
                result["remediated"].append(dict(it, remediation="would be re-applied" if it.get("remediable")
                                                 else "would be deleted"))
            else:
                result["unremediated"].append(dict(it, reason=rem["failed"].get(item_id(it))
                                                   or reason(it, delete_unmanaged)))
        result["changed"] = bool(result["remediated"])
        return result
    after = drift.detect(specs, **sources) if rem["actions"] else first
    left = {item_id(it): it for it in after["items"]}
    for it in items:
        if item_id(it) in left:
            result["unremediated"].append(dict(left[item_id(it)], reason=rem["failed"].get(item_id(it))
                                               or reason(it, delete_unmanaged)))
        else:
            result["remediated"].append(dict(it, remediation="deleted" if it["change"] == "unmanaged"
                                             else "re-applied"))
    for key, it in left.items():  # anything new after the re-apply (should not happen) is still reported
        if key not in {item_id(x) for x in items}:
            result["unremediated"].append(dict(it, reason="appeared after the re-apply"))
    result["changed"] = bool(rem["actions"])
    result["remaining"] = counts(after["items"], len(after["instances"]), len(after["ignored"]))
    return result
