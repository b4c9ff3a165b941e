# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes drift of managed Odoo instances, over the deploy core.

Desired state comes only from the rendering core (``k8s/render.py``) and the comparison goes
through the deploy engine (``k8s/apply.py``): each desired object that exists is dry-run applied
server-side with the deploy field manager, so the result carries API defaults and normalisation,
and is compared with the live object restricted to what the desired object sets
(``compare.diff``). Reads scale with the estate: one Namespace list, then **one list per kind per
namespace** (unfiltered, so the same lists give owned, orphaned and unmanaged objects); no
per-object GET. Missing objects are not dry-run.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

from typing import Any

from ansible_collections.erpops.odoo.plugins.module_utils.drift import compare as cmp
from ansible_collections.erpops.odoo.plugins.module_utils.drift.errors import DriftError
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import render as rd
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import spec as sp
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.apply import REDACTED, ApplyError, ref

# objects Kubernetes itself creates in every namespace: never "unmanaged"
DEFAULT_UNMANAGED_EXCLUDE: list[dict[str, str]] = [
    {"kind": "ConfigMap", "name": "kube-root-ca.crt"},
    {"kind": "ServiceAccount", "name": "default"},
]


def redact_value(kind: str, path: str, value: Any) -> Any:
    """Secret data never leaves the core (hash-free: the value is simply withheld)."""
    if value is None:
        return None
    if kind == "Secret" and (path.startswith("data") or path.startswith("stringData") or path == ""):
        return REDACTED
    return value


def _key(obj: dict[str, Any]) -> tuple[str, str | None, str]:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace"), meta["name"]


def _excluded(obj: dict[str, Any], excludes: list[dict[str, str]]) -> bool:
    import fnmatch  # noqa: PLC0415

    meta = obj.get("metadata") or {}
    if meta.get("ownerReferences"):  # created by a controller (ReplicaSet of a Deployment, ...)
        return True
    for ex in excludes:
        if ex.get("kind") not in (None, "*", obj["kind"]):
            continue
        if ex.get("name") and not fnmatch.fnmatchcase(meta.get("name", ""), ex["name"]):
            continue
        if ex.get("namespace") and not fnmatch.fnmatchcase(meta.get("namespace") or "", ex["namespace"]):
            continue
        return True
    return False


