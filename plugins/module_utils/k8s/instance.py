# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploy, remove, roll back and update one Odoo instance (the core behind the modules).

Order of a deploy: normalise and render (local validation) → cluster checks (Secret
references, hostnames claimed by other instances) → batch dry-run of every object →
apply the changed ones → prune → wait for rollouts → record a release. Any error
before the apply step leaves the cluster untouched.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import base64
import getpass
from typing import Any

from ansible_collections.erpops.odoo.plugins.module_utils.k8s import release as rel
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import render as rd
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import spec as sp
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.apply import ApplyError


class InstanceError(Exception):
    """Any failure of an instance operation; ``details`` carries structured context for the report."""

    def __init__(self, msg: str, details: dict[str, Any] | None = None, result: dict[str, Any] | None = None
                 ) -> None:
        super().__init__(msg)
        self.details = details or {}
        self.result = result or {}


def secret_manifests(s: dict[str, Any], secrets: dict[str, dict[str, str]] | None) -> list[dict[str, Any]]:
    """Secrets passed to the module (values, no_log): created with the instance, never pruned."""
    out = []
    chk = sp._Checker(s["tenant"])
    for name, data in sorted((secrets or {}).items()):
        chk.subdomain("secrets.%s" % name, name)
        chk.mapping("secrets.%s" % name, data)
        labels = rd.labels(s, "secret")
        out.append({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": name, "namespace": s["namespace"], "labels": labels},
                    "type": "Opaque",
                    "data": {k: base64.b64encode(str(v).encode()).decode() for k, v in sorted(data.items())}})
    return out


def check_cluster(engine: Any, s: dict[str, Any], batch: list[dict[str, Any]]) -> None:
    """Refuse missing Secret references and hostnames another instance already routes."""
    in_batch = {o["metadata"]["name"]: o for o in batch if o["kind"] == "Secret"}
    ns_exists = engine.get("v1", "Namespace", s["namespace"]) is not None
    for r in rd.secret_refs(s):
        secret = in_batch.get(r["name"])
        if secret is None and ns_exists:
            secret = engine.get("v1", "Secret", r["name"], s["namespace"])
        if secret is None:
            raise sp.SpecError("tenant %r: field '%s': Secret %r not found in namespace %r"
                               % (s["tenant"], r["field"], r["name"], s["namespace"]))
        keys = set(secret.get("data") or {}) | set(secret.get("stringData") or {})
        if r["key"] not in keys:
            raise sp.SpecError("tenant %r: field '%s': Secret %r in namespace %r has no key %r (keys: %s)"
                               % (s["tenant"], r["field"], r["name"], s["namespace"], r["key"],
                                  ", ".join(sorted(keys)) or "none"))
    if not s["hostnames"]:
        return
    claims = engine.list("traefik.io/v1alpha1", "IngressRoute", None, "%s=%s" % (rd.LABEL_MANAGED_BY, rd.MANAGER))
    mine = set(s["hostnames"])
    for route in claims:
        meta = route["metadata"]
        labels = meta.get("labels") or {}
        if labels.get(rd.LABEL_INSTANCE) == s["instance"] and meta.get("namespace") == s["namespace"]:
            continue
        theirs = set(filter(None, ((meta.get("annotations") or {}).get(rd.ANN_HOSTNAMES) or "").split(",")))
        clash = sorted(mine & theirs)
        if clash:
            raise sp.SpecError("tenant %r: field 'hostnames': hostname %r is already used by tenant %r "
                               "(instance %r in namespace %r)" % (s["tenant"], clash[0], labels.get(rd.LABEL_TENANT),
                                                                  labels.get(rd.LABEL_INSTANCE), meta.get("namespace")))


