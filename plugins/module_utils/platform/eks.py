# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the AWS collections lack for EKS, over boto3 clients passed in (no AnsibleModule here).

* endpoint access and control-plane logging of an existing cluster (community.aws ``eks_cluster``
  creates clusters but cannot set ``endpointPrivateAccess``/``endpointPublicAccess``/``publicAccessCidrs``
  nor logging);
* managed add-ons (no module in amazon.aws or community.aws);
* the IAM OIDC identity provider for IAM roles for service accounts (no module either).

Every function takes ``check_mode`` explicitly, returns ``(changed, before, after)``-style results
and raises :class:`PlatformError` with the AWS error message.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import time
from typing import Any

from ansible_collections.erpops.odoo.plugins.module_utils.platform.errors import PlatformError

# The root CA of the EKS OIDC issuers (IAM ignores thumbprints for these well-known providers today, but the
# API and older partitions still want one).
EKS_OIDC_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"


def _aws_error(exc: Exception) -> str:
    resp = getattr(exc, "response", None) or {}
    err = resp.get("Error") or {}
    return "%s: %s" % (err.get("Code", type(exc).__name__), err.get("Message", str(exc)))


def describe_cluster(eks: Any, name: str) -> dict[str, Any]:
    try:
        return eks.describe_cluster(name=name)["cluster"]
    except Exception as exc:  # noqa: BLE001 - botocore raises ClientError/BotoCoreError subclasses
        raise PlatformError("EKS cluster %r: cannot describe it (%s)" % (name, _aws_error(exc)))


def wait_active(eks: Any, name: str, timeout: float, interval: float = 10.0) -> dict[str, Any]:
    """Wait until the cluster leaves UPDATING/CREATING (EKS accepts one update at a time)."""
    deadline = time.monotonic() + timeout
    while True:
        cluster = describe_cluster(eks, name)
        if cluster.get("status") == "ACTIVE":
            return cluster
        if cluster.get("status") in ("FAILED", "DELETING") or time.monotonic() > deadline:
            raise PlatformError("EKS cluster %r is %s (waited %ds for ACTIVE)" % (name, cluster.get("status"), timeout))
        time.sleep(interval)


# ---------------------------------------------------------------------------- endpoint access and logging
def endpoint_state(cluster: dict[str, Any]) -> dict[str, Any]:
    """The endpoint settings of a described cluster, with EKS defaults filled in."""
    vpc = cluster.get("resourcesVpcConfig") or {}
    cidrs = vpc.get("publicAccessCidrs")
    public = vpc.get("endpointPublicAccess", True)
    return {"private": bool(vpc.get("endpointPrivateAccess", False)), "public": bool(public),
            "public_cidrs": sorted(cidrs) if cidrs else (["0.0.0.0/0"] if public else [])}


