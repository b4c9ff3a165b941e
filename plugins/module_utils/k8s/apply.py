# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Batch server-side-apply engine over the ``kubernetes`` dynamic client.

Why not one ``kubernetes.core.k8s`` task per resource (used elsewhere in the collection):
an Odoo instance is ~20 objects that must be accepted or refused *together*. This engine

* dry-runs the whole batch server-side (``dryRun=All``) before writing anything, so a
  manifest the API server or an admission plugin refuses stops the run with nothing
  applied (one object at a time would leave half an instance behind);
* computes one readable per-resource diff from that dry-run, which is also check mode
  (nothing changes; kubernetes.core's check mode with server-side apply does not call
  the API server, so defaulted fields and conflicts are invisible there);
* decides idempotence by comparing the dry-run result with the live object (ignoring
  managedFields, resourceVersion, generation and status), so an unchanged instance
  reports ``changed=false`` without writing;
* prunes objects the instance owned before and no longer renders, found with one
  label-selected list per kind (the same lists also give the live state);
* waits for Deployment rollouts and reports the failing pods and conditions.

Drift detection reuses :func:`normalize` / :meth:`Engine.plan` on the same rendered list.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import copy
import hashlib
import json
import time
from typing import Any

from ansible_collections.erpops.odoo.plugins.module_utils.k8s import render as rd

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError, ResourceNotFoundError
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - reported by the module with missing_required_lib
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = _exc

    class DynamicApiError(Exception):  # type: ignore[no-redef]
        status = None

    class NotFoundError(DynamicApiError):  # type: ignore[no-redef]
        pass

    class ResourceNotFoundError(Exception):  # type: ignore[no-redef]
        pass

FIELD_MANAGER = rd.MANAGER
REDACTED = "<redacted>"
_VOLATILE_META = ("managedFields", "resourceVersion", "generation", "creationTimestamp", "uid", "selfLink")


