# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``erpops.odoo.odoo_fleet_check`` filter (documentation in odoo_fleet_check.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.spec import SpecError, check_fleet


def odoo_fleet_check(specs):
    if not isinstance(specs, list):
        raise AnsibleFilterError("odoo_fleet_check expects a list of instance specs, got %s" % type(specs).__name__)
    try:
        normalized = check_fleet(specs)
    except SpecError as exc:
        raise AnsibleFilterError(str(exc))
    return [{"tenant": s["tenant"], "instance": s["instance"], "namespace": s["namespace"],
             "hostnames": s["hostnames"]} for s in normalized]


class FilterModule(object):
    def filters(self):
        return {"odoo_fleet_check": odoo_fleet_check}
