# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release governance core: risk classes, business calendars, signed approvals and the gate.

``calendar`` (freeze windows and release windows), ``risk`` (classification rules),
``approvals`` (signed approval files), ``gate`` (the decision), ``notes`` (release notes).
Every bad input raises :class:`~.errors.PolicyError`; callers turn it into a *denied* decision.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
