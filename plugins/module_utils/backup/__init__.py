# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup, restore and retention core for Odoo databases and filestores (see docs/runbooks/backup.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
