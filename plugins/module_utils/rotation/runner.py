# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs and the glue from module parameters to a target, a store and :func:`core.rotate`.

The specs here are shared by ``credential_rotate`` and ``credential_inventory`` and mirrored by the doc
fragment ``erpops.odoo.rotation``.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import os

from ansible_collections.erpops.odoo.plugins.module_utils.rotation import core
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.password import PasswordPolicy, generate_password

BACKENDS = ("postgresql", "redis", "odoo_master", "api_key")
STORE_TYPES = ("secretsmanager", "kubernetes")

STORE_OPTIONS = {
    "type": {"type": "str", "required": True, "choices": list(STORE_TYPES)},
    "secret_id": {"type": "str"},
    "region": {"type": "str"},
    "endpoint_url": {"type": "str"},
    "kms_key_id": {"type": "str"},
    "namespace": {"type": "str"},
    "name": {"type": "str"},
    "kubeconfig": {"type": "path"},
    "context": {"type": "str"},
    # a map of field name -> Secret key name, not a secret itself
    "keys": {"type": "dict", "no_log": False},
    "restart_deployments": {"type": "list", "elements": "str", "default": []},
    "rollout_timeout": {"type": "int", "default": 300},
}

POLICY_OPTIONS = {
    "length": {"type": "int"},
    "use_lower": {"type": "bool"},
    "use_upper": {"type": "bool"},
    "use_digits": {"type": "bool"},
    "use_symbols": {"type": "bool"},
    "min_lower": {"type": "int"},
    "min_upper": {"type": "int"},
    "min_digits": {"type": "int"},
    "min_symbols": {"type": "int"},
    "symbols": {"type": "str"},
    "exclude": {"type": "str"},
}

POSTGRESQL_OPTIONS = {
    "host": {"type": "str", "default": "localhost"},
    "port": {"type": "int", "default": 5432},
    "db": {"type": "str", "default": "postgres"},
    "user_prefix": {"type": "str", "required": True},
    "owner_role": {"type": "str"},
    "admin_user": {"type": "str"},
    "admin_password": {"type": "str", "no_log": True},
    "admin_db": {"type": "str", "default": "postgres"},
    "sslmode": {"type": "str", "choices": ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]},
    "connect_timeout": {"type": "int", "default": 10},
}

REDIS_OPTIONS = {
    "host": {"type": "str", "default": "localhost"},
    "port": {"type": "int", "default": 6379},
    "username": {"type": "str", "required": True},
    "admin_username": {"type": "str", "default": "default"},
    "admin_password": {"type": "str", "no_log": True},
    "tls": {"type": "bool", "default": False},
    "acl_rules": {"type": "str", "default": "~* &* +@all"},
    "grace_seconds": {"type": "float", "default": 2.0},
}

ODOO_MASTER_OPTIONS = {
    "rounds": {"type": "int", "default": 600000},
    "vault": {"type": "dict", "options": STORE_OPTIONS},
}

API_KEY_OPTIONS = {
    "key_name": {"type": "str", "default": "api_key", "no_log": False},
    "attributes": {"type": "dict", "default": {}},
}


def rotate_argument_spec() -> dict:
    return {
        "integration": {"type": "str", "required": True},
        "backend": {"type": "str", "required": True, "choices": list(BACKENDS)},
        "store": {"type": "dict", "required": True, "options": STORE_OPTIONS},
        "postgresql": {"type": "dict", "options": POSTGRESQL_OPTIONS},
        "redis": {"type": "dict", "options": REDIS_OPTIONS},
        "odoo_master": {"type": "dict", "options": ODOO_MASTER_OPTIONS},
        # options of the api_key backend (key field name, attributes); the key itself is never a parameter
        "api_key": {"type": "dict", "options": API_KEY_OPTIONS, "no_log": False},
        "password_policy": {"type": "dict", "options": POLICY_OPTIONS, "no_log": False},
        "force": {"type": "bool", "default": False},
        "rotation_period_days": {"type": "int"},
    }


