# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release-governance filters: ``in_freeze_window``, ``next_release_window``, ``risk_class``.

Documentation: in_freeze_window.yml, next_release_window.yml, risk_class.yml (one per filter).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible.errors import AnsibleFilterError
from ansible_collections.erpops.odoo.plugins.module_utils.policy import calendar as _cal
from ansible_collections.erpops.odoo.plugins.module_utils.policy import risk as _risk
from ansible_collections.erpops.odoo.plugins.module_utils.policy.errors import PolicyError


def _when(value):
    if isinstance(value, str) and value.strip().lower() == "now":
        return datetime.datetime.now(_cal.UTC)
    return value


def in_freeze_window(when, calendar):
    """Freezes active at ``when`` in ``calendar`` (a calendar mapping or a list of them)."""
    try:
        return _cal.in_freeze_window(_when(when), calendar)
    except PolicyError as exc:
        raise AnsibleFilterError("in_freeze_window: %s" % exc)


def next_release_window(after, calendar, duration=60, horizon_days=400):
    """The earliest allowed release window of ``duration`` at or after ``after``."""
    try:
        return _cal.next_release_window(_when(after), calendar, duration, horizon_days)
    except PolicyError as exc:
        raise AnsibleFilterError("next_release_window: %s" % exc)


def risk_class(change, rules=None, base="low", details=False):
    """The risk class of ``change`` (or ``{risk_class, reasons}`` with ``details=true``)."""
    try:
        result = _risk.classify(change, rules, base)
    except PolicyError as exc:
        raise AnsibleFilterError("risk_class: %s" % exc)
    return result.as_dict() if details else result.risk_class


class FilterModule(object):
    def filters(self):
        return {
            "in_freeze_window": in_freeze_window,
            "next_release_window": next_release_window,
            "risk_class": risk_class,
        }
