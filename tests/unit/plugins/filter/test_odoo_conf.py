"""Unit tests of the erpops.odoo.odoo_conf filter plugin."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.erpops.odoo.plugins.filter.odoo_conf import FilterModule


def test_filter_is_registered_and_renders() -> None:
    f = FilterModule().filters()["odoo_conf"]
    assert f({"workers": 2}) == "[options]\nworkers = 2\n"


def test_filter_turns_errors_into_filter_errors() -> None:
    f = FilterModule().filters()["odoo_conf"]
    with pytest.raises(AnsibleFilterError, match=r"unknown odoo\.conf option 'wokers'"):
        f({"wokers": 2})
