# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render every Kubernetes manifest of one Odoo instance as plain dicts.

The one way manifests are built: the ``odoo_instance`` module applies them,
``odoo_update_job`` runs the module-update Job from the same pod template, and
drift detection compares the same list against the cluster. Pure functions, no
API calls; the input is a spec that :func:`spec.normalize` accepts.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import copy
import hashlib
import json
from typing import Any

from ansible_collections.erpops.odoo.plugins.module_utils import odoo_conf
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import spec as specmod

MANAGER = "erpops.odoo"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_TENANT = "erpops.io/tenant"
LABEL_INSTANCE = "erpops.io/instance"
LABEL_ENV = "erpops.io/environment"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_RELEASES = "erpops.io/release-history"
ANN_CONFIG_HASH = "erpops.io/config-hash"
ANN_IMAGE_DIGEST = "erpops.io/image-digest"
ANN_HOSTNAMES = "erpops.io/hostnames"
CONF_PATH = "/etc/odoo/odoo.conf"

# (apiVersion, kind, namespaced) of everything render() can produce, in apply order.
# Prune and drift detection list exactly these kinds (Secrets given to the module are
# created but never pruned; the release-history ConfigMap is excluded by label).
KINDS = (
    ("v1", "Namespace", False),
    ("v1", "ResourceQuota", True),
    ("v1", "LimitRange", True),
    ("v1", "ServiceAccount", True),
    ("v1", "ConfigMap", True),
    ("v1", "PersistentVolumeClaim", True),
    ("v1", "Service", True),
    ("apps/v1", "Deployment", True),
    ("autoscaling/v2", "HorizontalPodAutoscaler", True),
    ("policy/v1", "PodDisruptionBudget", True),
    ("networking.k8s.io/v1", "NetworkPolicy", True),
    ("traefik.io/v1alpha1", "Middleware", True),
    ("traefik.io/v1alpha1", "IngressRoute", True),
    ("cert-manager.io/v1", "Certificate", True),
)
_ORDER = {(a, k): i for i, (a, k, _n) in enumerate(KINDS)}
# PVCs hold the filestore: never pruned automatically (state=absent keeps them unless asked).
NEVER_PRUNE = ("PersistentVolumeClaim",)


def owner_selector(instance: str) -> str:
    """Label selector of everything an instance owns (release history excluded)."""
    return "%s=%s,%s=%s,!%s" % (LABEL_MANAGED_BY, MANAGER, LABEL_INSTANCE, instance, LABEL_RELEASES)


def names(s: dict[str, Any]) -> dict[str, str]:
    i = s["instance"]
    return {
        "sa": i, "config": "%s-config" % i, "web": "%s-web" % i, "cron": "%s-cron" % i,
        "http": "%s-http" % i, "ws": "%s-ws" % i, "pvc": "%s-filestore" % i, "hpa": "%s-web" % i,
        "pdb": "%s-web" % i, "releases": "%s-releases" % i, "route": i, "route_http": "%s-http" % i,
        "mw_redirect": "%s-https-redirect" % i, "mw_headers": "%s-headers" % i, "mw_ratelimit": "%s-ratelimit" % i,
        "mw_admin": "%s-admin-allowlist" % i, "mw_block": "%s-block" % i, "cert": "%s-tls" % i,
        "quota": "%s-quota" % i, "limits": "%s-limits" % i,
        "np_deny": "%s-default-deny" % i, "np_ingress": "%s-allow-ingress" % i, "np_egress": "%s-allow-egress" % i,
    }


def labels(s: dict[str, Any], component: str | None = None) -> dict[str, str]:
    out = dict(s["labels"])
    out.update({
        "app.kubernetes.io/name": "odoo",
        "app.kubernetes.io/instance": s["instance"],
        LABEL_MANAGED_BY: MANAGER,
        LABEL_TENANT: s["tenant"],
        LABEL_INSTANCE: s["instance"],
        LABEL_ENV: s["environment"],
    })
    if component:
        out[LABEL_COMPONENT] = component
    return out