class ApplyError(Exception):
    """A failure talking to or applied by the API server; ``details`` carries structured context."""

    def __init__(self, msg: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(msg)
        self.details = details or {}


def new_client(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """A DynamicClient from a kubeconfig file (or in-cluster configuration when none is given)."""
    if not HAS_KUBERNETES:
        raise ApplyError("the 'kubernetes' Python library is required: %s" % KUBERNETES_IMPORT_ERROR)
    try:
        if kubeconfig or context:
            api = k8s_config.new_client_from_config(config_file=kubeconfig, context=context)
        else:
            try:
                k8s_config.load_incluster_config()
                api = k8s_client.ApiClient()
            except k8s_config.ConfigException:
                api = k8s_config.new_client_from_config()
    except Exception as exc:  # noqa: BLE001 - config loading raises many types; report them all the same way
        raise ApplyError("cannot load Kubernetes configuration (kubeconfig=%r, context=%r): %s"
                         % (kubeconfig, context, exc))
    return DynamicClient(api)


def ref(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return "%s %s%s" % (obj.get("kind"), ns + "/" if ns else "", meta.get("name"))


def _api_error(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if body:
        try:
            return json.loads(body).get("message", str(body))
        except (TypeError, ValueError):
            return str(body)
    return str(exc)


# ---------------------------------------------------------------------------- normalisation and diff
def normalize(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """A comparable copy: no status, no server bookkeeping, Secret values hashed."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata", {})
    for key in _VOLATILE_META:
        meta.pop(key, None)
    ann = meta.get("annotations")
    if ann is not None:
        ann.pop("kubectl.kubernetes.io/last-applied-configuration", None)
        if not ann:
            meta.pop("annotations")
    if out.get("kind") == "Secret":
        out = redact(out)
    return out


def redact(obj: dict[str, Any]) -> dict[str, Any]:
    """Secret data replaced by a short hash (changes stay visible, values never are)."""
    out = copy.deepcopy(obj)
    for key in ("data", "stringData"):
        if isinstance(out.get(key), dict):
            out[key] = {k: "%s sha256:%s" % (REDACTED, hashlib.sha256(str(v).encode()).hexdigest()[:12])
                        for k, v in out[key].items()}
    return out


def to_yaml(obj: Any) -> str:
    """Stable, readable text for diffs (YAML when PyYAML is present, else indented JSON)."""
    if obj is None:
        return ""
    try:
        import yaml  # noqa: PLC0415 - optional, present wherever Ansible runs
    except ImportError:  # pragma: no cover
        return json.dumps(obj, indent=2, sort_keys=True) + "\n"

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: Any, data: str) -> Any:
        style = "|" if "\n" in data and not data.endswith(" ") else None  # odoo.conf stays readable
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    _Dumper.add_representer(str, _str)
    return yaml.dump(obj, Dumper=_Dumper, default_flow_style=False, sort_keys=True)


def diff_entry(before: dict[str, Any] | None, after: dict[str, Any] | None, name: str) -> dict[str, str]:
    """One Ansible diff item (Ansible prints a unified diff per item)."""
    return {"before": to_yaml(before), "after": to_yaml(after),
            "before_header": "%s (live)" % name, "after_header": "%s (desired)" % name}


# ---------------------------------------------------------------------------- engine
class Engine:
    """Plans, applies, prunes and waits for a batch of manifests with one field manager."""

    def __init__(self, dyn: Any, check_mode: bool = False, field_manager: str = FIELD_MANAGER) -> None:
        self.dyn = dyn
        self.check_mode = check_mode
        self.field_manager = field_manager
        self._resources: dict[tuple[str, str], Any] = {}

    # -- discovery ---------------------------------------------------------------
    def resource(self, api_version: str, kind: str, required: bool = True) -> Any:
        key = (api_version, kind)
        if key not in self._resources:
            try:
                self._resources[key] = self.dyn.resources.get(api_version=api_version, kind=kind)
            except ResourceNotFoundError:
                self._resources[key] = None
        res = self._resources[key]
        if res is None and required:
            raise ApplyError("kind %s (%s) is not served by the cluster (is its CRD installed?)" % (kind, api_version))
        return res

    # -- reads -------------------------------------------------------------------
    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        res = self.resource(api_version, kind)
        try:
            return self.dyn.get(res, name=name, namespace=namespace).to_dict()
        except NotFoundError:
            return None
        except DynamicApiError as exc:
            raise ApplyError("cannot read %s %s/%s: %s" % (kind, namespace, name, _api_error(exc)))

    def list(self, api_version: str, kind: str, namespace: str | None = None,
             label_selector: str | None = None) -> list[dict[str, Any]]:
        res = self.resource(api_version, kind, required=False)
        if res is None:
            return []
        try:
            items = self.dyn.get(res, namespace=namespace, label_selector=label_selector).to_dict().get("items", [])
        except NotFoundError:
            return []
        except DynamicApiError as exc:
            raise ApplyError("cannot list %s in %s: %s" % (kind, namespace, _api_error(exc)))
        for item in items:  # list items carry no apiVersion/kind
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def owned(self, namespace: str, selector: str, kinds: tuple[tuple[str, str, bool], ...] = rd.KINDS
              ) -> dict[tuple[str, str, str], dict[str, Any]]:
        """Live owned objects by (kind, namespace, name): one list per namespaced kind."""
        out: dict[tuple[str, str, str], dict[str, Any]] = {}
        for api, kind, namespaced in kinds:
            if not namespaced:
                continue
            for item in self.list(api, kind, namespace, selector):
                out[(kind, namespace, item["metadata"]["name"])] = item
        return out

    # -- writes ------------------------------------------------------------------
    def ssa(self, obj: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        res = self.resource(obj["apiVersion"], obj["kind"])
        kwargs: dict[str, Any] = {"field_manager": self.field_manager, "force_conflicts": True}
        if dry_run:
            kwargs["dry_run"] = "All"
        try:
            return self.dyn.server_side_apply(res, body=obj, name=obj["metadata"]["name"],
                                              namespace=obj["metadata"].get("namespace"), **kwargs).to_dict()
        except DynamicApiError as exc:
            raise ApplyError("%s %s refused by the API server: %s"
                             % ("dry-run of" if dry_run else "apply of", ref(obj), _api_error(exc)),
                             {"resource": ref(obj), "status": getattr(exc, "status", None)})

    def delete(self, obj: dict[str, Any]) -> None:
        res = self.resource(obj["apiVersion"], obj["kind"])
        kwargs: dict[str, Any] = {"propagation_policy": "Background"}
        if self.check_mode:
            kwargs["dry_run"] = "All"
        try:
            self.dyn.delete(res, name=obj["metadata"]["name"], namespace=obj["metadata"].get("namespace"), **kwargs)
        except NotFoundError:
            return
        except DynamicApiError as exc:
            raise ApplyError("cannot delete %s: %s" % (ref(obj), _api_error(exc)))

    def patch(self, obj: dict[str, Any], patch: dict[str, Any], manager_suffix: str = "-upgrade") -> dict[str, Any]:
        """A JSON merge patch under a distinct manager (the next apply takes those fields back)."""
        res = self.resource(obj["apiVersion"], obj["kind"])
        kwargs: dict[str, Any] = {"field_manager": self.field_manager + manager_suffix,
                                  "content_type": "application/merge-patch+json"}
        if self.check_mode:
            kwargs["dry_run"] = "All"
        try:
            return self.dyn.patch(res, body=patch, name=obj["metadata"]["name"],
                                  namespace=obj["metadata"].get("namespace"), **kwargs).to_dict()
        except DynamicApiError as exc:
            raise ApplyError("cannot patch %s: %s" % (ref(obj), _api_error(exc)))

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        res = self.resource(obj["apiVersion"], obj["kind"])
        kwargs: dict[str, Any] = {"field_manager": self.field_manager}
        if self.check_mode:
            kwargs["dry_run"] = "All"
        try:
            return self.dyn.create(res, body=obj, namespace=obj["metadata"].get("namespace"), **kwargs).to_dict()
        except DynamicApiError as exc:
            raise ApplyError("cannot create %s: %s" % (ref(obj), _api_error(exc)))

    # -- plan / apply --------------------------------------------------------------
    def plan(self, objs: list[dict[str, Any]], live: dict[tuple[str, str, str], dict[str, Any]],
             ) -> list[dict[str, Any]]:
        """Dry-run every object; return items {obj, live, dry, action} with action create/update/unchanged.

        Objects in a namespace that does not exist yet (and is created by this batch) cannot be
        dry-run: they are planned as ``create`` from the rendered manifest.
        """
        plan = []
        missing_ns: set[str] = set()
        for obj in objs:
            meta = obj["metadata"]
            key = (obj["kind"], meta.get("namespace"), meta["name"])
            cur = live.get(key)
            if cur is None:
                cur = self.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
            if obj["kind"] == "Namespace" and cur is None:
                missing_ns.add(meta["name"])
            if meta.get("namespace") in missing_ns:
                plan.append({"obj": obj, "live": None, "dry": obj, "action": "create"})
                continue
            dry = self.ssa(obj, dry_run=True)
            if cur is None:
                action = "create"
            elif normalize(dry) == normalize(cur):
                action = "unchanged"
            else:
                action = "update"
            plan.append({"obj": obj, "live": cur, "dry": dry, "action": action})
        return plan

    def apply(self, objs: list[dict[str, Any]], namespace: str, selector: str, prune: bool = True,
              keep: tuple[str, ...] = rd.NEVER_PRUNE) -> dict[str, Any]:
        """Validate the whole batch by dry-run, then apply what changed and prune what is gone.

        Returns ``{"changed", "resources": [{kind, namespace, name, action}], "diff": [...], "plan"}``.
        """
        live = self.owned(namespace, selector)
        plan = self.plan(objs, live)  # raises before anything is written
        if not self.check_mode:
            ns_pending = {p["obj"]["metadata"]["name"] for p in plan
                          if p["obj"]["kind"] == "Namespace" and p["action"] == "create"}
            for item in plan:
                if item["action"] == "unchanged":
                    continue
                if item["obj"]["metadata"].get("namespace") in ns_pending and item["dry"] is item["obj"]:
                    # planned without a dry-run (namespace was missing): validate now that it exists
                    self.ssa(item["obj"], dry_run=True)
                item["result"] = self.ssa(item["obj"], dry_run=False)
        resources, diff = [], []
        for item in plan:
            obj = item["obj"]
            resources.append(_res(obj, item["action"] + ("d" if item["action"] != "unchanged" else "")))
            if item["action"] != "unchanged":
                diff.append(diff_entry(normalize(item["live"]), normalize(item.get("result", item["dry"])), ref(obj)))
        if prune:
            wanted = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs}
            for key, obj in sorted(live.items()):
                if key in wanted or obj["kind"] in keep:
                    continue
                self.delete(obj)
                resources.append(_res(obj, "deleted"))
                diff.append(diff_entry(normalize(obj), None, ref(obj)))
        changed = any(r["action"] != "unchanged" for r in resources)
        return {"changed": changed, "resources": resources, "diff": diff, "plan": plan}

    def remove(self, namespace: str, selector: str, namespace_obj: dict[str, Any] | None,
               keep: tuple[str, ...] = rd.NEVER_PRUNE) -> dict[str, Any]:
        """Delete every owned object (``keep`` kinds stay), then the Namespace when it is ours."""
        resources, diff = [], []
        for _key, obj in sorted(self.owned(namespace, selector).items()):
            if obj["kind"] in keep:
                continue
            self.delete(obj)
            resources.append(_res(obj, "deleted"))
            diff.append(diff_entry(normalize(obj), None, ref(obj)))
        if namespace_obj is not None:
            cur = self.get("v1", "Namespace", namespace_obj["metadata"]["name"])
            if cur is not None and (cur["metadata"].get("labels") or {}).get(rd.LABEL_MANAGED_BY) == rd.MANAGER:
                self.delete(cur)
                resources.append(_res(cur, "deleted"))
                diff.append(diff_entry(normalize(cur), None, ref(cur)))
        return {"changed": bool(resources), "resources": resources, "diff": diff}

    # -- waiting -------------------------------------------------------------------
    def wait_deployments(self, deployments: list[dict[str, Any]], timeout: float, interval: float = 1.0
                         ) -> list[dict[str, Any]]:
        """Wait until every Deployment is rolled out; ApplyError with failing pods/conditions otherwise."""
        deadline = time.monotonic() + timeout
        pending = list(deployments)
        while pending:
            still = []
            for dep in pending:
                meta = dep["metadata"]
                cur = self.get("apps/v1", "Deployment", meta["name"], meta["namespace"])
                if cur is None:
                    raise ApplyError("Deployment %s/%s disappeared while waiting" % (meta["namespace"], meta["name"]))
                ok, stuck = rollout_state(cur)
                if ok:
                    continue
                if stuck or time.monotonic() > deadline:
                    report = self.failure_report(cur)
                    why = stuck or "not rolled out within %ds" % timeout
                    raise ApplyError("rollout of %s failed: %s%s" % (ref(cur), why, _summary(report)),
                                     {"failed": report})
                still.append(dep)
            pending = still
            if pending:
                time.sleep(interval)
        return [self.get("apps/v1", "Deployment", d["metadata"]["name"], d["metadata"]["namespace"])
                for d in deployments]

    def wait_pods_gone(self, namespace: str, selector: str, timeout: float, interval: float = 1.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            pods = self.list("v1", "Pod", namespace, selector)
            if not pods:
                return
            if time.monotonic() > deadline:
                raise ApplyError("pods %s still running in %s after %ds"
                                 % (", ".join(p["metadata"]["name"] for p in pods), namespace, timeout))
            time.sleep(interval)

    def wait_job(self, job: dict[str, Any], timeout: float, interval: float = 1.0) -> dict[str, Any]:
        """Wait for a Job to complete; ApplyError naming the Job, its condition and failing pods."""
        meta = job["metadata"]
        deadline = time.monotonic() + timeout
        while True:
            cur = self.get("batch/v1", "Job", meta["name"], meta["namespace"])
            if cur is None:
                raise ApplyError("Job %s/%s disappeared while waiting" % (meta["namespace"], meta["name"]))
            status = cur.get("status") or {}
            conds = {c["type"]: c for c in status.get("conditions") or [] if c.get("status") == "True"}
            if "Complete" in conds or (status.get("succeeded") or 0) >= 1:
                return cur
            failed = conds.get("Failed")
            if failed or time.monotonic() > deadline:
                why = ("%s: %s" % (failed.get("reason"), failed.get("message")) if failed
                       else "not complete within %ds" % timeout)
                pods = self.pod_report(meta["namespace"], "job-name=%s" % meta["name"])
                raise ApplyError("Job %s/%s failed: %s%s" % (meta["namespace"], meta["name"], why,
                                                             _summary({"pods": pods})),
                                 {"job": meta["name"], "namespace": meta["namespace"], "reason": why, "pods": pods})
            time.sleep(interval)

    # -- reports -------------------------------------------------------------------
    def pod_report(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        out = []
        for pod in self.list("v1", "Pod", namespace, selector):
            st = pod.get("status") or {}
            bad_conds = [{"type": c.get("type"), "reason": c.get("reason"), "message": c.get("message")}
                         for c in st.get("conditions") or [] if c.get("status") != "True"]
            containers = []
            for cs in st.get("containerStatuses") or []:
                if cs.get("ready"):
                    continue
                state = cs.get("state") or {}
                detail = state.get("waiting") or state.get("terminated") or {}
                containers.append({"name": cs.get("name"), "state": next(iter(state), None),
                                   "reason": detail.get("reason"), "message": detail.get("message"),
                                   "exit_code": detail.get("exitCode"), "restarts": cs.get("restartCount")})
            if bad_conds or containers or st.get("phase") not in ("Running", "Succeeded"):
                out.append({"pod": pod["metadata"]["name"], "phase": st.get("phase"), "reason": st.get("reason"),
                            "conditions": bad_conds, "containers": containers})
        return out

    def failure_report(self, dep: dict[str, Any]) -> dict[str, Any]:
        sel = ",".join("%s=%s" % kv for kv in sorted(dep["spec"]["selector"]["matchLabels"].items()))
        conds = [{"type": c.get("type"), "status": c.get("status"), "reason": c.get("reason"),
                  "message": c.get("message")} for c in (dep.get("status") or {}).get("conditions") or []]
        return {"deployment": dep["metadata"]["name"], "namespace": dep["metadata"]["namespace"],
                "conditions": conds, "pods": self.pod_report(dep["metadata"]["namespace"], sel)}


def rollout_state(dep: dict[str, Any]) -> tuple[bool, str | None]:
    """(rolled out?, reason when stuck) like ``kubectl rollout status``."""
    spec, st, meta = dep.get("spec") or {}, dep.get("status") or {}, dep["metadata"]
    want = spec.get("replicas", 1)
    if (st.get("observedGeneration") or 0) < meta.get("generation", 0):
        return False, None  # the controller has not seen this spec yet: its conditions are stale
    for c in st.get("conditions") or []:
        if c.get("type") == "Progressing" and c.get("status") == "False":
            return False, "%s: %s" % (c.get("reason"), c.get("message"))
    done = ((st.get("updatedReplicas") or 0) == want and (st.get("readyReplicas") or 0) == want
            and (st.get("availableReplicas") or 0) == want and (st.get("replicas") or 0) == want)
    return done, None


def _res(obj: dict[str, Any], action: str) -> dict[str, Any]:
    return {"kind": obj["kind"], "namespace": obj["metadata"].get("namespace"), "name": obj["metadata"]["name"],
            "action": action}


def _summary(report: dict[str, Any]) -> str:
    parts = []
    for c in report.get("conditions") or []:
        if c.get("status") == "False" or c.get("type") == "ReplicaFailure":
            parts.append("condition %s=%s %s: %s" % (c["type"], c["status"], c.get("reason"), c.get("message")))
    for p in report.get("pods") or []:
        for c in p["containers"]:
            parts.append("pod %s: container %s %s %s: %s" % (p["pod"], c["name"], c["state"], c["reason"],
                                                             c["message"]))
        if not p["containers"]:
            cond = next(iter(p["conditions"]), {})
            parts.append("pod %s: phase %s%s" % (p["pod"], p["phase"], (" %s %s: %s" % (
                cond.get("type"), cond.get("reason"), cond.get("message"))) if cond else ""))
    return ("; " + "; ".join(parts[:6])) if parts else ""
