# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``erpops.odoo.odoo_conf`` filter (documentation in odoo_conf.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.erpops.odoo.plugins.module_utils.odoo_conf import OdooConfError, render


def odoo_conf(options, allow_secrets=False, extra_sections=None):
    try:
        return render(options, allow_secrets=allow_secrets, extra_sections=extra_sections)
    except OdooConfError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"odoo_conf": odoo_conf}
