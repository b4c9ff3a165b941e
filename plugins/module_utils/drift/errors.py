# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception of the drift core (turned into ``fail_json`` by ``drift_check``)."""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

from typing import Any


class DriftError(Exception):
    """Invalid drift input or a source that cannot be read; ``details`` carries structured context."""

    def __init__(self, msg: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(msg)
        self.details = details or {}
