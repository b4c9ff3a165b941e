# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of an EKS estate before any AWS call: names, CIDRs, zones, instance types, node groups, buckets.

Pure functions, no API calls. The playbook passes what it learnt from AWS (the region's
availability zones, optionally the instance types offered there) so unknown zones and
instance types are refused with the rest, before the first resource is created. Every
problem is collected; :class:`PlatformError` carries them all.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import ipaddress
import re
from typing import Any

from ansible_collections.erpops.odoo.plugins.module_utils.platform.errors import PlatformError

# RFC 1123 label (Kubernetes namespace, Service, node group and tenant names)
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# S3 bucket names (general purpose buckets): 3-63, lowercase, digits, dots, hyphens; no IP form
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ZONE = re.compile(r"^(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d)(?P<letter>[a-z])$")
# EC2 instance type naming: <family><generation><attributes>.<size>, e.g. m6i.xlarge, t3a.medium, c7gn.16xlarge
_INSTANCE_TYPE = re.compile(
    r"^(?:(?P<family>[a-z]+?)(?P<gen>\d+)(?P<attrs>[a-z-]*)|(?P<highmem>u-\d+tb\d+))\."
    r"(?P<size>nano|micro|small|medium|large|xlarge|\d+xlarge|metal(-\d+xl)?)$")
# instance families EC2 sells (the letters before the generation digit); unknown ones are typos
INSTANCE_FAMILIES = frozenset((
    "a", "c", "d", "dl", "f", "g", "gr", "h", "hpc", "i", "im", "inf", "is", "m", "mac", "p", "r", "t", "trn",
    "u", "vt", "x", "z",
))
WORKLOAD_CLASSES = ("odoo-web", "odoo-cron", "system")
CAPACITY_TYPES = ("ON_DEMAND", "SPOT")
EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


class Errors:
    """Collects problems with a common prefix; :meth:`raise_if_any` raises them together."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.items: list[str] = []

    def add(self, field: str, value: Any, expected: str) -> None:
        self.items.append("%sfield '%s': %s, got %r" % (self.prefix, field, expected, value))

    def note(self, msg: str) -> None:
        self.items.append(self.prefix + msg)

    def raise_if_any(self, what: str) -> None:
        if not self.items:
            return
        if len(self.items) == 1:
            raise PlatformError("%s: %s" % (what, self.items[0]), self.items)
        raise PlatformError("%s: %d problems:\n- %s" % (what, len(self.items), "\n- ".join(self.items)), self.items)


# ---------------------------------------------------------------------------- single values
def is_dns_label(value: Any, max_len: int = 63) -> bool:
    return isinstance(value, str) and 0 < len(value) <= max_len and bool(DNS_LABEL.match(value))


def check_name(errs: Errors, field: str, value: Any, max_len: int = 63) -> None:
    if not is_dns_label(value, max_len):
        errs.add(field, value, "an RFC 1123 label (lowercase letters, digits and '-', starting and ending "
                               "with a letter or digit, at most %d characters)" % max_len)


def network(errs: Errors, field: str, value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A CIDR (host bits must be zero: '10.0.1.0/16' is a typo we refuse)."""
    if not isinstance(value, str):
        errs.add(field, value, "a CIDR such as '10.40.0.0/16'")
        return None
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        errs.add(field, value, "a CIDR such as '10.40.0.0/16' (%s)" % exc)
        return None


def overlaps(named: list[tuple[str, Any]]) -> list[str]:
    """Messages for every overlapping pair among ``(field, network)`` (None entries skipped)."""
    out = []
    items = [(f, n) for f, n in named if n is not None]
    for i, (fa, na) in enumerate(items):
        for fb, nb in items[i + 1:]:
            if na.version == nb.version and na.overlaps(nb):
                out.append("CIDR %s (%s) overlaps %s (%s)" % (na, fa, nb, fb))
    return out


def instance_type_problem(value: Any, offered: list[str] | None = None) -> str | None:
    """Why ``value`` is not a usable EC2 instance type (None when it is)."""
    if not isinstance(value, str):
        return "an EC2 instance type such as 'm6i.xlarge'"
    if offered:
        if value not in offered:
            return "an instance type offered in the region (%d known; e.g. %s)" % (
                len(offered), ", ".join(sorted(offered)[:5]))
        return None
    m = _INSTANCE_TYPE.match(value)
    if not m:
        return "an EC2 instance type '<family><generation>[attributes].<size>' such as 'm6i.xlarge'"
    if not m.group("highmem") and m.group("family") not in INSTANCE_FAMILIES:
        return "a known EC2 instance family (unknown family %r)" % m.group("family")
    return None


