# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Odoo instance spec: defaults, normalisation and validation (no Kubernetes API calls).

One structured spec per instance is the single input of the rendering core
(``render.py``), the apply layer, the modules and drift detection. Every error
raised here is a :class:`SpecError` whose message names the tenant, the field
(dotted path) and the offending value, so a play fails before anything is applied.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import copy
import difflib
import ipaddress
import math
import re
from typing import Any

from ansible_collections.erpops.odoo.plugins.module_utils import odoo_conf


class SpecError(ValueError):
    """Invalid instance spec; the message names tenant, field and value."""


# ---------------------------------------------------------------------------- defaults
DEFAULTS: dict[str, Any] = {
    "tenant": None,
    "environment": "production",
    "instance": None,            # default: <tenant>-<environment>
    "namespace": None,           # default: the instance name
    "tenancy": "multi_tenant",   # multi_tenant: own Namespace + ResourceQuota + LimitRange; dedicated: existing ns
    "create_namespace": None,    # default: true for multi_tenant, false for dedicated
    "image": None,               # "registry/repo:tag" or "...@sha256:<64 hex>"
    "image_digest": None,        # "sha256:<64 hex>" (recorded in the release; pinned in the pod spec)
    "image_pull_policy": "IfNotPresent",
    "image_pull_secrets": [],
    "odoo_version": 17,
    "odoo_conf": {},
    "web": {
        "replicas": 2,
        "workers": 2,
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "3Gi"}},
        "autoscaling": {"enabled": False, "min_replicas": 2, "max_replicas": 6, "target_cpu_utilization": 75},
        "zone_spread": "ScheduleAnyway",
        "pdb_max_unavailable": 1,
    },
    "cron": {
        "enabled": True,
        "threads": 2,
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "2Gi"}},
    },
    "update_job": {
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "3Gi"}},
        "active_deadline_seconds": 3600,
        "ttl_seconds_after_finished": 86400,
    },
    "filestore": {
        "type": "pvc",           # pvc (ReadWriteMany) or s3 (attachments in object storage)
        "size": "10Gi",
        "storage_class": None,
        "access_mode": "ReadWriteMany",
        "s3": {"bucket": None, "endpoint": None, "region": "us-east-1", "secret": None,
               "access_key_key": "AWS_ACCESS_KEY_ID", "secret_key_key": "AWS_SECRET_ACCESS_KEY",
               "cidrs": [], "port": 443},
    },
    "database": {
        "host": None, "port": 5432, "name": None, "user": None, "sslmode": "prefer",
        "password_secret": {"name": None, "key": "password"},
        "cidrs": [], "namespace": None, "pod_labels": {},
    },
    "redis": {
        "enabled": False, "host": None, "port": 6379, "db": 0, "prefix": None,
        "password_secret": None,  # {"name": ..., "key": ...}
        "cidrs": [], "namespace": None, "pod_labels": {},
    },
    "hostnames": [],
    "tls": {"mode": "certresolver", "cert_resolver": "letsencrypt", "secret_name": None,
            "issuer": {"name": "letsencrypt", "kind": "ClusterIssuer"}},
    "ingress": {
        "controller_namespace": "traefik",
        "controller_pod_labels": {},
        "secure_entrypoints": ["websecure"],
        "http_entrypoints": ["web"],
        "rate_limit": {"average": 100, "burst": 200, "period": "1s"},
        "admin_paths": ["/xmlrpc", "/jsonrpc"],
        "admin_allow_cidrs": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
        "blocked_paths": ["/web/database"],
        "hsts_seconds": 31536000,
    },
    "quota": {"pods": "30", "requests.cpu": "16", "requests.memory": "32Gi", "limits.cpu": "32",
              "limits.memory": "64Gi", "persistentvolumeclaims": "5", "requests.storage": "500Gi"},
    "limit_range": {"default": {"cpu": "1", "memory": "1Gi"}, "default_request": {"cpu": "100m", "memory": "256Mi"}},
    "labels": {},
    "annotations": {},
    "pod_labels": {},
    "pod_annotations": {},
    "env": {},
    "node_selector": {},
    "tolerations": [],
    "run_as_user": 101,
    "progress_deadline_seconds": 600,
    "termination_grace_seconds": None,  # default: sized from limit_time_real
    "security_context": {"read_only_root_filesystem": True},
}

