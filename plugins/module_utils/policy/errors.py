# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception of the release-governance core."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class PolicyError(ValueError):
    """Invalid governance input (policy, calendar, change, approval); the message names field and value.

    The gate treats it as a denial: it fails *closed*.
    """


def fail(field, value, expected):
    """Raise a :class:`PolicyError` naming ``field``, what was expected and the ``value`` received."""
    raise PolicyError("%s: expected %s, got %r" % (field, expected, value))