def logging_state(cluster: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for entry in (cluster.get("logging") or {}).get("clusterLogging") or []:
        if entry.get("enabled"):
            out += entry.get("types") or []
    return sorted(out)


def configure_cluster(eks: Any, name: str, *, private: bool, public: bool, public_cidrs: list[str] | None,
                      log_types: list[str] | None, check_mode: bool, timeout: float = 1200) -> dict[str, Any]:
    """Set endpoint access and logging; returns ``{changed, before, after, cluster}``."""
    if not private and not public:
        raise PlatformError("EKS cluster %r: endpoint needs private or public access (both false)" % name)
    cluster = describe_cluster(eks, name)
    before = {"endpoint": endpoint_state(cluster), "logging": logging_state(cluster)}
    want_ep = {"private": private, "public": public,
               "public_cidrs": sorted(public_cidrs) if (public and public_cidrs) else (["0.0.0.0/0"] if public else [])}
    want_logs = sorted(log_types) if log_types is not None else before["logging"]
    after = {"endpoint": want_ep, "logging": want_logs}
    changed = after != before
    if changed and not check_mode:
        if want_ep != before["endpoint"]:
            vpc = cluster.get("resourcesVpcConfig") or {}
            cfg: dict[str, Any] = {"endpointPrivateAccess": private, "endpointPublicAccess": public}
            if public:
                cfg["publicAccessCidrs"] = want_ep["public_cidrs"]
            # Some implementations replace the whole VPC config on update: send the subnets and groups along.
            for key in ("subnetIds", "securityGroupIds"):
                if vpc.get(key):
                    cfg[key] = vpc[key]
            _update(eks, name, {"resourcesVpcConfig": cfg})
            cluster = wait_active(eks, name, timeout)
        if want_logs != before["logging"]:
            off = sorted(set(before["logging"]) - set(want_logs))
            entries = [{"types": want_logs, "enabled": True}] if want_logs else []
            if off:
                entries.append({"types": off, "enabled": False})
            _update(eks, name, {"logging": {"clusterLogging": entries}})
            cluster = wait_active(eks, name, timeout)
    return {"changed": changed, "before": before, "after": after, "cluster": cluster}


def _update(eks: Any, name: str, kwargs: dict[str, Any]) -> None:
    try:
        eks.update_cluster_config(name=name, **kwargs)
    except Exception as exc:  # noqa: BLE001
        raise PlatformError("EKS cluster %r: update_cluster_config %s failed (%s)" % (name, sorted(kwargs),
                                                                                      _aws_error(exc)))


# ---------------------------------------------------------------------------- node group rolling updates
def ensure_nodegroup_update_config(eks: Any, name: str, update_config: dict[str, int],
                                   check_mode: bool) -> list[dict[str, Any]]:
    """Give every managed node group of the cluster the same rolling-update policy (``updateConfig``).

    EKS reports ``updateConfig`` for every node group; moto drops it on creation, after which
    community.aws ``eks_nodegroup`` fails on re-runs (KeyError 'updateConfig'): setting it here heals both.
    """
    try:
        groups = eks.list_nodegroups(clusterName=name).get("nodegroups", [])
    except Exception as exc:  # noqa: BLE001
        raise PlatformError("EKS cluster %r: cannot list node groups (%s)" % (name, _aws_error(exc)))
    out = []
    for ng in sorted(groups):
        try:
            cur = eks.describe_nodegroup(clusterName=name, nodegroupName=ng)["nodegroup"].get("updateConfig") or {}
            action = "unchanged"
            if {k: v for k, v in cur.items() if v is not None} != update_config:
                action = "update"
                if not check_mode:
                    eks.update_nodegroup_config(clusterName=name, nodegroupName=ng, updateConfig=dict(update_config))
        except Exception as exc:  # noqa: BLE001
            raise PlatformError("EKS cluster %r: cannot set the update policy of node group %r (%s)"
                                % (name, ng, _aws_error(exc)))
        out.append({"name": ng, "action": action, "update_config": dict(update_config)})
    return out


# ---------------------------------------------------------------------------- add-ons
def ensure_addons(eks: Any, name: str, addons: list[dict[str, Any]], check_mode: bool) -> list[dict[str, Any]]:
    """Create or update managed add-ons ``[{name, version, service_account_role_arn}]``; one result per add-on."""
    out = []
    for addon in addons:
        aname = addon["name"]
        try:
            cur = eks.describe_addon(clusterName=name, addonName=aname)["addon"]
        except Exception as exc:  # noqa: BLE001
            code = ((getattr(exc, "response", None) or {}).get("Error") or {}).get("Code")
            if code != "ResourceNotFoundException":
                raise PlatformError("EKS cluster %r: cannot describe add-on %r (%s)" % (name, aname, _aws_error(exc)))
            cur = None
        want: dict[str, Any] = {"clusterName": name, "addonName": aname, "resolveConflicts": "OVERWRITE"}
        if addon.get("version"):
            want["addonVersion"] = addon["version"]
        if addon.get("service_account_role_arn"):
            want["serviceAccountRoleArn"] = addon["service_account_role_arn"]
        if cur is None:
            action = "create"
        elif ((addon.get("version") and cur.get("addonVersion") != addon["version"])
              or (addon.get("service_account_role_arn")
                  and cur.get("serviceAccountRoleArn") != addon["service_account_role_arn"])):
            action = "update"
        else:
            action = "unchanged"
        if action != "unchanged" and not check_mode:
            try:
                if action == "create":
                    eks.create_addon(**want)
                else:
                    eks.update_addon(**want)
            except Exception as exc:  # noqa: BLE001
                raise PlatformError("EKS cluster %r: %s of add-on %r failed (%s)" % (name, action, aname,
                                                                                     _aws_error(exc)))
        out.append({"name": aname, "action": action,
                    "version": addon.get("version") or (cur or {}).get("addonVersion")})
    return out


# ---------------------------------------------------------------------------- OIDC provider
def oidc_provider(eks: Any, iam: Any, name: str, *, client_ids: list[str], thumbprints: list[str],
                  tags: dict[str, str], check_mode: bool) -> dict[str, Any]:
    """Make sure an IAM OIDC provider exists for the cluster's issuer; returns ``{changed, arn, issuer, action}``."""
    cluster = describe_cluster(eks, name)
    issuer = ((cluster.get("identity") or {}).get("oidc") or {}).get("issuer")
    if not issuer:
        raise PlatformError("EKS cluster %r has no OIDC issuer (identity.oidc.issuer is empty)" % name)
    url = issuer.replace("https://", "", 1)
    try:
        arns = [p["Arn"] for p in iam.list_open_id_connect_providers().get("OpenIDConnectProviderList", [])]
        found = None
        for arn in arns:
            if arn.endswith("oidc-provider/" + url):
                found = (arn, iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn))
                break
    except Exception as exc:  # noqa: BLE001
        raise PlatformError("IAM: cannot list OIDC providers (%s)" % _aws_error(exc))
    result: dict[str, Any] = {"issuer": issuer, "changed": False, "arn": found[0] if found else None}
    if found is None:
        result.update(changed=True, action="create")
        if not check_mode:
            try:
                resp = iam.create_open_id_connect_provider(
                    Url=issuer, ClientIDList=list(client_ids), ThumbprintList=list(thumbprints),
                    Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())])
            except Exception as exc:  # noqa: BLE001
                raise PlatformError("IAM: cannot create the OIDC provider for %s (%s)" % (issuer, _aws_error(exc)))
            result["arn"] = resp["OpenIDConnectProviderArn"]
        return result
    arn, cur = found
    actions = []
    missing = sorted(set(client_ids) - set(cur.get("ClientIDList") or []))
    extra = sorted(set(cur.get("ClientIDList") or []) - set(client_ids))
    if missing or extra:
        actions.append("client_ids")
    if sorted(cur.get("ThumbprintList") or []) != sorted(thumbprints):
        actions.append("thumbprints")
    result.update(changed=bool(actions), action="update" if actions else "unchanged", updated=actions)
    if actions and not check_mode:
        try:
            for cid in missing:
                iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID=cid)
            for cid in extra:
                iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID=cid)
            if "thumbprints" in actions:
                iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn,
                                                               ThumbprintList=list(thumbprints))
        except Exception as exc:  # noqa: BLE001
            raise PlatformError("IAM: cannot update OIDC provider %s (%s)" % (arn, _aws_error(exc)))
    return result
