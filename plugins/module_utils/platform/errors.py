# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception type of the platform core (turned into ``fail_json``/``AnsibleError`` at the edge)."""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type


class PlatformError(ValueError):
    """Invalid platform input (estate, cluster, tenant registry); the message names the field and value.

    ``errors`` holds every problem found (the message is the first, or a summary of all).
    """

    def __init__(self, msg: str, errors: list[str] | None = None) -> None:
        super().__init__(msg)
        self.errors = list(errors or [msg])
