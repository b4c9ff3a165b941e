# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the Patroni REST API options (mirrors API_OPTIONS in module_utils/patroni/args.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - Patroni REST API base URLs of one or more members; reads go to the first that answers.
      - Run the module on a cluster node (the default is that node's own API) or list URLs reachable from
        where the module runs.
    type: list
    elements: str
    default: [http://127.0.0.1:8008]
  member_api_urls:
    description:
      - Member name to REST base URL, for members whose advertised C(api_url) is not reachable from where the
        module runs (for example through forwarded ports). Members not listed use their advertised URL.
    type: dict
    default: {}
  api_username:
    description: REST API user (Patroni C(restapi.authentication)); defaults to C(PATRONI_RESTAPI_USERNAME).
    type: str
  api_password:
    description: REST API password; defaults to C(PATRONI_RESTAPI_PASSWORD).
    type: str
  validate_certs:
    description: Verify the REST API's TLS certificate (HTTPS URLs only).
    type: bool
    default: true
  ca_path:
    description: CA bundle for an HTTPS REST API.
    type: path
  api_timeout:
    description: Seconds to wait for each REST call.
    type: float
    default: 5.0
"""