CHOICES = {
    "tenancy": ("multi_tenant", "dedicated"),
    "image_pull_policy": ("Always", "IfNotPresent", "Never"),
    "web.zone_spread": ("ScheduleAnyway", "DoNotSchedule"),
    "filestore.type": ("pvc", "s3"),
    "filestore.access_mode": ("ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"),
    "database.sslmode": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    "tls.mode": ("certresolver", "cert-manager", "secret", "none"),
    "tls.issuer.kind": ("Issuer", "ClusterIssuer"),
}

# odoo.conf options derived from the spec; a conflicting value in ``odoo_conf`` is an error.
MANAGED_CONF = ("http_port", "gevent_port", "longpolling_port", "workers", "max_cron_threads", "data_dir",
                "db_host", "db_port", "db_user", "db_name", "db_sslmode", "proxy_mode")

HTTP_PORT = 8069
WS_PORT = 8072
DATA_DIR = "/var/lib/odoo"
DEFAULT_SOFT = 629145600     # 600 MiB (Odoo deploy docs' typical value)
DEFAULT_HARD = 1677721600    # 1600 MiB
DEFAULT_TIME_CPU = 600
DEFAULT_TIME_REAL = 1200

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_HOSTNAME = re.compile(r"^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_QUANTITY = re.compile(r"^([+-]?)(\d+(?:\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$")
_QTY_MULT = {"": 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
             "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4, "Pi": 1024 ** 5, "Ei": 1024 ** 6}
# Docker/OCI reference grammar (distribution/reference), simplified to one regex.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::\d+)?"
_IMAGE = re.compile(r"^(?:(?P<domain>%s)/)?(?P<path>%s(?:/%s)*)(?::(?P<tag>[\w][\w.-]{0,127}))?"
                    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$" % (_DOMAIN, _COMPONENT, _COMPONENT))
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION = re.compile(r"^\d+(ms|s|m|h)$")


# ---------------------------------------------------------------------------- helpers
def parse_quantity(value: Any) -> float:
    """A Kubernetes quantity (``500m``, ``2Gi``, ``1.5``, ``1e3``) as a float; ValueError when invalid."""
    if isinstance(value, bool) or value is None:
        raise ValueError("not a quantity")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            raise ValueError("not a quantity")
        return float(value)
    m = _QUANTITY.match(str(value).strip()) if isinstance(value, str) else None
    if not m:
        raise ValueError("not a quantity")
    sign = -1 if m.group(1) == "-" else 1
    suffix = m.group(3) or ""
    if suffix[:1] in ("e", "E"):
        return sign * float(m.group(2) + suffix)
    return sign * float(m.group(2)) * _QTY_MULT[suffix]


def parse_image(ref: str) -> dict[str, Any]:
    """Split an image reference into ``domain``, ``path``, ``tag``, ``digest``; ValueError when malformed."""
    if not isinstance(ref, str) or not ref or len(ref) > 512:
        raise ValueError("not an image reference")
    m = _IMAGE.match(ref)
    if not m:
        raise ValueError("not an image reference")
    parts = m.groupdict()
    if not parts["tag"] and not parts["digest"]:
        raise ValueError("needs an explicit tag or digest (':17.0' or '@sha256:...')")
    return parts


def deep_merge(base: Any, override: Any) -> Any:
    """Recursive dict merge (override wins; lists and scalars replace)."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = deep_merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(override)


class _Checker:
    """Collects the context (tenant) for error messages."""

    def __init__(self, tenant: Any) -> None:
        self.tenant = tenant

    def fail(self, field: str, value: Any, expected: str) -> None:
        raise SpecError("tenant %r: field '%s': %s, got %r" % (self.tenant, field, expected, value))

    def dns_label(self, field: str, value: Any, max_len: int = 63) -> str:
        if not isinstance(value, str) or len(value) > max_len or not _DNS_LABEL.match(value):
            self.fail(field, value, "a DNS label (lowercase letters, digits, '-', starting with a letter, "
                                    "at most %d characters)" % max_len)
        return value

    def subdomain(self, field: str, value: Any) -> str:
        if not isinstance(value, str) or len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
            self.fail(field, value, "a Kubernetes object name (DNS subdomain)")
        return value

    def integer(self, field: str, value: Any, lo: int | None = None, hi: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            self.fail(field, value, "an integer")
        try:
            out = int(value)
        except ValueError:
            self.fail(field, value, "an integer")
        if lo is not None and out < lo:
            self.fail(field, value, "an integer >= %d" % lo)
        if hi is not None and out > hi:
            self.fail(field, value, "an integer <= %d" % hi)
        return out

    def boolean(self, field: str, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "false", "no"):
            return value.lower() in ("true", "yes")
        self.fail(field, value, "a boolean")
        return False

    def choice(self, field: str, value: Any) -> str:
        if value not in CHOICES[field]:
            self.fail(field, value, "one of %s" % ", ".join(CHOICES[field]))
        return value

    def quantity(self, field: str, value: Any) -> str:
        try:
            if parse_quantity(value) < 0:
                raise ValueError("negative")
        except ValueError:
            self.fail(field, value, "a valid Kubernetes quantity such as '500m', '2', '1Gi' or '512Mi'")
        return str(value)

    def mapping(self, field: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(field, value, "a mapping")
        return value

    def str_list(self, field: str, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(field, value, "a list of non-empty strings")
        return list(value)

    def cidrs(self, field: str, value: Any) -> list[str]:
        for v in self.str_list(field, value):
            try:
                ipaddress.ip_network(v, strict=False)
            except ValueError:
                self.fail(field, v, "a CIDR such as '10.0.0.0/8'")
        return list(value)

    def labels(self, field: str, value: Any) -> dict[str, str]:
        self.mapping(field, value)
        for k, v in value.items():
            if not isinstance(k, str) or len(k) > 316 or not _LABEL_KEY.match(k):
                self.fail("%s.%s" % (field, k), k, "a valid label key")
            if not isinstance(v, str) or len(v) > 63 or not _LABEL_VALUE.match(v):
                self.fail("%s.%s" % (field, k), v, "a label value (string, at most 63 characters)")
        return dict(value)

    def annotations(self, field: str, value: Any) -> dict[str, str]:
        self.mapping(field, value)
        for k, v in value.items():
            if not isinstance(k, str) or not _LABEL_KEY.match(k):
                self.fail("%s.%s" % (field, k), k, "a valid annotation key")
            if not isinstance(v, str):
                self.fail("%s.%s" % (field, k), v, "a string")
        return dict(value)

    def secret_ref(self, field: str, value: Any, key_default: str | None = None) -> dict[str, str]:
        self.mapping(field, value)
        unknown = set(value) - {"name", "key"}
        if unknown:
            self.fail(field, value, "a Secret reference {name, key} (unknown keys %s)" % sorted(unknown))
        ref = {"name": value.get("name"), "key": value.get("key", key_default)}
        self.subdomain(field + ".name", ref["name"])
        if not isinstance(ref["key"], str) or not re.match(r"^[-._a-zA-Z0-9]+$", ref["key"]):
            self.fail(field + ".key", ref["key"], "a Secret data key")
        return ref


def _unknown_keys(chk: _Checker, field: str, given: dict[str, Any], known: dict[str, Any]) -> None:
    for k, value in given.items():
        if k not in known:
            close = difflib.get_close_matches(str(k), list(known), n=1)
            hint = " (did you mean '%s'?)" % close[0] if close else ""
            chk.fail("%s%s" % (field + "." if field else "", k), value, "a known spec field%s" % hint)
    for k, v in known.items():
        if isinstance(v, dict) and isinstance(given.get(k), dict) and k not in (
                "odoo_conf", "labels", "annotations", "pod_labels", "pod_annotations", "env", "node_selector",
                "quota", "controller_pod_labels", "password_secret", "resources", "default", "default_request"):
            _unknown_keys(chk, "%s%s" % (field + "." if field else "", k), given[k], v)


# ---------------------------------------------------------------------------- normalise
def normalize(raw: dict[str, Any]) -> dict[str, Any]:
    """Merge defaults, validate every field and return the complete, typed spec.

    Idempotent: ``normalize(normalize(x)) == normalize(x)`` (the result is what
    releases store and what ``rollback`` re-renders).
    """
    if not isinstance(raw, dict):
        raise SpecError("instance spec must be a mapping, got %s" % type(raw).__name__)
    tenant = raw.get("tenant")
    chk = _Checker(tenant)
    chk.dns_label("tenant", tenant, max_len=30)
    _unknown_keys(chk, "", raw, DEFAULTS)
    # unset top-level options (None, or "" from role variables) keep their defaults
    s = deep_merge(DEFAULTS, {k: v for k, v in raw.items() if v is not None and v != ""})
    # parameter-style inputs (Ansible) may carry None for unset nested options: restore defaults
    s = _fill_none(s, DEFAULTS)

    chk.dns_label("environment", s["environment"], max_len=20)
    s["instance"] = chk.dns_label("instance", s["instance"] or "%s-%s" % (tenant, s["environment"]), max_len=45)
    s["namespace"] = chk.dns_label("namespace", s["namespace"] or s["instance"])
    chk.choice("tenancy", s["tenancy"])
    s["create_namespace"] = (s["tenancy"] == "multi_tenant" if s["create_namespace"] is None
                             else chk.boolean("create_namespace", s["create_namespace"]))

    # image
    image = s["image"]
    if image is None:
        chk.fail("image", image, "an image reference such as 'registry.example.com/odoo:17.0'")
    try:
        parts = parse_image(image)
    except ValueError as exc:
        chk.fail("image", image, "a valid image reference (%s)" % exc)
    if s["image_digest"] is not None:
        if not isinstance(s["image_digest"], str) or not _DIGEST.match(s["image_digest"]):
            chk.fail("image_digest", s["image_digest"], "a digest 'sha256:<64 hex digits>'")
        if parts["digest"] and parts["digest"] != s["image_digest"]:
            chk.fail("image_digest", s["image_digest"], "the digest already in 'image' (%s)" % parts["digest"])
    else:
        s["image_digest"] = parts["digest"]
    chk.choice("image_pull_policy", s["image_pull_policy"])
    for i, name in enumerate(chk.str_list("image_pull_secrets", s["image_pull_secrets"])):
        chk.subdomain("image_pull_secrets[%d]" % i, name)
    s["odoo_version"] = chk.integer("odoo_version", s["odoo_version"], 12, 99)

    # web / cron
    web, cron = s["web"], s["cron"]
    web["replicas"] = chk.integer("web.replicas", web["replicas"], 0, 500)
    web["workers"] = chk.integer("web.workers", web["workers"], 0, 256)
    chk.choice("web.zone_spread", web["zone_spread"])
    web["pdb_max_unavailable"] = chk.integer("web.pdb_max_unavailable", web["pdb_max_unavailable"], 1)
    auto = web["autoscaling"]
    auto["enabled"] = chk.boolean("web.autoscaling.enabled", auto["enabled"])
    auto["min_replicas"] = chk.integer("web.autoscaling.min_replicas", auto["min_replicas"], 1, 500)
    auto["max_replicas"] = chk.integer("web.autoscaling.max_replicas", auto["max_replicas"], 1, 500)
    auto["target_cpu_utilization"] = chk.integer("web.autoscaling.target_cpu_utilization",
                                                 auto["target_cpu_utilization"], 1, 100)
    if auto["max_replicas"] < auto["min_replicas"]:
        chk.fail("web.autoscaling.max_replicas", auto["max_replicas"],
                 "a value >= web.autoscaling.min_replicas (%d)" % auto["min_replicas"])
    cron["enabled"] = chk.boolean("cron.enabled", cron["enabled"])
    cron["threads"] = chk.integer("cron.threads", cron["threads"], 1, 64)
    for part in ("web", "cron", "update_job"):
        _resources(chk, part + ".resources", s[part]["resources"])
    job = s["update_job"]
    job["active_deadline_seconds"] = chk.integer("update_job.active_deadline_seconds",
                                                 job["active_deadline_seconds"], 10)
    job["ttl_seconds_after_finished"] = chk.integer("update_job.ttl_seconds_after_finished",
                                                    job["ttl_seconds_after_finished"], 0)

    # filestore
    fs = s["filestore"]
    chk.choice("filestore.type", fs["type"])
    if fs["type"] == "pvc":
        chk.quantity("filestore.size", fs["size"])
        chk.choice("filestore.access_mode", fs["access_mode"])
        if fs["storage_class"] is not None:
            chk.subdomain("filestore.storage_class", fs["storage_class"])
    else:
        s3 = fs["s3"]
        if not isinstance(s3.get("bucket"), str) or not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", s3["bucket"]):
            chk.fail("filestore.s3.bucket", s3.get("bucket"), "an S3 bucket name")
        if s3.get("secret") is None:
            chk.fail("filestore.s3.secret", None, "the name of a Secret holding the S3 access keys")
        chk.subdomain("filestore.s3.secret", s3["secret"])
        chk.cidrs("filestore.s3.cidrs", s3["cidrs"])
        s3["port"] = chk.integer("filestore.s3.port", s3["port"], 1, 65535)

    # database
    db = s["database"]
    for key in ("host", "name", "user"):
        if not isinstance(db[key], str) or not db[key] or "\n" in db[key]:
            chk.fail("database." + key, db[key], "a non-empty string")
    db["port"] = chk.integer("database.port", db["port"], 1, 65535)
    chk.choice("database.sslmode", db["sslmode"])
    db["password_secret"] = chk.secret_ref("database.password_secret", db["password_secret"], "password")
    _peer(chk, "database", db)

    # redis
    rd = s["redis"]
    rd["enabled"] = chk.boolean("redis.enabled", rd["enabled"])
    if rd["enabled"]:
        if not isinstance(rd["host"], str) or not rd["host"]:
            chk.fail("redis.host", rd["host"], "a host name when redis.enabled is true")
        rd["port"] = chk.integer("redis.port", rd["port"], 1, 65535)
        rd["db"] = chk.integer("redis.db", rd["db"], 0, 15)
        if rd["password_secret"] is not None:
            rd["password_secret"] = chk.secret_ref("redis.password_secret", rd["password_secret"], "password")
        _peer(chk, "redis", rd)

    # hostnames, TLS, ingress
    hosts = chk.str_list("hostnames", s["hostnames"])
    for i, h in enumerate(hosts):
        if len(h) > 253 or not _HOSTNAME.match(h):
            chk.fail("hostnames[%d]" % i, h, "a lowercase DNS hostname such as 'erp.example.com'")
    if len(set(hosts)) != len(hosts):
        chk.fail("hostnames", hosts, "unique hostnames")
    tls = s["tls"]
    chk.choice("tls.mode", tls["mode"])
    if tls["mode"] == "certresolver" and (not isinstance(tls["cert_resolver"], str) or not tls["cert_resolver"]):
        chk.fail("tls.cert_resolver", tls["cert_resolver"], "the name of a Traefik certificate resolver")
    tls["secret_name"] = chk.subdomain("tls.secret_name", tls["secret_name"] or "%s-tls" % s["instance"])
    if tls["mode"] == "cert-manager":
        chk.subdomain("tls.issuer.name", tls["issuer"]["name"])
        chk.choice("tls.issuer.kind", tls["issuer"]["kind"])
    ing = s["ingress"]
    chk.dns_label("ingress.controller_namespace", ing["controller_namespace"])
    chk.labels("ingress.controller_pod_labels", ing["controller_pod_labels"])
    for key in ("secure_entrypoints", "http_entrypoints"):
        chk.str_list("ingress." + key, ing[key])
    rl = ing["rate_limit"]
    rl["average"] = chk.integer("ingress.rate_limit.average", rl["average"], 0)
    rl["burst"] = chk.integer("ingress.rate_limit.burst", rl["burst"], 1)
    if not isinstance(rl["period"], str) or not _DURATION.match(rl["period"]):
        chk.fail("ingress.rate_limit.period", rl["period"], "a duration such as '1s' or '1m'")
    for key in ("admin_paths", "blocked_paths"):
        for i, p in enumerate(chk.str_list("ingress." + key, ing[key])):
            if not p.startswith("/") or "`" in p:
                chk.fail("ingress.%s[%d]" % (key, i), p, "a path starting with '/'")
    chk.cidrs("ingress.admin_allow_cidrs", ing["admin_allow_cidrs"])
    ing["hsts_seconds"] = chk.integer("ingress.hsts_seconds", ing["hsts_seconds"], 0)

    # namespace objects
    for k, v in chk.mapping("quota", s["quota"]).items():
        if not isinstance(k, str) or not re.match(r"^[a-z0-9./-]+$", k):
            chk.fail("quota", k, "a ResourceQuota resource name")
        s["quota"][k] = chk.quantity("quota.%s" % k, v)
    for part in ("default", "default_request"):
        for k, v in chk.mapping("limit_range." + part, s["limit_range"][part]).items():
            if k not in ("cpu", "memory", "ephemeral-storage"):
                chk.fail("limit_range.%s.%s" % (part, k), v, "cpu, memory or ephemeral-storage")
            s["limit_range"][part][k] = chk.quantity("limit_range.%s.%s" % (part, k), v)

    # metadata and pod extras
    for key in ("labels", "pod_labels", "node_selector"):
        chk.labels(key, s[key])
    for key in ("annotations", "pod_annotations"):
        chk.annotations(key, s[key])
    for k, v in chk.mapping("env", s["env"]).items():
        if not isinstance(k, str) or not _ENV_NAME.match(k):
            chk.fail("env.%s" % k, k, "an environment variable name")
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            chk.fail("env.%s" % k, v, "a string or number")
        s["env"][k] = str(v)
    if not isinstance(s["tolerations"], list) or not all(isinstance(t, dict) for t in s["tolerations"]):
        chk.fail("tolerations", s["tolerations"], "a list of Kubernetes tolerations")
    s["run_as_user"] = chk.integer("run_as_user", s["run_as_user"], 1)
    s["progress_deadline_seconds"] = chk.integer("progress_deadline_seconds", s["progress_deadline_seconds"], 5)
    s["security_context"]["read_only_root_filesystem"] = chk.boolean(
        "security_context.read_only_root_filesystem", s["security_context"]["read_only_root_filesystem"])

    # odoo.conf: through the one odoo_conf core (never a second validator)
    s["odoo_conf"] = _conf(chk, s)
    if s["termination_grace_seconds"] is None:
        s["termination_grace_seconds"] = min(int(s["odoo_conf"]["limit_time_real"]), 3600) + 30
    s["termination_grace_seconds"] = chk.integer("termination_grace_seconds", s["termination_grace_seconds"], 1)

    _check_fit(chk, s)
    return s


def _fill_none(value: Any, default: Any) -> Any:
    if isinstance(value, dict) and isinstance(default, dict):
        return {k: (copy.deepcopy(default[k]) if v is None and default.get(k) is not None
                    else _fill_none(v, default.get(k))) for k, v in value.items()}
    return value


def _resources(chk: _Checker, field: str, res: Any) -> None:
    chk.mapping(field, res)
    for part in res:
        if part not in ("requests", "limits"):
            chk.fail("%s.%s" % (field, part), res[part], "'requests' or 'limits'")
        chk.mapping("%s.%s" % (field, part), res[part])
        for k, v in res[part].items():
            if k not in ("cpu", "memory", "ephemeral-storage"):
                chk.fail("%s.%s.%s" % (field, part, k), v, "cpu, memory or ephemeral-storage")
            res[part][k] = chk.quantity("%s.%s.%s" % (field, part, k), v)
    for k in ("cpu", "memory"):
        if not res.get("limits", {}).get(k):
            chk.fail("%s.limits.%s" % (field, k), None, "a %s limit (needed to size Odoo workers)" % k)
        req = res.get("requests", {}).get(k)
        if req is not None and parse_quantity(req) > parse_quantity(res["limits"][k]):
            chk.fail("%s.requests.%s" % (field, k), req, "a request <= the limit (%s)" % res["limits"][k])


def _peer(chk: _Checker, field: str, peer: dict[str, Any]) -> None:
    chk.cidrs(field + ".cidrs", peer["cidrs"])
    if peer["namespace"] is not None:
        chk.dns_label(field + ".namespace", peer["namespace"])
    chk.labels(field + ".pod_labels", peer["pod_labels"])


def _conf(chk: _Checker, s: dict[str, Any]) -> dict[str, Any]:
    user = chk.mapping("odoo_conf", s["odoo_conf"])
    try:
        user_typed = odoo_conf.validate(user)
    except odoo_conf.OdooConfError as exc:
        raise SpecError("tenant %r: field 'odoo_conf': %s" % (s["tenant"], exc))
    ws_key = "gevent_port" if s["odoo_version"] >= 16 else "longpolling_port"
    db = s["database"]
    managed = {
        "http_port": HTTP_PORT, ws_key: WS_PORT, "workers": s["web"]["workers"], "max_cron_threads": 0,
        "data_dir": DATA_DIR, "db_host": db["host"], "db_port": db["port"], "db_user": db["user"],
        "db_name": db["name"], "db_sslmode": db["sslmode"], "proxy_mode": True,
    }
    for key in MANAGED_CONF:
        if key in user_typed and key in managed and user_typed[key] != odoo_conf.validate({key: managed[key]})[key]:
            where = {"workers": "web.workers", "max_cron_threads": "cron.threads (web pods always run 0)",
                     "db_host": "database.host", "db_port": "database.port", "db_user": "database.user",
                     "db_name": "database.name", "db_sslmode": "database.sslmode"}.get(key, "the spec")
            chk.fail("odoo_conf.%s" % key, user[key], "no value (it is set from %s: %r)" % (where, managed[key]))
        if key in user_typed and key not in managed:
            chk.fail("odoo_conf.%s" % key, user[key], "no value (managed by the collection)")
    defaults = {"list_db": False, "dbfilter": "^%s$" % re.escape(db["name"]),
                "limit_memory_soft": DEFAULT_SOFT, "limit_memory_hard": DEFAULT_HARD,
                "limit_time_cpu": DEFAULT_TIME_CPU, "limit_time_real": DEFAULT_TIME_REAL}
    merged = dict(defaults)
    merged.update(user_typed)
    merged.update(managed)
    try:
        return odoo_conf.validate(merged)
    except odoo_conf.OdooConfError as exc:
        raise SpecError("tenant %r: field 'odoo_conf': %s" % (s["tenant"], exc))


def _check_fit(chk: _Checker, s: dict[str, Any]) -> None:
    """Workers must fit the web container's CPU and memory limits."""
    conf, web = s["odoo_conf"], s["web"]
    workers = web["workers"]
    mem_limit = parse_quantity(web["resources"]["limits"]["memory"])
    cpu_limit = parse_quantity(web["resources"]["limits"]["cpu"])
    if workers > 0:
        soft = conf["limit_memory_soft"]
        gevent = conf.get("limit_memory_soft_gevent", soft)
        need = workers * soft + gevent
        if need > mem_limit:
            chk.fail("web.workers", workers,
                     "workers that fit web.resources.limits.memory (%s = %d bytes): %d workers x limit_memory_soft "
                     "%d + gevent %d = %d bytes" % (web["resources"]["limits"]["memory"], mem_limit, workers, soft,
                                                    gevent, need))
        if conf["limit_memory_hard"] > mem_limit:
            chk.fail("odoo_conf.limit_memory_hard", conf["limit_memory_hard"],
                     "a value <= web.resources.limits.memory (%d bytes) so Odoo recycles a worker before the "
                     "kernel OOM-kills the pod" % mem_limit)
        max_workers = int(2 * cpu_limit + 1)
        if workers > max_workers:
            chk.fail("web.workers", workers, "at most %d workers for web.resources.limits.cpu %s (2 x CPU + 1)"
                     % (max_workers, web["resources"]["limits"]["cpu"]))


# ---------------------------------------------------------------------------- fleet
def check_fleet(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Normalise every spec and refuse what only shows across instances.

    A hostname used by two instances (of two tenants, or twice by one) and two
    instances with the same namespace/name are errors naming both tenants.
    """
    out = [normalize(s) for s in specs]
    seen_host: dict[str, dict[str, Any]] = {}
    seen_inst: dict[tuple[str, str], dict[str, Any]] = {}
    for s in out:
        key = (s["namespace"], s["instance"])
        if key in seen_inst:
            other = seen_inst[key]
            raise SpecError("tenant %r: field 'instance': %r in namespace %r is also defined by tenant %r"
                            % (s["tenant"], s["instance"], s["namespace"], other["tenant"]))
        seen_inst[key] = s
        for h in s["hostnames"]:
            if h in seen_host:
                other = seen_host[h]
                raise SpecError("tenant %r: field 'hostnames': hostname %r is already used by tenant %r "
                                "(instance %r)" % (s["tenant"], h, other["tenant"], other["instance"]))
            seen_host[h] = s
    return out