def build_store(params: dict, what: str = "store") -> core.Store:
    kind = params.get("type")
    if kind == "secretsmanager":
        from ansible_collections.erpops.odoo.plugins.module_utils.rotation import secrets_manager  # noqa: PLC0415

        if not params.get("secret_id"):
            raise core.RotationError("%s: secret_id is required for type secretsmanager" % what)
        sm = secrets_manager.client(endpoint_url=params.get("endpoint_url"), region=params.get("region"))
        return secrets_manager.SecretsManagerStore(params["secret_id"], sm, kms_key_id=params.get("kms_key_id"))
    if kind == "kubernetes":
        from ansible_collections.erpops.odoo.plugins.module_utils.rotation import kubernetes  # noqa: PLC0415

        missing = [k for k in ("namespace", "name") if not params.get(k)]
        if missing:
            raise core.RotationError("%s: %s required for type kubernetes" % (what, " and ".join(missing)))
        api = kubernetes.api_client(params.get("kubeconfig") or os.environ.get("KUBECONFIG"), params.get("context"))
        return kubernetes.KubernetesSecretStore(api, params["namespace"], params["name"], keys=params.get("keys"),
                                                restart_deployments=params.get("restart_deployments"),
                                                rollout_timeout=params.get("rollout_timeout") or 300)
    raise core.RotationError("%s: unknown store type %r (expected one of %s)" % (what, kind, ", ".join(STORE_TYPES)))


def build_target(backend: str, params: dict, policy: PasswordPolicy) -> core.Target:
    sub = params.get(backend)
    if backend in ("postgresql", "redis") and not sub:
        raise core.RotationError("backend %s needs the %s options (target and admin credentials)" % (backend, backend))
    sub = sub or {}
    if backend == "postgresql":
        from ansible_collections.erpops.odoo.plugins.module_utils.rotation.postgres import (  # noqa: PLC0415
            PostgresAlternatingUsers,
        )

        return PostgresAlternatingUsers(sub["user_prefix"], sub.get("host") or "localhost",
                                        port=sub.get("port") or 5432,
                                        db=sub.get("db") or "postgres", owner_role=sub.get("owner_role"),
                                        admin_user=sub.get("admin_user"), admin_password=sub.get("admin_password"),
                                        admin_db=sub.get("admin_db") or "postgres", sslmode=sub.get("sslmode"),
                                        connect_timeout=sub.get("connect_timeout") or 10)
    if backend == "redis":
        from ansible_collections.erpops.odoo.plugins.module_utils.rotation.redis_acl import (  # noqa: PLC0415
            RedisAclTarget,
        )

        return RedisAclTarget(sub["username"], sub.get("host") or "localhost", port=sub.get("port") or 6379,
                              admin_username=sub.get("admin_username") or "default",
                              admin_password=sub.get("admin_password"), tls=bool(sub.get("tls")),
                              acl_rules=sub.get("acl_rules") or "~* &* +@all",
                              grace_seconds=2.0 if sub.get("grace_seconds") is None else sub["grace_seconds"])
    from ansible_collections.erpops.odoo.plugins.module_utils.rotation import secret_targets  # noqa: PLC0415

    if backend == "odoo_master":
        vault = build_store(sub["vault"], "odoo_master.vault") if sub.get("vault") else None
        return secret_targets.OdooMasterPassword(rounds=sub.get("rounds") or 600000, vault=vault)
    if backend == "api_key":
        return secret_targets.ApiKey(key_name=sub.get("key_name") or "api_key", attributes=sub.get("attributes"),
                                     policy=policy)
    raise core.RotationError("unknown backend %r (expected one of %s)" % (backend, ", ".join(BACKENDS)))


def run(params: dict, check_mode: bool) -> dict:
    """Rotate per module ``params``; returns the result dict (no secret values). Raises RotationError."""
    policy = PasswordPolicy.from_params(params.get("password_policy"))
    target = build_target(params["backend"], params, policy)
    store = build_store(params["store"])
    before = None
    if not check_mode:
        before = store.read_current()
    result = core.rotate(params["integration"], target, store, lambda: generate_password(policy),
                         check_mode=check_mode, force=bool(params.get("force")),
                         period_days=params.get("rotation_period_days"))
    out = result.as_dict()
    shown_before = {"version": before.version, "user": before.value.get("username"),
                    "rotated_at": core.isoformat(before.rotated_at)} if before is not None else {}
    out["diff"] = {"before": shown_before,
                   "after": {"version": out["current_version"], "user": out["current_user"],
                             "rotated_at": out["rotated_at"]}} if out["changed"] and not check_mode else {}
    return out