def selector(s: dict[str, Any], component: str) -> dict[str, str]:
    return {LABEL_INSTANCE: s["instance"], LABEL_COMPONENT: component}


def _meta(s: dict[str, Any], name: str, component: str | None = None, namespaced: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels(s, component)}
    if namespaced:
        meta["namespace"] = s["namespace"]
    if s["annotations"]:
        meta["annotations"] = dict(s["annotations"])
    return meta


def _obj(api: str, kind: str, meta: dict[str, Any], **body: Any) -> dict[str, Any]:
    out = {"apiVersion": api, "kind": kind, "metadata": meta}
    out.update(body)
    return out


# ---------------------------------------------------------------------------- odoo.conf
def conf_text(s: dict[str, Any]) -> str:
    """odoo.conf for the ConfigMap, through the odoo_conf core (no secrets: they come from env)."""
    return odoo_conf.render(s["odoo_conf"])


def image_ref(s: dict[str, Any]) -> str:
    """The reference put in pod specs: pinned to the digest when one is known."""
    ref = s["image"]
    if s["image_digest"] and "@" not in ref:
        ref = "%s@%s" % (ref, s["image_digest"])
    return ref


def config_hash(s: dict[str, Any]) -> str:
    """Hash of everything that must restart pods: odoo.conf, image, env, Secret references."""
    material = {"conf": conf_text(s), "image": image_ref(s), "env": _env(s), "fs": s["filestore"],
                "redis": s["redis"], "db_secret": s["database"]["password_secret"]}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


# ---------------------------------------------------------------------------- pods
def _env(s: dict[str, Any]) -> list[dict[str, Any]]:
    db = s["database"]
    env: list[dict[str, Any]] = [
        {"name": "ODOO_RC", "value": CONF_PATH},
        # libpq reads PGPASSWORD when odoo.conf has no db_password: the secret never lands in the ConfigMap
        {"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": dict(db["password_secret"])}},
        {"name": "PGAPPNAME", "value": "odoo-%s" % s["instance"]},
    ]
    rd = s["redis"]
    if rd["enabled"]:  # camptocamp session_redis conventions
        env += [{"name": "ODOO_SESSION_REDIS", "value": "1"},
                {"name": "ODOO_SESSION_REDIS_HOST", "value": rd["host"]},
                {"name": "ODOO_SESSION_REDIS_PORT", "value": str(rd["port"])},
                {"name": "ODOO_SESSION_REDIS_PREFIX", "value": rd["prefix"] or s["instance"]}]
        if rd["password_secret"]:
            env.append({"name": "ODOO_SESSION_REDIS_PASSWORD",
                        "valueFrom": {"secretKeyRef": dict(rd["password_secret"])}})
    fs = s["filestore"]
    if fs["type"] == "s3":  # camptocamp attachment_s3 conventions
        s3 = fs["s3"]
        env += [{"name": "AWS_BUCKETNAME", "value": s3["bucket"]},
                {"name": "AWS_REGION", "value": s3["region"]},
                {"name": "AWS_ACCESS_KEY_ID",
                 "valueFrom": {"secretKeyRef": {"name": s3["secret"], "key": s3["access_key_key"]}}},
                {"name": "AWS_SECRET_ACCESS_KEY",
                 "valueFrom": {"secretKeyRef": {"name": s3["secret"], "key": s3["secret_key_key"]}}}]
        if s3["endpoint"]:
            env.append({"name": "AWS_HOST", "value": s3["endpoint"]})
    env += [{"name": k, "value": v} for k, v in sorted(s["env"].items())]
    return env


