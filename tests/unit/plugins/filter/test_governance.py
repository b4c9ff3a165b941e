"""Unit tests of the in_freeze_window, next_release_window and risk_class filters."""

from __future__ import annotations

import datetime as dt

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.erpops.odoo.plugins.filter.governance import FilterModule

FILTERS = FilterModule().filters()
CAL = {
    "timezone": "America/New_York",
    "holidays": ["2025-07-04"],
    "payroll": [{"name": "semi-monthly", "days": [15, -1], "adjust": "previous", "freeze_days_before": 1}],
    "release_windows": [{"days": ["tue", "wed", "thu"], "start": "21:00", "end": "01:00"}],
}


def test_all_filters_are_registered() -> None:
    assert sorted(FILTERS) == ["in_freeze_window", "next_release_window", "risk_class"]


@pytest.mark.parametrize(("when", "kinds"), [
    ("2025-07-04T12:00:00-04:00", ["holiday"]),
    ("2025-07-14T09:00", ["payroll"]),  # naive = calendar-local; 15th is a Tuesday, freeze from Monday
    (dt.datetime(2025, 7, 16, 3, 59, tzinfo=dt.UTC), ["payroll"]),  # 23:59 EDT on the 15th
    ("2025-07-16T04:00:00Z", []),
    ("2025-07-09T12:00:00-04:00", []),
])
def test_in_freeze_window(when: object, kinds: list[str]) -> None:
    assert [f["kind"] for f in FILTERS["in_freeze_window"](when, CAL)] == kinds


def test_in_freeze_window_accepts_now() -> None:
    assert isinstance(FILTERS["in_freeze_window"]("now", CAL), list)


@pytest.mark.parametrize(("after", "duration", "start"), [
    ("2025-07-07T12:00:00-04:00", 60, "2025-07-08T21:00:00-04:00"),
    ("2025-07-08T23:30:00-04:00", "90m", "2025-07-08T23:30:00-04:00"),
    ("2025-07-08T23:31:00-04:00", "90m", "2025-07-09T21:00:00-04:00"),
    ("2025-07-14T00:00:00-04:00", "2h", "2025-07-16T21:00:00-04:00"),  # Mon/Tue payroll freeze
])
def test_next_release_window(after: str, duration: object, start: str) -> None:
    got = FILTERS["next_release_window"](after, CAL, duration=duration)
    assert got["start"] == start
    assert got["timezone"] == "America/New_York"


@pytest.mark.parametrize(("change", "kwargs", "expected"), [
    ({"id": "C", "kinds": ["db_migration"], "environment": "production", "author": "a"}, {}, "high"),
    ({"id": "C", "kinds": ["image"], "environment": "dev", "author": "a"}, {}, "low"),
    ({"id": "C", "kinds": ["image"], "environment": "dev", "author": "a"}, {"base": "medium"}, "medium"),
    ({"id": "C", "kinds": ["image"], "environment": "dev", "author": "a"},
     {"rules": [{"name": "all", "when": {}, "at_least": "critical"}]}, "critical"),
])
def test_risk_class(change: dict, kwargs: dict, expected: str) -> None:
    assert FILTERS["risk_class"](change, **kwargs) == expected


def test_risk_class_details() -> None:
    got = FILTERS["risk_class"]({"id": "C", "kinds": ["credentials"], "environment": "production", "author": "a"},
                                details=True)
    assert got == {"risk_class": "medium", "reasons": [
        "base class low", "rule 'production-credentials' (at least medium): low -> medium"]}


@pytest.mark.parametrize(("name", "args", "match"), [
    ("in_freeze_window", ("2025-01-01T00:00:00Z", {"timezone": "Nowhere/City"}),
     r"in_freeze_window: calendar 'calendar\[0\]'\.timezone: unknown time zone 'Nowhere/City'"),
    ("in_freeze_window", ("yesterday", CAL), r"when: expected an ISO 8601 date-time"),
    ("next_release_window", ("2025-01-01T00:00:00Z", CAL, "forever"), r"duration: expected a duration"),
    ("next_release_window", ("2025-01-01T00:00:00Z", [], 60), r"calendars: expected a calendar mapping"),
    ("risk_class", ({"id": "C", "kinds": ["magic"], "environment": "p", "author": "a"},),
     r"risk_class: change\.kinds\[0\]: expected one of"),
])
def test_errors_become_filter_errors(name: str, args: tuple, match: str) -> None:
    with pytest.raises(AnsibleFilterError, match=match):
        FILTERS[name](*args)
