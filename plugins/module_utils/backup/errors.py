# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception of the backup area; modules turn it into ``fail_json``."""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type


class BackupError(Exception):
    """A backup, restore or prune step failed.

    ``kind`` is a short machine-readable class of failure (``database_unreachable``, ``storage``,
    ``checksum``, ``target_exists``, ``validation``, ``dump``, ``restore``, ``input``, ``locked``).
    ``details`` carries structured context for the module result.
    """

    def __init__(self, message: str, kind: str = "error", details: dict | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.details = details or {}
