#!/usr/bin/env python3
"""Drift check of 50 tenants vs ``kubectl diff --server-side`` of the same rendered manifests (same run).

Deploys ``ERPOPS_BENCH_DRIFT_TENANTS`` (default 50) tenants to the lab cluster through the deploy core
(no rollout wait), then times, on the same clean estate:

* ``drift``: the drift core (``KubeDrift.check``: one Namespace list, one list per kind per namespace,
  one server-side dry-run apply per object), best of ``ERPOPS_BENCH_REPEAT`` (default 2) runs;
* ``kubectl_diff``: ``kubectl diff --server-side --field-manager=erpops.odoo --force-conflicts -f`` of
  the same rendered manifests (the baseline), best of the same number of runs.

Both must find no drift. Then one Deployment is scaled and both must see it. Reports seconds, API calls of
the drift core, and ``ratios.drift_vs_kubectl_diff`` (< 1: the drift check is faster). The bench
namespaces are deleted at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "build" / "collections"))
sys.path.insert(0, str(REPO))

from ansible_collections.erpops.odoo.plugins.module_utils.drift.kube import KubeDrift  # noqa: E402
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import instance, render  # noqa: E402
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.apply import Engine, new_client, to_yaml  # noqa: E402

from lab.framework import read_env  # noqa: E402

TENANTS = int(os.environ.get("ERPOPS_BENCH_DRIFT_TENANTS", "50"))
REPEAT = int(os.environ.get("ERPOPS_BENCH_REPEAT", "2"))
LAB_DIR = Path(os.environ.get("ERPOPS_LAB_DIR", REPO / ".lab"))
RES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "2Gi"}}


class CountingEngine(Engine):
    calls: Counter

    def list(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls["list"] += 1
        return super().list(*args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        self.calls["get"] += 1
        return super().get(*args, **kwargs)

    def ssa(self, obj: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        self.calls["dry-run apply" if dry_run else "apply"] += 1
        return super().ssa(obj, dry_run)


def spec(i: int) -> dict[str, Any]:
    t = "bench%02d" % i
    return {"tenant": t, "environment": "drift", "image": "registry.lab.invalid/odoo:17.0",
            "hostnames": ["%s.bench.erpops.test" % t], "tls": {"mode": "certresolver", "cert_resolver": "lab"},
            "web": {"replicas": 1, "workers": 1, "resources": RES}, "cron": {"resources": RES},
            "update_job": {"resources": RES},
            "database": {"host": "pg-rw.databases.svc.cluster.local", "name": t, "user": t,
                         "password_secret": {"name": "%s-db" % t}, "cidrs": ["10.0.0.0/8"]},
            "odoo_conf": {"limit_time_real": 600}}


def kubectl_diff(kubectl: str, kubeconfig: str, path: str) -> tuple[float, int, str]:
    t0 = time.monotonic()
    res = subprocess.run([kubectl, "--kubeconfig", kubeconfig, "diff", "--server-side", "--force-conflicts",
                          "--field-manager=erpops.odoo", "-f", path], capture_output=True, text=True, check=False)
    if res.returncode not in (0, 1):
        raise RuntimeError("kubectl diff failed (%d): %s" % (res.returncode, res.stderr[-2000:]))
    return time.monotonic() - t0, res.returncode, res.stdout


def main() -> dict[str, Any]:
    env = read_env(LAB_DIR / "env")
    kubeconfig, kubectl = env["KUBECONFIG"], env.get("LAB_KUBECTL", "")
    if not kubectl or not Path(kubectl).exists():
        raise RuntimeError("the lab kube service provides no kubectl (LAB_KUBECTL in %s/env)" % LAB_DIR)
    engine = CountingEngine(new_client(kubeconfig))
    engine.calls = Counter()
    specs = [spec(i) for i in range(TENANTS)]
    t0 = time.monotonic()
    for s in specs:
        instance.present(engine, s, secrets={"%s-db" % s["tenant"]: {"password": "bench"}}, wait=False)
    deploy_s = time.monotonic() - t0
    manifests = [o for s in specs for o in render.render(s)]
    fd, path = tempfile.mkstemp(prefix="erpops-drift-bench-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write("".join("---\n" + to_yaml(o) for o in manifests))
        drift_times, diff_times = [], []
        calls: Counter = Counter()
        for _run in range(REPEAT):
            engine.calls = Counter()
            t0 = time.monotonic()
            out = KubeDrift(engine).check(specs)
            drift_times.append(time.monotonic() - t0)
            calls = engine.calls
            if out["items"]:
                raise RuntimeError("drift right after the deploy: %s" % out["items"][:3])
            secs, rc, text = kubectl_diff(kubectl, kubeconfig, path)
            diff_times.append(secs)
            if rc != 0:
                raise RuntimeError("kubectl diff shows a difference right after the deploy:\n%s" % text[:2000])
        # both must see a real change
        subprocess.run([kubectl, "--kubeconfig", kubeconfig, "scale", "deployment/bench00-drift-web", "-n",
                        "bench00-drift", "--replicas=3"], check=True, capture_output=True)
        seen = {(i["resource"], i["path"]) for i in KubeDrift(engine).check(specs)["items"]}
        rc = kubectl_diff(kubectl, kubeconfig, path)[1]
        if seen != {("Deployment bench00-drift/bench00-drift-web", "spec.replicas")} or rc != 1:
            raise RuntimeError("injected drift not seen: drift=%s kubectl diff rc=%d" % (seen, rc))
    finally:
        os.unlink(path)
        names = ["namespace/%s" % s["namespace"] if "namespace" in s else "namespace/%s-drift" % s["tenant"]
                 for s in specs]
        subprocess.run([kubectl, "--kubeconfig", kubeconfig, "delete", "--wait=false", "--ignore-not-found",
                        *names], check=False, capture_output=True)
    best_drift, best_diff = min(drift_times), min(diff_times)
    return {
        "tenants": TENANTS, "objects": len(manifests), "repeat": REPEAT,
        "seconds": {"deploy_setup": round(deploy_s, 2), "drift_check": round(best_drift, 3),
                    "kubectl_diff_server_side": round(best_diff, 3),
                    "drift_check_runs": [round(x, 3) for x in drift_times],
                    "kubectl_diff_runs": [round(x, 3) for x in diff_times]},
        "drift_check_api_calls": dict(calls),
        "ratios": {"drift_vs_kubectl_diff": round(best_drift / best_diff, 3)},
        "notes": "same rendered manifests, same cluster, same run; the drift check also lists every managed kind "
                 "per namespace to find unmanaged and orphaned objects, which kubectl diff does not",
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