def secret_refs(s: dict[str, Any]) -> list[dict[str, str]]:
    """Every Secret (name, key) the pods reference: checked against the cluster before applying."""
    refs = [dict(s["database"]["password_secret"], field="database.password_secret")]
    if s["redis"]["enabled"] and s["redis"]["password_secret"]:
        refs.append(dict(s["redis"]["password_secret"], field="redis.password_secret"))
    if s["filestore"]["type"] == "s3":
        s3 = s["filestore"]["s3"]
        refs.append({"name": s3["secret"], "key": s3["access_key_key"], "field": "filestore.s3.secret"})
        refs.append({"name": s3["secret"], "key": s3["secret_key_key"], "field": "filestore.s3.secret"})
    if s["tls"]["mode"] == "secret" and s["hostnames"]:
        refs.append({"name": s["tls"]["secret_name"], "key": "tls.crt", "field": "tls.secret_name"})
    for i, name in enumerate(s["image_pull_secrets"]):
        refs.append({"name": name, "key": ".dockerconfigjson", "field": "image_pull_secrets[%d]" % i})
    return refs


def _container(s: dict[str, Any], name: str, args: list[str], resources: dict[str, Any], *,
               probes: bool = True, ports: bool = True) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": name,
        "image": image_ref(s),
        "imagePullPolicy": s["image_pull_policy"],
        "command": ["odoo"],
        "args": args,
        "env": _env(s),
        "resources": copy.deepcopy(resources),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": s["security_context"]["read_only_root_filesystem"],
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/odoo", "readOnly": True},
            {"name": "data", "mountPath": specmod.DATA_DIR},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir inside the pod
        ],
    }
    if ports:
        c["ports"] = [{"name": "http", "containerPort": specmod.HTTP_PORT, "protocol": "TCP"},
                      {"name": "websocket", "containerPort": specmod.WS_PORT, "protocol": "TCP"}]
    if probes:
        health = {"httpGet": {"path": "/web/health", "port": "http"}}
        c["startupProbe"] = dict(health, periodSeconds=10, timeoutSeconds=5, failureThreshold=30)
        c["readinessProbe"] = dict(health, periodSeconds=10, timeoutSeconds=5, failureThreshold=3)
        c["livenessProbe"] = dict(health, periodSeconds=20, timeoutSeconds=10, failureThreshold=6)
    return c


