# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs of patroni_info and patroni_switchover.

``API_OPTIONS`` is documented by the ``erpops.odoo.patroni_api`` doc fragment; keep the two in step.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

from typing import Any

from ansible.module_utils.basic import env_fallback

from ansible_collections.erpops.odoo.plugins.module_utils.patroni.client import PatroniClient

API_OPTIONS: dict[str, dict[str, Any]] = {
    "api_url": {"type": "list", "elements": "str", "default": ["http://127.0.0.1:8008"]},
    "member_api_urls": {"type": "dict", "default": {}},
    "api_username": {"type": "str", "fallback": (env_fallback, ["PATRONI_RESTAPI_USERNAME"])},
    "api_password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["PATRONI_RESTAPI_PASSWORD"])},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "api_timeout": {"type": "float", "default": 5.0},
}


def info_argument_spec() -> dict[str, Any]:
    return dict(API_OPTIONS)


def switchover_argument_spec() -> dict[str, Any]:
    spec = dict(API_OPTIONS)
    spec.update(
        candidate={"type": "str"},
        max_lag_bytes={"type": "int", "default": 1048576},
        wait_timeout={"type": "float", "default": 60.0},
    )
    return spec


def client_from(params: dict[str, Any]) -> PatroniClient:
    return PatroniClient(params["api_url"], username=params.get("api_username"),
                         password=params.get("api_password"), timeout=params["api_timeout"],
                         validate_certs=params["validate_certs"], ca_path=params.get("ca_path"))