def _ordered(objs: list[dict[str, Any]], secrets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Secrets right after the namespace-level objects, before anything that references them."""
    head = [o for o in objs if o["kind"] in ("Namespace", "ResourceQuota", "LimitRange", "ServiceAccount")]
    return head + secrets + [o for o in objs if o not in head]


def _digest_from_pods(engine: Any, s: dict[str, Any]) -> str | None:
    sel = "%s=%s,%s=web" % (rd.LABEL_INSTANCE, s["instance"], rd.LABEL_COMPONENT)
    for pod in engine.list("v1", "Pod", s["namespace"], sel):
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            image_id = cs.get("imageID") or ""
            if "@sha256:" in image_id:
                return image_id.split("@", 1)[1]
    return None


def present(engine: Any, raw_spec: dict[str, Any], *, secrets: dict[str, Any] | None = None, prune: bool = True,
            wait: bool = True, timeout: float = 300, release_info: dict[str, Any] | None = None,
            history_limit: int = 10, rollback_to: Any = None, validate_only: bool = False) -> dict[str, Any]:
    """Make the instance match the spec (or a recorded release); return the module result."""
    s = sp.normalize(raw_spec)
    releases = rel.read(engine, s["namespace"], s["instance"])
    rollback_of = None
    if rollback_to not in (None, ""):
        target = rel.find(releases, rollback_to)
        s = sp.normalize(target["spec"])
        rollback_of = target["revision"]
    objs = rd.render(s)
    batch = _ordered(objs, secret_manifests(s, secrets))
    check_cluster(engine, s, batch)
    result: dict[str, Any] = {"changed": False, "diff": [], "resources": [], "release": None,
                              "instance": s["instance"], "namespace": s["namespace"], "tenant": s["tenant"],
                              "config_hash": rd.config_hash(s), "rollback_of": rollback_of}
    if validate_only:
        result["resources"] = [{"kind": o["kind"], "namespace": o["metadata"].get("namespace"),
                                "name": o["metadata"]["name"], "action": "validated"} for o in batch]
        return result
    out = engine.apply(batch, s["namespace"], rd.owner_selector(s["instance"]), prune=prune)
    result.update(changed=out["changed"], diff=out["diff"], resources=out["resources"])
    info = dict(release_info or {})
    info.setdefault("who", _who())
    if not out["changed"] and rollback_of is None:
        current = releases[-1] if releases else None
        result["release"] = rel.summary(current) if current else None
        if wait and not engine.check_mode:
            _wait(engine, objs, timeout, s, result, releases=releases, info=info, history_limit=history_limit,
                  rollback_of=rollback_of, record_failure=False)
        return result
    if engine.check_mode:
        result["release"] = rel.summary(rel.new_release(s, releases, "deployed", info, rollback_of=rollback_of))
        return result
    digest = None
    if wait:
        _wait(engine, objs, timeout, s, result, releases=releases, info=info, history_limit=history_limit,
              rollback_of=rollback_of, record_failure=True)
        digest = None if s["image_digest"] else _digest_from_pods(engine, s)
    new = rel.new_release(s, releases, "deployed", info, digest=digest, rollback_of=rollback_of)
    rel.record(engine, s, new, releases, history_limit)
    result["changed"] = True
    result["release"] = rel.summary(new)
    return result


def _wait(engine: Any, objs: list[dict[str, Any]], timeout: float, s: dict[str, Any], result: dict[str, Any], *,
          releases: list[dict[str, Any]], info: dict[str, Any], history_limit: int, rollback_of: int | None,
          record_failure: bool) -> None:
    deployments = [o for o in objs if o["kind"] == "Deployment"]
    try:
        engine.wait_deployments(deployments, timeout)
    except ApplyError as exc:
        if record_failure:
            failed = rel.new_release(s, releases, "failed", dict(info, note="rollout failed: %s" % exc),
                                     rollback_of=rollback_of)
            rel.record(engine, s, failed, releases, history_limit)
            result["release"] = rel.summary(failed)
        raise InstanceError(str(exc), exc.details, result)


def absent(engine: Any, raw_spec: dict[str, Any], *, delete_filestore: bool = False) -> dict[str, Any]:
    s = sp.normalize(raw_spec)
    keep = () if delete_filestore else rd.NEVER_PRUNE
    ns_obj = next((o for o in rd.render(s) if o["kind"] == "Namespace"), None)
    # the Namespace goes only when nothing is kept in it
    out = engine.remove(s["namespace"], rd.owner_selector(s["instance"]), ns_obj if delete_filestore else None,
                        keep=keep)
    hist = engine.get("v1", "ConfigMap", rel.configmap_name(s["instance"]), s["namespace"])
    if hist is not None and delete_filestore:
        engine.delete(hist)
        out["resources"].append({"kind": "ConfigMap", "namespace": s["namespace"], "name": hist["metadata"]["name"],
                                 "action": "deleted"})
        out["changed"] = True
    out.update(instance=s["instance"], namespace=s["namespace"], tenant=s["tenant"], release=None,
               config_hash=rd.config_hash(s), rollback_of=None)
    return out


def update_modules(engine: Any, raw_spec: dict[str, Any], modules: list[str], suffix: str, *,
                   pod_labels: dict[str, str] | None = None, stop_cron: bool = True, timeout: float = 3600,
                   cron_timeout: float = 300) -> dict[str, Any]:
    """Stop cron (scale to 0, wait for its pods to go), then run ``odoo -u`` as a Job and wait for it."""
    return run_job(engine, raw_spec, "update", suffix, modules=modules, pod_labels=pod_labels, stop_cron=stop_cron,
                   timeout=timeout, cron_timeout=cron_timeout)


def neutralize(engine: Any, raw_spec: dict[str, Any], suffix: str, *, pod_labels: dict[str, str] | None = None,
               stop_cron: bool = True, timeout: float = 1800, cron_timeout: float = 300) -> dict[str, Any]:
    """Stop cron, then run the image's ``odoo neutralize`` on the instance's database as a Job and wait for it."""
    return run_job(engine, raw_spec, "neutralize", suffix, pod_labels=pod_labels, stop_cron=stop_cron,
                   timeout=timeout, cron_timeout=cron_timeout)


def scale_cron_down(engine: Any, s: dict[str, Any], timeout: float) -> tuple[bool, bool]:
    """Scale the cron Deployment to 0 and wait for its pods to go: ``(found, changed)``."""
    cron = engine.get("apps/v1", "Deployment", rd.names(s)["cron"], s["namespace"]) if s["cron"]["enabled"] else None
    if cron is None:
        return False, False
    changed = (cron.get("spec") or {}).get("replicas", 1) != 0
    if changed:
        engine.patch(cron, {"spec": {"replicas": 0}})
    if not engine.check_mode:
        sel = "%s=%s,%s=cron" % (rd.LABEL_INSTANCE, s["instance"], rd.LABEL_COMPONENT)
        engine.wait_pods_gone(s["namespace"], sel, timeout)
    return True, changed


def cron(engine: Any, raw_spec: dict[str, Any], state: str, *, timeout: float = 300) -> dict[str, Any]:
    """Stop (``stopped``: 0 replicas, pods gone) or start (``running``: the spec's replicas, rolled out) cron.

    Used around work on the database that no scheduled action may see (a restore, a data fix at month-end);
    re-applying the instance (``present``) starts it as well.
    """
    s = sp.normalize(raw_spec)
    name = rd.names(s)["cron"]
    result: dict[str, Any] = {"changed": False, "deployment": name, "namespace": s["namespace"], "replicas": None,
                              "diff": {"before": {}, "after": {}}}
    if not s["cron"]["enabled"]:
        return result
    live = engine.get("apps/v1", "Deployment", name, s["namespace"])
    if live is None:
        raise InstanceError("Deployment %s/%s not found: deploy the instance first" % (s["namespace"], name))
    before = int((live.get("spec") or {}).get("replicas", 1))
    if state == "stopped":
        want = 0
    else:
        want = next(int(o["spec"]["replicas"]) for o in rd.render(s)
                    if o["kind"] == "Deployment" and o["metadata"]["name"] == name)
    result.update(replicas=want, diff={"before": {"replicas": before}, "after": {"replicas": want}})
    try:
        if state == "stopped":
            result["changed"] = scale_cron_down(engine, s, timeout)[1]
            return result
        if before != want:
            engine.patch(live, {"spec": {"replicas": want}})
            result["changed"] = True
        if not engine.check_mode:
            engine.wait_deployments([engine.get("apps/v1", "Deployment", name, s["namespace"])], timeout)
    except ApplyError as exc:
        raise InstanceError("cron of %s/%s did not reach %d replicas: %s" % (s["namespace"], s["instance"], want, exc),
                            exc.details, result)
    return result


def run_job(engine: Any, raw_spec: dict[str, Any], kind: str, suffix: str, *, modules: list[str] | None = None,
            pod_labels: dict[str, str] | None = None, stop_cron: bool = True, timeout: float = 3600,
            cron_timeout: float = 300) -> dict[str, Any]:
    """Stop cron (optional), run a maintenance Job (:func:`render.render_job`) and wait for it.

    A Job of the same name that already succeeded is not run again (idempotent); a failed or stale one is
    replaced. Cron stays stopped afterwards: re-applying the instance (``present``) brings it back.
    """
    s = sp.normalize(raw_spec)
    job = rd.render_job(s, kind, suffix, modules=modules, pod_labels=pod_labels)
    check_cluster(engine, dict(s, hostnames=[]), [])
    result: dict[str, Any] = {"changed": False, "job": job["metadata"]["name"], "namespace": s["namespace"],
                              "cron_stopped": False, "status": None, "diff": []}
    if stop_cron:
        try:
            result["cron_stopped"], result["changed"] = scale_cron_down(engine, s, cron_timeout)
        except ApplyError as exc:
            raise InstanceError("cron did not stop before the %s Job: %s" % (kind, exc), exc.details, result)
    existing = engine.get("batch/v1", "Job", job["metadata"]["name"], s["namespace"])
    if existing is not None:
        st = existing.get("status") or {}
        if (st.get("succeeded") or 0) >= 1:
            result["status"] = "succeeded"
            return result
        if not engine.check_mode:  # a failed or stale run of the same Job: start it again
            engine.delete(existing)
            engine.wait_pods_gone(s["namespace"], "job-name=%s" % job["metadata"]["name"], cron_timeout)
            _wait_gone(engine, job)
    engine.create(job)
    result["changed"] = True
    result["diff"] = [{"before": "", "after": "Job %s/%s: odoo %s (image %s)\n"
                       % (s["namespace"], job["metadata"]["name"], " ".join(rd.job_args(s, kind, modules)),
                          rd.image_ref(s)),
                       "before_header": "%s job" % kind, "after_header": "%s job" % kind}]
    if engine.check_mode:
        result["status"] = "planned"
        return result
    try:
        engine.wait_job(job, timeout)
    except ApplyError as exc:
        result["status"] = "failed"
        raise InstanceError(str(exc), exc.details, result)
    result["status"] = "succeeded"
    return result


def _wait_gone(engine: Any, obj: dict[str, Any], timeout: float = 60) -> None:
    import time  # noqa: PLC0415 - only needed on this rare path

    deadline = time.monotonic() + timeout
    meta = obj["metadata"]
    while engine.get(obj["apiVersion"], obj["kind"], meta["name"], meta["namespace"]) is not None:
        if time.monotonic() > deadline:
            raise InstanceError("%s %s/%s still exists after %ds"
                                % (obj["kind"], meta["namespace"], meta["name"], timeout))
        time.sleep(0.5)


def release_info(engine: Any, namespace: str, instance: str) -> dict[str, Any]:
    releases = rel.read(engine, namespace, instance)
    current = releases[-1] if releases else None
    good = rel.last_good(releases)
    return {"changed": False, "releases": [rel.summary(r) for r in releases],
            "current": rel.summary(current) if current else None,
            "last_good": rel.summary(good) if good else None}


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"