def _pod_spec(s: dict[str, Any], containers: list[dict[str, Any]], grace: int,
              spread: dict[str, str] | None = None) -> dict[str, Any]:
    n = names(s)
    fs = s["filestore"]
    data = ({"name": "data", "persistentVolumeClaim": {"claimName": n["pvc"]}} if fs["type"] == "pvc"
            else {"name": "data", "emptyDir": {}})
    uid = s["run_as_user"]
    pod: dict[str, Any] = {
        "serviceAccountName": n["sa"],
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": grace,
        "securityContext": {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": uid, "fsGroup": uid,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": containers,
        "volumes": [
            {"name": "config", "configMap": {"name": n["config"]}},
            data,
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    if s["image_pull_secrets"]:
        pod["imagePullSecrets"] = [{"name": x} for x in s["image_pull_secrets"]]
    if s["node_selector"]:
        pod["nodeSelector"] = dict(s["node_selector"])
    if s["tolerations"]:
        pod["tolerations"] = copy.deepcopy(s["tolerations"])
    if spread:
        pod["topologySpreadConstraints"] = [
            {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
             "whenUnsatisfiable": s["web"]["zone_spread"], "labelSelector": {"matchLabels": dict(spread)}},
            {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
             "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": dict(spread)}},
        ]
    return pod


def _template(s: dict[str, Any], component: str, pod: dict[str, Any], chash: str,
              extra_labels: dict[str, str] | None = None) -> dict[str, Any]:
    lab = dict(s["pod_labels"]) if extra_labels is None else dict(extra_labels)
    lab.update(labels(s, component))
    ann = dict(s["pod_annotations"])
    ann[ANN_CONFIG_HASH] = chash
    if s["image_digest"]:
        ann[ANN_IMAGE_DIGEST] = s["image_digest"]
    return {"metadata": {"labels": lab, "annotations": ann}, "spec": pod}


def _cron_grace(s: dict[str, Any]) -> int:
    real_cron = s["odoo_conf"].get("limit_time_real_cron")
    if real_cron is None or real_cron <= 0:
        return s["termination_grace_seconds"]
    return min(int(real_cron), 3600) + 30


# ---------------------------------------------------------------------------- render
def render(raw_spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every manifest of the instance, in apply order (namespace first, routes last)."""
    s = specmod.normalize(raw_spec)
    n = names(s)
    ns = s["namespace"]
    chash = config_hash(s)
    out: list[dict[str, Any]] = []

    if s["create_namespace"]:
        meta = _meta(s, ns, "namespace", namespaced=False)
        meta["labels"].update({
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
        })
        out.append(_obj("v1", "Namespace", meta))
    if s["tenancy"] == "multi_tenant":
        out.append(_obj("v1", "ResourceQuota", _meta(s, n["quota"], "quota"), spec={"hard": dict(s["quota"])}))
        lr = s["limit_range"]
        out.append(_obj("v1", "LimitRange", _meta(s, n["limits"], "limits"), spec={"limits": [
            {"type": "Container", "default": dict(lr["default"]), "defaultRequest": dict(lr["default_request"])}]}))

    out.append(_obj("v1", "ServiceAccount", _meta(s, n["sa"], "serviceaccount"), automountServiceAccountToken=False))
    out.append(_obj("v1", "ConfigMap", _meta(s, n["config"], "config"), data={"odoo.conf": conf_text(s)}))
    if s["filestore"]["type"] == "pvc":
        fs = s["filestore"]
        pvc_spec: dict[str, Any] = {"accessModes": [fs["access_mode"]],
                                    "resources": {"requests": {"storage": fs["size"]}}}
        if fs["storage_class"]:
            pvc_spec["storageClassName"] = fs["storage_class"]
        out.append(_obj("v1", "PersistentVolumeClaim", _meta(s, n["pvc"], "filestore"), spec=pvc_spec))

    web_sel = selector(s, "web")
    for key, port_name, port in (("http", "http", specmod.HTTP_PORT), ("ws", "websocket", specmod.WS_PORT)):
        out.append(_obj("v1", "Service", _meta(s, n[key], "web"), spec={
            "type": "ClusterIP", "selector": dict(web_sel),
            "ports": [{"name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP"}]}))

    # web: HTTP workers, no cron threads (max_cron_threads = 0 in odoo.conf)
    web = s["web"]
    web_pod = _pod_spec(s, [_container(s, "odoo", ["-c", CONF_PATH], web["resources"])],
                        s["termination_grace_seconds"], spread=web_sel)
    web_spec: dict[str, Any] = {
        "selector": {"matchLabels": dict(web_sel)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "revisionHistoryLimit": 5,
        "progressDeadlineSeconds": s["progress_deadline_seconds"],
        "template": _template(s, "web", web_pod, chash),
    }
    if not web["autoscaling"]["enabled"]:  # with an HPA, the HPA owns spec.replicas
        web_spec["replicas"] = web["replicas"]
    out.append(_obj("apps/v1", "Deployment", _meta(s, n["web"], "web"), spec=web_spec))

    # cron: one pod, threaded server running the scheduled actions; Recreate so two never overlap
    if s["cron"]["enabled"]:
        cron_args = ["-c", CONF_PATH, "--workers=0", "--max-cron-threads=%d" % s["cron"]["threads"]]
        cron_pod = _pod_spec(s, [_container(s, "odoo", cron_args, s["cron"]["resources"])], _cron_grace(s))
        out.append(_obj("apps/v1", "Deployment", _meta(s, n["cron"], "cron"), spec={
            "replicas": 1,
            "selector": {"matchLabels": selector(s, "cron")},
            "strategy": {"type": "Recreate"},
            "revisionHistoryLimit": 5,
            "progressDeadlineSeconds": s["progress_deadline_seconds"],
            "template": _template(s, "cron", cron_pod, chash),
        }))

    auto = web["autoscaling"]
    if auto["enabled"]:
        out.append(_obj("autoscaling/v2", "HorizontalPodAutoscaler", _meta(s, n["hpa"], "web"), spec={
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": n["web"]},
            "minReplicas": auto["min_replicas"], "maxReplicas": auto["max_replicas"],
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": auto["target_cpu_utilization"]}}}]}))
    out.append(_obj("policy/v1", "PodDisruptionBudget", _meta(s, n["pdb"], "web"), spec={
        "maxUnavailable": web["pdb_max_unavailable"], "selector": {"matchLabels": dict(web_sel)}}))

    out.extend(_network_policies(s, n))
    out.extend(_ingress(s, n))
    out.sort(key=lambda o: _ORDER[(o["apiVersion"], o["kind"])])  # stable: keeps web before cron
    return out


def _peer_rule(peer: dict[str, Any], port: int) -> dict[str, Any]:
    rule: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": port}]}
    to: list[dict[str, Any]] = [{"ipBlock": {"cidr": c}} for c in peer.get("cidrs", [])]
    if peer.get("namespace"):
        sel: dict[str, Any] = {"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": peer["namespace"]}}}
        if peer.get("pod_labels"):
            sel["podSelector"] = {"matchLabels": dict(peer["pod_labels"])}
        to.append(sel)
    if to:  # no destination given: any address, this port only
        rule["to"] = to
    return rule


def _network_policies(s: dict[str, Any], n: dict[str, str]) -> list[dict[str, Any]]:
    inst = {LABEL_INSTANCE: s["instance"]}
    # in a tenant's own namespace the default deny covers every pod; in a shared one only ours
    deny_sel: dict[str, Any] = {} if s["tenancy"] == "multi_tenant" else {"matchLabels": dict(inst)}
    out = [_obj("networking.k8s.io/v1", "NetworkPolicy", _meta(s, n["np_deny"], "network"), spec={
        "podSelector": deny_sel, "policyTypes": ["Ingress", "Egress"]})]
    ing = s["ingress"]
    source: dict[str, Any] = {"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": ing["controller_namespace"]}}}
    if ing["controller_pod_labels"]:
        source["podSelector"] = {"matchLabels": dict(ing["controller_pod_labels"])}
    out.append(_obj("networking.k8s.io/v1", "NetworkPolicy", _meta(s, n["np_ingress"], "network"), spec={
        "podSelector": {"matchLabels": selector(s, "web")},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [source], "ports": [
            {"protocol": "TCP", "port": specmod.HTTP_PORT}, {"protocol": "TCP", "port": specmod.WS_PORT}]}]}))
    egress: list[dict[str, Any]] = [{
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]
    egress.append(_peer_rule(s["database"], s["database"]["port"]))
    if s["redis"]["enabled"]:
        egress.append(_peer_rule(s["redis"], s["redis"]["port"]))
    if s["filestore"]["type"] == "s3":
        s3 = s["filestore"]["s3"]
        egress.append(_peer_rule({"cidrs": s3["cidrs"]}, s3["port"]))
    if s["odoo_conf"].get("smtp_server"):
        egress.append(_peer_rule({}, s["odoo_conf"].get("smtp_port", 25)))
    out.append(_obj("networking.k8s.io/v1", "NetworkPolicy", _meta(s, n["np_egress"], "network"), spec={
        "podSelector": {"matchLabels": dict(inst)}, "policyTypes": ["Egress"], "egress": egress}))
    return out


def _hosts_rule(hosts: list[str]) -> str:
    rule = " || ".join("Host(`%s`)" % h for h in hosts)
    return "(%s)" % rule if len(hosts) > 1 else rule


def _paths_rule(paths: list[str]) -> str:
    rule = " || ".join("PathPrefix(`%s`)" % p for p in paths)
    return "(%s)" % rule if len(paths) > 1 else rule


def _ingress(s: dict[str, Any], n: dict[str, str]) -> list[dict[str, Any]]:
    if not s["hostnames"]:
        return []
    ing, tls, ns = s["ingress"], s["tls"], s["namespace"]
    api = "traefik.io/v1alpha1"
    secure = tls["mode"] != "none"
    out = []

    def mw(name: str, spec: dict[str, Any]) -> None:
        out.append(_obj(api, "Middleware", _meta(s, name, "ingress"), spec=spec))

    def ref(name: str) -> dict[str, str]:
        return {"name": name, "namespace": ns}

    headers: dict[str, Any] = {
        "contentTypeNosniff": True, "browserXssFilter": True,
        "referrerPolicy": "strict-origin-when-cross-origin", "customFrameOptionsValue": "SAMEORIGIN",
        "customRequestHeaders": {"X-Forwarded-Proto": "https" if secure else "http"},
    }
    if secure and ing["hsts_seconds"]:
        headers.update({"stsSeconds": ing["hsts_seconds"], "stsIncludeSubdomains": True, "forceSTSHeader": True})
    mw(n["mw_headers"], {"headers": headers})
    rl = ing["rate_limit"]
    mw(n["mw_ratelimit"], {"rateLimit": {"average": rl["average"], "burst": rl["burst"], "period": rl["period"]}})
    # Traefik OSS has no "deny" middleware: an allow-list matching no real client answers 403
    mw(n["mw_block"], {"ipAllowList": {"sourceRange": ["255.255.255.255/32"]}})
    if ing["admin_paths"]:
        mw(n["mw_admin"], {"ipAllowList": {"sourceRange": list(ing["admin_allow_cidrs"]) or ["255.255.255.255/32"]}})
    if secure:
        mw(n["mw_redirect"], {"redirectScheme": {"scheme": "https", "permanent": True}})

    hosts = _hosts_rule(s["hostnames"])
    common = [ref(n["mw_headers"]), ref(n["mw_ratelimit"])]
    http_svc = [{"name": n["http"], "port": specmod.HTTP_PORT}]
    ws_path = "/websocket" if s["odoo_version"] >= 16 else "/longpolling"
    routes: list[dict[str, Any]] = []
    if ing["blocked_paths"]:
        routes.append({"kind": "Rule", "match": "%s && %s" % (hosts, _paths_rule(ing["blocked_paths"])),
                       "priority": 1000, "middlewares": [ref(n["mw_block"])], "services": list(http_svc)})
    if ing["admin_paths"]:
        routes.append({"kind": "Rule", "match": "%s && %s" % (hosts, _paths_rule(ing["admin_paths"])),
                       "priority": 900, "middlewares": [ref(n["mw_admin"]), *common], "services": list(http_svc)})
    routes.append({"kind": "Rule", "match": "%s && PathPrefix(`%s`)" % (hosts, ws_path), "priority": 800,
                   "middlewares": list(common), "services": [{"name": n["ws"], "port": specmod.WS_PORT}]})
    routes.append({"kind": "Rule", "match": hosts, "priority": 10, "middlewares": list(common),
                   "services": list(http_svc)})
    route_spec: dict[str, Any] = {
        "entryPoints": list(ing["secure_entrypoints"] if secure else ing["http_entrypoints"]), "routes": routes}
    if tls["mode"] == "certresolver":
        route_spec["tls"] = {"certResolver": tls["cert_resolver"]}
    elif tls["mode"] in ("cert-manager", "secret"):
        route_spec["tls"] = {"secretName": tls["secret_name"]}
    meta = _meta(s, n["route"], "ingress")
    # the hostnames an instance claims, read back to refuse a hostname used by two tenants
    meta.setdefault("annotations", {})[ANN_HOSTNAMES] = ",".join(s["hostnames"])
    out.append(_obj(api, "IngressRoute", meta, spec=route_spec))
    if secure and ing["http_entrypoints"]:
        out.append(_obj(api, "IngressRoute", _meta(s, n["route_http"], "ingress"), spec={
            "entryPoints": list(ing["http_entrypoints"]),
            "routes": [{"kind": "Rule", "match": hosts, "priority": 10, "middlewares": [ref(n["mw_redirect"])],
                        "services": list(http_svc)}]}))
    if tls["mode"] == "cert-manager":
        out.append(_obj("cert-manager.io/v1", "Certificate", _meta(s, n["cert"], "ingress"), spec={
            "secretName": tls["secret_name"], "dnsNames": list(s["hostnames"]),
            "issuerRef": {"name": tls["issuer"]["name"], "kind": tls["issuer"]["kind"], "group": "cert-manager.io"}}))
    return out


# ---------------------------------------------------------------------------- maintenance Jobs
#: ``odoo neutralize`` exists from Odoo 16.0 on.
NEUTRALIZE_MIN_VERSION = 16


def job_name(s: dict[str, Any], kind: str, suffix: str) -> str:
    """``<instance>-<kind>-<suffix>`` (``kind``: ``update`` or ``neutralize``), at most 63 characters."""
    return ("%s-%s-%s" % (s["instance"], kind, suffix))[:63].rstrip("-")


def job_args(s: dict[str, Any], kind: str, modules: list[str] | None = None) -> list[str]:
    """The ``odoo`` command line of a maintenance Job (``command`` is ``["odoo"]``)."""
    db = s["database"]["name"]
    if kind == "update":
        return ["-c", CONF_PATH, "-d", db, "-u", ",".join(modules or []), "--stop-after-init",
                "--no-http", "--workers=0", "--max-cron-threads=0"]
    if kind == "neutralize":
        return ["neutralize", "-c", CONF_PATH, "-d", db]
    raise ValueError("unknown job kind %r" % kind)


def render_job(raw_spec: dict[str, Any], kind: str, suffix: str, *, modules: list[str] | None = None,
               pod_labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A maintenance Job with the spec's image, ``odoo.conf``, Secrets and volumes (the web pods' template).

    ``kind`` ``update``: ``odoo -u <modules> --stop-after-init`` (``modules`` technical names, ``["all"]``
    updates everything). ``kind`` ``neutralize``: ``odoo neutralize`` (Odoo >= 16) for restored staging copies.
    ``pod_labels`` go on the Job's pod only (the lab uses them to make a Job fail).
    """
    s = specmod.normalize(raw_spec)
    chk = specmod._Checker(s["tenant"])
    if kind == "update" and (not modules or not all(isinstance(m, str) and m.replace("_", "").isalnum()
                                                    for m in modules)):
        chk.fail("modules", modules, "a non-empty list of Odoo module technical names (or ['all'])")
    if kind == "neutralize" and s["odoo_version"] < NEUTRALIZE_MIN_VERSION:
        chk.fail("odoo_version", s["odoo_version"], "%d or later for the image's 'odoo neutralize' command "
                 "(older versions: the SQL path of odoo_restore neutralize=true)" % NEUTRALIZE_MIN_VERSION)
    if not suffix or not all(c.isalnum() or c == "-" for c in suffix) or suffix != suffix.lower():
        chk.fail("suffix", suffix, "lower-case letters, digits and '-' (part of the Job name)")
    chk.labels("update_job.pod_labels", pod_labels or {})
    job = s["update_job"]
    c = _container(s, "odoo-%s" % kind, job_args(s, kind, modules), job["resources"], probes=False, ports=False)
    pod = _pod_spec(s, [c], s["termination_grace_seconds"])
    pod["restartPolicy"] = "Never"
    template = _template(s, kind, pod, config_hash(s), extra_labels=pod_labels or {})
    return _obj("batch/v1", "Job", _meta(s, job_name(s, kind, suffix), kind), spec={
        "backoffLimit": 0,
        "activeDeadlineSeconds": job["active_deadline_seconds"],
        "ttlSecondsAfterFinished": job["ttl_seconds_after_finished"],
        "template": template,
    })