class KubeDrift:
    """Compare rendered instances with the cluster through a deploy ``Engine``."""

    def __init__(self, engine: Any, ignore: cmp.IgnoreRules | None = None, ignore_hpa_replicas: bool = True,
                 report_unmanaged: bool = True, unmanaged_exclude: list[dict[str, str]] | None = None) -> None:
        self.engine = engine
        self.ignore = ignore or cmp.IgnoreRules()
        self.ignore_hpa_replicas = ignore_hpa_replicas
        self.report_unmanaged = report_unmanaged
        self.excludes = DEFAULT_UNMANAGED_EXCLUDE + list(unmanaged_exclude or [])
        self.ignored: list[dict[str, Any]] = []

    # -- desired -------------------------------------------------------------------
    @staticmethod
    def desired(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Normalised specs (fleet-validated) with their rendered objects: [{spec, objects}]."""
        if not isinstance(specs, list):
            raise DriftError("instances: a list of instance specs")
        return [{"spec": s, "objects": rd.render(s)} for s in sp.check_fleet(specs)]

    # -- live ----------------------------------------------------------------------
    def live(self, namespaces: list[str]) -> tuple[set[str], dict[tuple[str, str | None, str], dict[str, Any]]]:
        """(existing namespaces, live objects by key): one Namespace list + one list per kind per namespace."""
        found = {o["metadata"]["name"]: o for o in self.engine.list("v1", "Namespace")}
        index: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        for name, obj in found.items():
            if name in namespaces:
                index[("Namespace", None, name)] = obj
        existing = {n for n in namespaces if n in found}
        for ns in sorted(existing):
            for api, kind, namespaced in rd.KINDS:
                if not namespaced:
                    continue
                for obj in self.engine.list(api, kind, ns):
                    index[_key(obj)] = obj
        return existing, index

    # -- check ---------------------------------------------------------------------
    def check(self, specs: list[dict[str, Any]]) -> dict[str, Any]:
        """Drift items of every instance: changed fields, missing, orphaned and unmanaged objects."""
        wanted = self.desired(specs)
        namespaces = sorted({w["spec"]["namespace"] for w in wanted})
        existing, live = self.live(namespaces)
        items: list[dict[str, Any]] = []
        self.ignored = []
        desired_keys: set[tuple[str, str | None, str]] = set()
        instances = []
        for w in wanted:
            s = w["spec"]
            rules = self._instance_rules(w["objects"])
            count = 0
            for obj in w["objects"]:
                key = _key(obj)
                desired_keys.add(key)
                cur = live.get(key)
                base = self._base(s, obj)
                if cur is None:
                    items.append(dict(base, change="missing", path="", desired="(rendered object)", live=None,
                                      message="%s does not exist" % ref(obj), remediable=True))
                    continue
                try:
                    dry = self.engine.ssa(obj, dry_run=True)
                except ApplyError as exc:
                    items.append(dict(base, change="error", path="", desired=None, live=None, message=str(exc),
                                      remediable=False))
                    continue
                for d in cmp.diff(obj, dry, cur):
                    path = cmp.fmt(d["path"])
                    why = rules.ignored(obj["kind"], key[1], key[2], d["path"]) or self.ignore.ignored(
                        obj["kind"], key[1], key[2], d["path"])
                    if why:
                        self.ignored.append({"resource": ref(obj), "path": path, "reason": why})
                        continue
                    count += 1
                    items.append(dict(base, change=d["change"], path=path,
                                      desired=redact_value(obj["kind"], path, d["desired"]),
                                      live=redact_value(obj["kind"], path, d["live"]), remediable=True,
                                      message=_message(d["change"], path)))
            instances.append({"tenant": s["tenant"], "instance": s["instance"], "namespace": s["namespace"],
                              "objects": len(w["objects"]), "namespace_exists": s["namespace"] in existing})
        items.extend(self._extras(wanted, live, desired_keys))
        return {"items": items, "instances": instances, "ignored": self.ignored}

    def _instance_rules(self, objs: list[dict[str, Any]]) -> cmp.IgnoreRules:
        """Built-in rules: spec.replicas of a Deployment an HPA of the same instance scales."""
        rules = cmp.IgnoreRules()
        if self.ignore_hpa_replicas:
            for o in objs:
                if o["kind"] == "HorizontalPodAutoscaler":
                    target = o["spec"]["scaleTargetRef"]
                    if target.get("kind") == "Deployment":
                        rules.add("Deployment", ["spec.replicas"], name=target["name"],
                                  namespace=o["metadata"]["namespace"],
                                  reason="scaled by HorizontalPodAutoscaler %s" % o["metadata"]["name"])
        return rules

    def _extras(self, wanted: list[dict[str, Any]], live: dict[tuple[str, str | None, str], dict[str, Any]],
                desired_keys: set[tuple[str, str | None, str]]) -> list[dict[str, Any]]:
        by_instance = {(w["spec"]["namespace"], w["spec"]["instance"]): w["spec"] for w in wanted}
        namespaces = {w["spec"]["namespace"] for w in wanted}
        out = []
        for key in sorted(live, key=lambda k: (k[1] or "", k[0], k[2])):
            if key in desired_keys or key[0] == "Namespace" or key[1] not in namespaces:
                continue
            obj = live[key]
            labels = obj["metadata"].get("labels") or {}
            if labels.get(rd.LABEL_RELEASES) is not None:
                continue
            if labels.get(rd.LABEL_MANAGED_BY) == rd.MANAGER:
                s = by_instance.get((key[1], labels.get(rd.LABEL_INSTANCE)))
                if s is None:
                    continue  # owned by an instance not in this check: not ours to judge
                out.append(dict(self._base(s, obj), change="orphaned", path="", desired=None, live="(exists)",
                                remediable=True,
                                message="owned by the instance but no longer rendered (the next deploy prunes it)"))
                continue
            if not self.report_unmanaged or _excluded(obj, self.excludes):
                continue
            tenants = sorted(s["tenant"] for (ns, dummy), s in by_instance.items() if ns == key[1])
            out.append({"source": "kubernetes", "tenant": tenants[0] if len(tenants) == 1 else None,
                        "instance": None, "namespace": key[1], "kind": key[0], "name": key[2], "resource": ref(obj),
                        "api_version": obj.get("apiVersion"), "change": "unmanaged", "path": "", "desired": None,
                        "live": "(exists)", "remediable": False,
                        "message": "%s in a managed namespace without the ownership labels (%s=%s)"
                                   % (key[0], rd.LABEL_MANAGED_BY, rd.MANAGER)})
        return out

    @staticmethod
    def _base(s: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        return {"source": "kubernetes", "tenant": s["tenant"], "instance": s["instance"],
                "namespace": meta.get("namespace"), "kind": obj["kind"], "name": meta["name"],
                "resource": ref(obj), "api_version": obj["apiVersion"]}


def _message(change: str, path: str) -> str:
    if change == "added":
        return "list item added outside the collection at %s" % path
    if change == "removed":
        return "list item removed at %s" % path
    return "field %s differs" % path
