"""Shared pytest setup: make ``ansible_collections.erpops.odoo`` importable from this checkout."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_COLLECTIONS = REPO / "build" / "collections"
_LINK = _COLLECTIONS / "ansible_collections" / "erpops" / "odoo"
if not _LINK.exists():
    _LINK.parent.mkdir(parents=True, exist_ok=True)
    _LINK.symlink_to(REPO)
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))