def zone_problem(value: Any, region: str, available: list[str] | None) -> str | None:
    if not isinstance(value, str) or not _ZONE.match(value):
        return "an availability zone name such as '%sa'" % region
    if _ZONE.match(value).group("region") != region:
        return "a zone of region %s" % region
    if available and value not in available:
        return "an available zone of %s (available: %s)" % (region, ", ".join(sorted(available)))
    return None


def bucket_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not _BUCKET.match(value) or ".." in value:
        return "an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')"
    try:
        ipaddress.ip_address(value)
        return "an S3 bucket name that is not an IP address"
    except ValueError:
        return None


# ---------------------------------------------------------------------------- the estate
def validate_estate(estate: dict[str, Any], available_zones: list[str] | None = None,
                    offered_instance_types: list[str] | None = None,
                    reserved_cidrs: dict[str, str] | None = None) -> dict[str, Any]:
    """Check a whole EKS estate (the ``provision_eks`` mapping); raise :class:`PlatformError` listing every problem.

    ``available_zones``: zone names AWS reports for the region (``amazon.aws.aws_az_info``).
    ``offered_instance_types``: exact instance types offered there; without it the naming scheme and
    the known families are checked. ``reserved_cidrs``: networks the VPC must not overlap, by name
    (peered VPCs, on-premises ranges, the cluster's service CIDR).
    Returns a summary (counts and the subnet plan) for the play's output.
    """
    errs = Errors()
    if not isinstance(estate, dict):
        errs.add("provision_eks", estate, "a mapping")
        errs.raise_if_any("EKS estate")
    name = estate.get("name")
    if not isinstance(name, str) or len(name) > 100 or not DNS_LABEL.match(name or ""):
        errs.add("name", name, "a cluster name that is an RFC 1123 label (at most 100 characters)")
    region = estate.get("region")
    if not isinstance(region, str) or not re.match(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", region):
        errs.add("region", region, "an AWS region such as 'eu-west-1'")
        region = ""

    # zones
    zones = estate.get("zones") or []
    if not isinstance(zones, list) or len(zones) < 3:
        errs.add("zones", zones, "a list of at least 3 availability zones")
        zones = zones if isinstance(zones, list) else []
    if len(set(map(str, zones))) != len(zones):
        errs.add("zones", zones, "distinct zones")
    for i, z in enumerate(zones):
        why = zone_problem(z, region, available_zones)
        if why:
            errs.add("zones[%d]" % i, z, why)

    # networks
    vpc = network(errs, "vpc_cidr", estate.get("vpc_cidr"))
    if vpc is not None and vpc.version == 4 and not 16 <= vpc.prefixlen <= 28:
        errs.add("vpc_cidr", estate.get("vpc_cidr"), "a VPC CIDR between /16 and /28 (an AWS limit)")
    named: list[tuple[str, Any]] = []
    for kind in ("private_subnets", "public_subnets"):
        subnets = estate.get(kind) or []
        if not isinstance(subnets, list):
            errs.add(kind, subnets, "a list of CIDRs, one per zone")
            continue
        if (kind == "private_subnets" or subnets) and len(subnets) != len(zones):
            errs.add(kind, subnets, "one CIDR per zone (%d zones)" % len(zones))
        for i, c in enumerate(subnets):
            field = "%s[%d]" % (kind, i)
            net = network(errs, field, c)
            if net is not None and vpc is not None and not (net.version == vpc.version and net.subnet_of(vpc)):
                errs.add(field, c, "a subnet inside vpc_cidr %s" % vpc)
            named.append((field, net))
    for msg in overlaps(named):
        errs.note(msg)
    for rname, rcidr in sorted((reserved_cidrs or {}).items()):
        rnet = network(errs, "reserved_cidrs.%s" % rname, rcidr)
        if rnet is not None and vpc is not None and rnet.version == vpc.version and rnet.overlaps(vpc):
            errs.note("CIDR %s (vpc_cidr) overlaps %s (reserved_cidrs.%s)" % (vpc, rnet, rname))
    svc = estate.get("service_cidr")
    if svc is not None:
        snet = network(errs, "service_cidr", svc)
        if snet is not None and vpc is not None and snet.version == vpc.version and snet.overlaps(vpc):
            errs.note("CIDR %s (service_cidr) overlaps %s (vpc_cidr)" % (snet, vpc))

    # endpoint
    for key in ("endpoint_private_access", "endpoint_public_access"):
        if not isinstance(estate.get(key, False), bool):
            errs.add(key, estate.get(key), "a boolean")
    if not estate.get("endpoint_private_access") and not estate.get("endpoint_public_access", True):
        errs.note("field 'endpoint_public_access': the cluster endpoint needs private or public access, got "
                  "both false")
    for i, c in enumerate(estate.get("public_access_cidrs") or []):
        network(errs, "public_access_cidrs[%d]" % i, c)
    for i, t in enumerate(estate.get("logging") or []):
        if t not in EKS_LOG_TYPES:
            errs.add("logging[%d]" % i, t, "one of %s" % ", ".join(EKS_LOG_TYPES))

    # node groups
    groups = estate.get("nodegroups") or []
    seen: set[str] = set()
    if not isinstance(groups, list) or not groups:
        errs.add("nodegroups", groups, "a non-empty list of managed node groups")
        groups = []
    for i, ng in enumerate(groups):
        field = "nodegroups[%d]" % i
        if not isinstance(ng, dict):
            errs.add(field, ng, "a mapping")
            continue
        check_name(errs, field + ".name", ng.get("name"))
        if ng.get("name") in seen:
            errs.add(field + ".name", ng.get("name"), "a node group name used once")
        seen.add(ng.get("name"))
        if ng.get("workload_class") not in WORKLOAD_CLASSES:
            errs.add(field + ".workload_class", ng.get("workload_class"), "one of %s" % ", ".join(WORKLOAD_CLASSES))
        types = ng.get("instance_types")
        if not isinstance(types, list) or not types:
            errs.add(field + ".instance_types", types, "a non-empty list of EC2 instance types")
            types = []
        for j, t in enumerate(types):
            why = instance_type_problem(t, offered_instance_types)
            if why:
                errs.add("%s.instance_types[%d]" % (field, j), t, why)
        if ng.get("capacity_type", "ON_DEMAND") not in CAPACITY_TYPES:
            errs.add(field + ".capacity_type", ng.get("capacity_type"), "one of %s" % ", ".join(CAPACITY_TYPES))
        sizes = {k: ng.get(k) for k in ("min_size", "desired_size", "max_size")}
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in sizes.values()):
            errs.add(field, sizes, "integer min_size, desired_size and max_size >= 0")
        elif not sizes["min_size"] <= sizes["desired_size"] <= sizes["max_size"] or sizes["max_size"] < 1:
            errs.add(field, sizes, "min_size <= desired_size <= max_size and max_size >= 1")
    classes = {ng.get("workload_class") for ng in groups if isinstance(ng, dict)}
    missing = [c for c in WORKLOAD_CLASSES if c not in classes]
    if groups and missing:
        errs.add("nodegroups", sorted(seen, key=str), "a node group for every workload class (missing %s)"
                 % ", ".join(missing))

    # buckets and secrets
    buckets = estate.get("buckets") or {}
    bucket_names: set[str] = set()
    for purpose, b in sorted(buckets.items()) if isinstance(buckets, dict) else []:
        field = "buckets.%s" % purpose
        bname = (b or {}).get("name") if isinstance(b, dict) else None
        why = bucket_problem(bname)
        if why:
            errs.add(field + ".name", bname, why)
        elif bname in bucket_names:
            errs.add(field + ".name", bname, "a bucket name used once")
        bucket_names.add(bname)
        for j, rule in enumerate((b or {}).get("lifecycle") or []):
            days = [rule.get(k) for k in ("expiration_days", "noncurrent_version_expiration_days",
                                          "transition_days") if rule.get(k) is not None]
            if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in days):
                errs.add("%s.lifecycle[%d]" % (field, j), rule, "positive integer day counts")
    for i, sec in enumerate(estate.get("secrets") or []):
        sname = sec.get("name") if isinstance(sec, dict) else None
        if not isinstance(sname, str) or not re.match(r"^[A-Za-z0-9/_+=.@-]{1,512}$", sname):
            errs.add("secrets[%d].name" % i, sname, "a Secrets Manager name (letters, digits, /_+=.@-)")

    errs.raise_if_any("EKS estate %r" % (name,))
    public = estate.get("public_subnets") or [None] * len(zones)
    private = estate.get("private_subnets") or []
    return {"name": name, "region": region, "zones": list(zones),
            "subnets": [{"zone": zones[i], "private": private[i], "public": public[i]} for i in range(len(zones))],
            "nodegroups": [ng["name"] for ng in groups], "buckets": sorted(bucket_names)}
