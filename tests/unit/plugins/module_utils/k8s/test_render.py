"""Unit tests of the rendering core (plugins/module_utils/k8s/render.py): every manifest schema-validated."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils import odoo_conf
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import render as rd
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import spec as sp

from .conftest import validate_manifest

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "dedicated": {"tenancy": "dedicated", "namespace": "odoo"},
    "hpa": {"web": {"autoscaling": {"enabled": True, "min_replicas": 2, "max_replicas": 5}}},
    "s3_redis": {"filestore": {"type": "s3", "s3": {"bucket": "acme-attachments", "secret": "acme-s3",
                                                    "endpoint": "https://s3.example.com", "cidrs": ["10.1.0.0/16"]}},
                 "redis": {"enabled": True, "host": "redis.cache.svc", "password_secret": {"name": "acme-redis"},
                           "namespace": "cache", "pod_labels": {"app": "redis"}}},
    "cert_manager": {"tls": {"mode": "cert-manager", "issuer": {"name": "le", "kind": "ClusterIssuer"}},
                     "hostnames": ["erp.acme.test", "www.acme.test"]},
    "tls_secret": {"tls": {"mode": "secret", "secret_name": "acme-cert"}},
    "no_tls": {"tls": {"mode": "none"}},
    "no_hosts_no_cron": {"hostnames": [], "cron": {"enabled": False}},
    "odoo15": {"odoo_version": 15, "image": "odoo:15.0"},
    "digest": {"image": "registry.example.com/odoo:17.0@sha256:" + "c" * 64},
    "extras": {"labels": {"team": "erp"}, "annotations": {"example.com/owner": "ops"},
               "pod_labels": {"lab.erpops.io/fail": "true"}, "env": {"TZ": "UTC"},
               "node_selector": {"pool": "odoo"}, "image_pull_secrets": ["regcred"],
               "tolerations": [{"key": "odoo", "operator": "Exists", "effect": "NoSchedule"}],
               "odoo_conf": {"smtp_server": "smtp.example.com", "smtp_port": 587, "limit_time_real_cron": 300}},
}


def _spec(base: dict[str, Any], variant: str) -> dict[str, Any]:
    return sp.deep_merge(base, copy.deepcopy(VARIANTS[variant]))


def _by_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def _one(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name, [(o["kind"], o["metadata"]["name"]) for o in objs])
    return found[0]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_manifest_is_schema_valid_and_owned(base_spec: dict[str, Any], variant: str) -> None:
    spec = _spec(base_spec, variant)
    objs = rd.render(spec)
    s = sp.normalize(spec)
    keys = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs]
    assert len(keys) == len(set(keys)), "duplicate objects"
    for o in objs:
        validate_manifest(o)
        lab = o["metadata"]["labels"]
        assert lab[rd.LABEL_MANAGED_BY] == "erpops.odoo"
        assert lab[rd.LABEL_TENANT] == "acme" and lab[rd.LABEL_INSTANCE] == s["instance"]
        if o["kind"] != "Namespace":
            assert o["metadata"]["namespace"] == s["namespace"]
        assert (o["apiVersion"], o["kind"]) in {(a, k) for a, k, _n in rd.KINDS}
    order = [rd._ORDER[(o["apiVersion"], o["kind"])] for o in objs]
    assert order == sorted(order)


def test_default_render_has_every_piece(base_spec: dict[str, Any]) -> None:
    objs = rd.render(base_spec)
    kinds = {o["kind"] for o in objs}
    assert kinds == {"Namespace", "ResourceQuota", "LimitRange", "ServiceAccount", "ConfigMap",
                     "PersistentVolumeClaim", "Service", "Deployment", "PodDisruptionBudget", "NetworkPolicy",
                     "Middleware", "IngressRoute"}
    ns = _one(objs, "Namespace", "acme-prod")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    pvc = _one(objs, "PersistentVolumeClaim", "acme-prod-filestore")
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]


def test_configmap_uses_the_odoo_conf_core_and_holds_no_secret(base_spec: dict[str, Any]) -> None:
    objs = rd.render(base_spec)
    text = _one(objs, "ConfigMap", "acme-prod-config")["data"]["odoo.conf"]
    parsed = odoo_conf.parse(text)["options"]
    assert parsed["max_cron_threads"] == "0"
    assert parsed["workers"] == "2"
    assert parsed["gevent_port"] == "8072" and parsed["proxy_mode"] == "True" and parsed["list_db"] == "False"
    assert not any(k in parsed for k in odoo_conf.SECRET_OPTIONS)
    assert text == odoo_conf.render(sp.normalize(base_spec)["odoo_conf"])


def test_web_and_cron_deployments(base_spec: dict[str, Any]) -> None:
    objs = rd.render(base_spec)
    web = _one(objs, "Deployment", "acme-prod-web")
    cron = _one(objs, "Deployment", "acme-prod-cron")
    assert web["spec"]["replicas"] == 2
    assert cron["spec"]["replicas"] == 1 and cron["spec"]["strategy"] == {"type": "Recreate"}
    assert "--max-cron-threads=2" in cron["spec"]["template"]["spec"]["containers"][0]["args"]
    pod = web["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["readinessProbe"]["httpGet"]["path"] == "/web/health"
    assert c["livenessProbe"]["httpGet"]["path"] == "/web/health"
    assert pod["terminationGracePeriodSeconds"] == 1230
    zones = [t for t in pod["topologySpreadConstraints"] if t["topologyKey"] == "topology.kubernetes.io/zone"]
    assert zones and zones[0]["labelSelector"]["matchLabels"] == web["spec"]["selector"]["matchLabels"]
    pw = next(e for e in c["env"] if e["name"] == "PGPASSWORD")
    assert pw["valueFrom"]["secretKeyRef"] == {"name": "acme-db", "key": "password"}
    for dep in (web, cron):
        ann = dep["spec"]["template"]["metadata"]["annotations"]
        assert re.fullmatch(r"[0-9a-f]{64}", ann[rd.ANN_CONFIG_HASH])


def test_config_hash_changes_with_config_not_with_replicas(base_spec: dict[str, Any]) -> None:
    h0 = rd.config_hash(sp.normalize(base_spec))
    assert rd.config_hash(sp.normalize(sp.deep_merge(base_spec, {"web": {"replicas": 5}}))) == h0
    assert rd.config_hash(sp.normalize(sp.deep_merge(base_spec, {"odoo_conf": {"log_level": "warn"}}))) != h0
    assert rd.config_hash(sp.normalize(dict(base_spec, image="registry.example.com/odoo:17.1"))) != h0


def test_hpa_owns_replicas(base_spec: dict[str, Any]) -> None:
    objs = rd.render(_spec(base_spec, "hpa"))
    assert "replicas" not in _one(objs, "Deployment", "acme-prod-web")["spec"]
    hpa = _one(objs, "HorizontalPodAutoscaler", "acme-prod-web")
    assert hpa["apiVersion"] == "autoscaling/v2" and hpa["spec"]["maxReplicas"] == 5


def test_network_policies(base_spec: dict[str, Any]) -> None:
    objs = rd.render(_spec(base_spec, "s3_redis"))
    deny = _one(objs, "NetworkPolicy", "acme-prod-default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    ing = _one(objs, "NetworkPolicy", "acme-prod-allow-ingress")
    assert ing["spec"]["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}}]
    egress = _one(objs, "NetworkPolicy", "acme-prod-allow-egress")["spec"]["egress"]
    ports = [r["ports"][0]["port"] for r in egress]
    assert ports == [53, 5432, 6379, 443]
    assert egress[2]["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "cache"}
    dedicated = rd.render(_spec(base_spec, "dedicated"))
    assert _one(dedicated, "NetworkPolicy", "acme-prod-default-deny")["spec"]["podSelector"] == {
        "matchLabels": {rd.LABEL_INSTANCE: "acme-prod"}}
    assert not _by_kind(dedicated, "Namespace") and not _by_kind(dedicated, "ResourceQuota")


def test_ingress_routes(base_spec: dict[str, Any]) -> None:
    objs = rd.render(_spec(base_spec, "cert_manager"))
    route = _one(objs, "IngressRoute", "acme-prod")
    rules = {r["match"]: r for r in route["spec"]["routes"]}
    hosts = "(Host(`erp.acme.test`) || Host(`www.acme.test`))"
    ws = rules[hosts + " && PathPrefix(`/websocket`)"]
    assert ws["services"] == [{"name": "acme-prod-ws", "port": 8072}]
    assert rules[hosts]["services"] == [{"name": "acme-prod-http", "port": 8069}]
    blocked = rules[hosts + " && PathPrefix(`/web/database`)"]
    assert blocked["middlewares"] == [{"name": "acme-prod-block", "namespace": "acme-prod"}]
    assert blocked["priority"] > ws["priority"] > rules[hosts]["priority"]
    admin = rules[hosts + " && (PathPrefix(`/xmlrpc`) || PathPrefix(`/jsonrpc`))"]
    assert admin["middlewares"][0]["name"] == "acme-prod-admin-allowlist"
    assert route["spec"]["tls"] == {"secretName": "acme-prod-tls"}
    cert = _one(objs, "Certificate", "acme-prod-tls")
    assert cert["spec"]["dnsNames"] == ["erp.acme.test", "www.acme.test"]
    redirect = _one(objs, "IngressRoute", "acme-prod-http")
    assert redirect["spec"]["entryPoints"] == ["web"]
    assert _one(objs, "Middleware", "acme-prod-https-redirect")["spec"]["redirectScheme"]["scheme"] == "https"
    headers = _one(objs, "Middleware", "acme-prod-headers")["spec"]["headers"]
    assert headers["stsSeconds"] == 31536000 and headers["contentTypeNosniff"] is True
    assert _one(objs, "Middleware", "acme-prod-ratelimit")["spec"]["rateLimit"]["average"] == 100


def test_certresolver_and_no_tls(base_spec: dict[str, Any]) -> None:
    route = _one(rd.render(base_spec), "IngressRoute", "acme-prod")
    assert route["spec"]["tls"] == {"certResolver": "letsencrypt"}
    plain = rd.render(_spec(base_spec, "no_tls"))
    assert _one(plain, "IngressRoute", "acme-prod")["spec"]["entryPoints"] == ["web"]
    assert not [o for o in plain if o["metadata"]["name"].endswith("https-redirect")]


def test_odoo15_uses_longpolling(base_spec: dict[str, Any]) -> None:
    objs = rd.render(_spec(base_spec, "odoo15"))
    assert "longpolling_port = 8072" in _one(objs, "ConfigMap", "acme-prod-config")["data"]["odoo.conf"]
    route = _one(objs, "IngressRoute", "acme-prod")
    assert any("/longpolling" in r["match"] for r in route["spec"]["routes"])


def test_digest_pinned_and_annotated(base_spec: dict[str, Any]) -> None:
    digest = "sha256:" + "d" * 64
    objs = rd.render(dict(base_spec, image_digest=digest))
    tpl = _one(objs, "Deployment", "acme-prod-web")["spec"]["template"]
    assert tpl["spec"]["containers"][0]["image"] == "registry.example.com/odoo:17.0@" + digest
    assert tpl["metadata"]["annotations"][rd.ANN_IMAGE_DIGEST] == digest


def test_secret_refs(base_spec: dict[str, Any]) -> None:
    refs = rd.secret_refs(sp.normalize(_spec(base_spec, "s3_redis")))
    assert {(r["name"], r["field"]) for r in refs} == {
        ("acme-db", "database.password_secret"), ("acme-redis", "redis.password_secret"),
        ("acme-s3", "filestore.s3.secret")}


def test_update_job(base_spec: dict[str, Any]) -> None:
    job = rd.render_job(base_spec, "update", "r3", modules=["sale", "stock"], pod_labels={"lab.erpops.io/fail": "true"})
    validate_manifest(job)
    assert job["metadata"]["name"] == "acme-prod-update-r3"
    assert job["spec"]["backoffLimit"] == 0
    tpl = job["spec"]["template"]
    assert tpl["metadata"]["labels"]["lab.erpops.io/fail"] == "true"
    args = tpl["spec"]["containers"][0]["args"]
    assert args[args.index("-u") + 1] == "sale,stock" and "--stop-after-init" in args
    assert args[args.index("-d") + 1] == "acme"
    with pytest.raises(sp.SpecError, match="field 'modules'"):
        rd.render_job(base_spec, "update", "r3", modules=["sale; rm -rf /"])


def test_neutralize_job_runs_the_image_command_with_the_instance_config(base_spec: dict[str, Any]) -> None:
    job = rd.render_job(base_spec, "neutralize", "20261203t020000z-1a2b3c")
    validate_manifest(job)
    assert job["metadata"]["name"] == "acme-prod-neutralize-20261203t020000z-1a2b3c"
    tpl = job["spec"]["template"]
    c = tpl["spec"]["containers"][0]
    assert c["command"] == ["odoo"]
    assert c["args"] == ["neutralize", "-c", rd.CONF_PATH, "-d", "acme"]
    assert tpl["metadata"]["labels"][rd.LABEL_COMPONENT] == "neutralize"
    web = next(o for o in rd.render(base_spec) if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-web"))
    wc = web["spec"]["template"]["spec"]["containers"][0]
    # same image, environment (Secret references) and config volume as the web pods
    assert (c["image"], c["env"], c["volumeMounts"]) == (wc["image"], wc["env"], wc["volumeMounts"])
    assert tpl["spec"]["restartPolicy"] == "Never" and "readinessProbe" not in c


def test_neutralize_job_refuses_odoo_before_16_and_bad_suffix(base_spec: dict[str, Any]) -> None:
    with pytest.raises(sp.SpecError, match=r"field 'odoo_version'.*15"):
        rd.render_job(dict(base_spec, odoo_version=15), "neutralize", "x1")
    with pytest.raises(sp.SpecError, match="field 'suffix'"):
        rd.render_job(base_spec, "neutralize", "Backup_1")


def test_render_is_deterministic(base_spec: dict[str, Any]) -> None:
    assert rd.render(base_spec) == rd.render(copy.deepcopy(base_spec))
