"""GFS retention (plugins/module_utils/backup/retention.py) on synthetic calendars."""

from __future__ import annotations

import datetime as dt

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.backup import retention as rt
from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError
from ansible_collections.erpops.odoo.plugins.module_utils.backup.storage import BackupEntry
from hypothesis import given, settings
from hypothesis import strategies as st

UTC = dt.UTC


def at(day: str, hour: int = 2) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def daily(start: str, end: str, hour: int = 2) -> list[tuple[str, dt.datetime]]:
    d, last, out = dt.date.fromisoformat(start), dt.date.fromisoformat(end), []
    while d <= last:
        out.append((d.isoformat() + "@%02d" % hour, at(d.isoformat(), hour)))
        d += dt.timedelta(days=1)
    return out


def test_calendar_facts() -> None:
    assert dt.date(2026, 12, 3).isoweekday() == 4  # a Thursday: week 49 runs Mon 11-30 .. Sun 12-06


@pytest.mark.parametrize(("policy", "calendar", "expected"), [
    pytest.param(rt.Policy(daily=3, weekly=2, monthly=3, keep_last=1), daily("2026-09-01", "2026-12-03"),
                 {"2026-12-03@02", "2026-12-02@02", "2026-12-01@02",  # daily
                  "2026-11-29@02",                                   # weekly: newest of week 48
                  "2026-11-30@02", "2026-10-31@02"},                 # monthly: Nov, Oct (Dec = 12-03)
                 id="3d-2w-3m"),
    pytest.param(rt.Policy(daily=7, weekly=4, monthly=12, keep_last=1), daily("2026-01-01", "2026-12-03"),
                 {"2026-12-%02d@02" % d for d in range(1, 4)} | {"2026-11-%02d@02" % d for d in (27, 28, 29, 30)}
                 | {"2026-11-22@02", "2026-11-15@02"}
                 | {"2026-%02d-%02d@02" % (m, d) for m, d in ((10, 31), (9, 30), (8, 31), (7, 31), (6, 30),
                                                               (5, 31), (4, 30), (3, 31), (2, 28), (1, 31))},
                 id="odoo-sh-like-7d-4w-12m"),
    pytest.param(rt.Policy(daily=2, weekly=0, monthly=0, keep_last=0),
                 [("a", at("2026-12-03", 1)), ("b", at("2026-12-03", 23)), ("c", at("2026-12-01")),
                  ("d", at("2026-11-20"))],
                 {"b", "c"}, id="newest-of-each-day-with-gaps"),
    pytest.param(rt.Policy(daily=0, weekly=0, monthly=0, keep_last=0), daily("2026-11-01", "2026-11-10"),
                 {"2026-11-10@02"}, id="zero-policy-still-keeps-newest"),
    pytest.param(rt.Policy(daily=1, weekly=0, monthly=0, keep_last=3), daily("2026-11-01", "2026-11-10"),
                 {"2026-11-10@02", "2026-11-09@02", "2026-11-08@02"}, id="keep-last"),
    pytest.param(rt.Policy(daily=0, weekly=0, monthly=2, yearly=3, keep_last=0), daily("2024-12-20", "2026-01-10"),
                 {"2026-01-10@02", "2025-12-31@02", "2024-12-31@02"}, id="yearly"),
])
def test_gfs_keeps_exactly(policy: rt.Policy, calendar: list, expected: set[str]) -> None:
    assert set(rt.select(calendar, policy)) == expected


def test_reasons_are_reported() -> None:
    kept = rt.select(daily("2026-11-01", "2026-12-03"), rt.Policy(daily=1, weekly=1, monthly=1))
    assert kept == {"2026-12-03@02": ["newest", "last", "daily", "weekly", "monthly"]}


def test_plan_incomplete_by_age_and_never_newest() -> None:
    now = at("2026-12-03", 12)
    entries = [
        BackupEntry("20261201T020000Z-aaaaaa", complete=True, time=at("2026-12-01")),
        BackupEntry("20261202T020000Z-bbbbbb", complete=True, time=at("2026-12-02")),
        # incomplete ones are never "newest", whatever their time
        BackupEntry("20261203T020000Z-cccccc", complete=False, time=at("2026-12-03"), last_modified=at("2026-12-03")),
        BackupEntry("20261130T020000Z-dddddd", complete=False, time=at("2026-11-30"), last_modified=at("2026-11-30")),
    ]
    p = rt.plan(entries, rt.Policy(daily=1, weekly=0, monthly=0, keep_last=0, incomplete_after_hours=24), now)
    assert {k["backup_id"] for k in p["keep"]} == {"20261202T020000Z-bbbbbb", "20261203T020000Z-cccccc"}
    assert {(d["backup_id"], d["reason"]) for d in p["delete"]} == {
        ("20261201T020000Z-aaaaaa", "retention"), ("20261130T020000Z-dddddd", "incomplete")}


@pytest.mark.parametrize("field", ["daily", "weekly", "monthly", "yearly", "keep_last"])
def test_negative_counts_refused(field: str) -> None:
    with pytest.raises(BackupError):
        rt.Policy(**{field: -1})


times = st.datetimes(min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2027, 1, 1),
                     timezones=st.just(UTC))
policies = st.builds(rt.Policy, daily=st.integers(0, 10), weekly=st.integers(0, 6), monthly=st.integers(0, 14),
                     yearly=st.integers(0, 3), keep_last=st.integers(0, 3))


@settings(max_examples=300, deadline=None)
@given(st.lists(times, min_size=1, max_size=80, unique=True), policies)
def test_gfs_properties(stamps: list[dt.datetime], policy: rt.Policy) -> None:
    backups = [("id%03d" % i, t) for i, t in enumerate(stamps)]
    kept = rt.select(backups, policy)
    newest = max(backups, key=lambda b: (b[1], b[0]))[0]
    assert newest in kept, "the newest backup is always kept"
    assert set(kept) <= {b for b, _ in backups}
    by_id = dict(backups)
    for name, period_of in rt.PERIODS.items():
        chosen = [b for b, reasons in kept.items() if name in reasons]
        assert len(chosen) <= getattr(policy, name), "a category never exceeds its count"
        periods = [period_of(by_id[b]) for b in chosen]
        assert len(set(periods)) == len(periods), "one backup per period"
        for b in chosen:  # and it is the newest of its period
            same = [x for x, t in backups if period_of(t) == period_of(by_id[b])]
            assert by_id[b] == max(by_id[x] for x in same)
    assert len(kept) <= policy.daily + policy.weekly + policy.monthly + policy.yearly + policy.keep_last + 1
