# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception of the Patroni area, turned into ``fail_json`` by the modules."""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

from typing import Any


class PatroniError(Exception):
    """A Patroni operation failed or was refused; ``details`` go into the module result."""

    def __init__(self, msg: str, kind: str = "error", **details: Any) -> None:
        super().__init__(msg)
        self.kind = kind
        self.details = details
