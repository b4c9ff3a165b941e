"""Hypothesis property tests of the window arithmetic.

Generated calendars mix time zones with DST (Europe/Berlin, America/New_York, Australia/Lord_Howe with
its 30-minute shift, America/Santiago whose DST starts at midnight), payroll days around month ends and
leap days, month-end closes, holidays and windows that span midnight. ``after`` is biased towards DST
transitions, month ends and 29 February.

The checks are independent of the implementation's interval algebra: windows are re-derived per local
day, and minimality is checked by trying every earlier candidate start (``after``, each window opening,
each freeze end, and a 15-minute grid).
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.policy import calendar as c
from ansible_collections.erpops.odoo.plugins.module_utils.policy.errors import PolicyError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

UTC = dt.UTC
STEP = dt.timedelta(minutes=15)
ZONES = ["Europe/Berlin", "America/New_York", "UTC", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata"]
INTERESTING = [
    dt.datetime(2024, 2, 28, 20), dt.datetime(2024, 2, 29, 12), dt.datetime(2025, 2, 28, 12),
    dt.datetime(2025, 3, 8, 12), dt.datetime(2025, 3, 29, 22), dt.datetime(2025, 3, 30, 0, 30),
    dt.datetime(2025, 10, 25, 23), dt.datetime(2025, 10, 26, 0, 45), dt.datetime(2025, 11, 1, 22),
    dt.datetime(2025, 12, 31, 21), dt.datetime(2024, 12, 31, 23), dt.datetime(2025, 4, 5, 12),
    dt.datetime(2025, 9, 6, 12), dt.datetime(2024, 6, 30, 23, 59),
]
HOLIDAYS = ["2024-02-29", "2024-12-31", "2025-01-01", "2025-03-31", "2025-04-01", "2025-10-27", "2025-12-24",
            "2025-12-25", "2025-03-10"]
# ERPOPS_HYPOTHESIS_EXAMPLES=500 for a deeper run
PROPS = settings(max_examples=int(os.environ.get("ERPOPS_HYPOTHESIS_EXAMPLES", "60")), deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _hhmm(minutes: int) -> str:
    return "%02d:%02d" % divmod(minutes % 1440, 60)


@st.composite
def windows(draw: st.DrawFn) -> list[dict]:
    out = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, 95)) * 15
        length = draw(st.integers(2, 40)) * 15
        days = draw(st.lists(st.sampled_from(c.WEEKDAYS), min_size=1, max_size=7, unique=True))
        out.append({"days": days, "start": _hhmm(start), "end": _hhmm(start + length)})
    return out


@st.composite
def calendars(draw: st.DrawFn) -> c.Calendar:
    data: dict = {"timezone": draw(st.sampled_from(ZONES)), "release_windows": draw(windows())}
    data["holidays"] = draw(st.lists(st.sampled_from(HOLIDAYS), max_size=4, unique=True))
    if draw(st.booleans()):
        data["payroll"] = [{
            "name": "payroll",
            "days": draw(st.lists(st.sampled_from(["last_business_day", "first_business_day", 15, -1, 29, 31, 1]),
                                  min_size=1, max_size=2, unique=True)),
            "adjust": draw(st.sampled_from(c.ADJUSTMENTS)),
            "freeze_days_before": draw(st.integers(0, 3)),
            "freeze_days_after": draw(st.integers(0, 2)),
        }]
    if draw(st.booleans()):
        data["month_end_close"] = {"last_business_days": draw(st.integers(0, 3)),
                                   "first_business_days": draw(st.integers(0, 3))}
    if draw(st.booleans()):
        start = draw(st.sampled_from(INTERESTING)) + dt.timedelta(days=draw(st.integers(-3, 3)))
        data["bid_deadlines"] = [{"name": "bid", "at": start.replace(minute=0).isoformat(),
                                  "hours_before": draw(st.integers(1, 72)), "hours_after": draw(st.integers(0, 4))}]
    try:
        return c.load_calendar(data, "generated")
    except PolicyError:
        assume(False)
        raise


instants = st.one_of(
    st.datetimes(min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2026, 12, 31), timezones=st.just(UTC)),
    st.builds(lambda base, minutes: (base + dt.timedelta(minutes=minutes)).replace(tzinfo=UTC),
              st.sampled_from(INTERESTING), st.integers(-36 * 60, 36 * 60)),
)
durations = st.integers(1, 16).map(lambda n: dt.timedelta(minutes=15 * n))


def occurrences_around(t: dt.datetime, cal: c.Calendar) -> list[tuple[dt.datetime, dt.datetime]]:
    """Window occurrences that could contain ``t``, derived day by day (independently of merge/subtract)."""
    if not cal.release_windows:
        return [(t - dt.timedelta(days=1), t + dt.timedelta(days=1))]
    local = t.astimezone(cal.tz).date()
    out = []
    for back in range(3):
        day = local - dt.timedelta(days=back)
        for w in cal.release_windows:
            if day.weekday() in w.days:
                s = c.resolve_local(dt.datetime.combine(day, w.start), cal.tz)
                e = c.resolve_local(dt.datetime.combine(day + dt.timedelta(days=int(w.end_next_day)), w.end), cal.tz)
                out.append((s, e))
    return out


def in_window(t: dt.datetime, cal: c.Calendar) -> bool:
    return any(s <= t < e for s, e in occurrences_around(t, cal))


def grid_points(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """``start`` and every 15-minute UTC grid point in ``(start, end)``: boundaries all lie on that grid."""
    first = start.replace(second=0, microsecond=0, minute=start.minute - start.minute % 15)
    if first <= start:
        first += STEP
    points = [start]
    while first < end:
        points.append(first)
        first += STEP
    return points


def feasible(start: dt.datetime, duration: dt.timedelta, cal: c.Calendar, freezes: list) -> bool:
    end = start + duration
    if any(f.start < end and start < f.end for f in freezes):
        return False
    return all(in_window(p, cal) for p in grid_points(start, end))


@PROPS
@given(cal=calendars(), after=instants, duration=durations)
def test_next_release_window_is_allowed_and_earliest(cal: c.Calendar, after: dt.datetime,
                                                     duration: dt.timedelta) -> None:
    try:
        start, end = c.next_release_window_span(after, cal, duration, horizon_days=120)
    except PolicyError as exc:
        assert "no release window" in str(exc)
        assume(False)
        return
    assert start >= after
    assert end - start == duration
    freezes = c.freezes_between(cal, after - dt.timedelta(days=1), end + dt.timedelta(days=1))
    # never inside a freeze, always inside a window
    assert not [f for f in freezes if f.start < end and start < f.end]
    assert all(in_window(p, cal) for p in grid_points(start, end))
    assert not c.in_freeze_window(start, cal)
    # no earlier feasible start: after, every window opening, every freeze end, and a 15-minute grid
    candidates = {after} | {f.end for f in freezes if after < f.end < start}
    day = after.astimezone(cal.tz).date() - dt.timedelta(days=1)
    while c.local_midnight(day, cal.tz) < start:
        for w in cal.release_windows:
            opening = c.resolve_local(dt.datetime.combine(day, w.start), cal.tz)
            if after < opening < start:
                candidates.add(opening)
        day += dt.timedelta(days=1)
    candidates.update(p for p in grid_points(after, min(start, after + dt.timedelta(days=2))))
    earlier = sorted(x for x in candidates if x < start)
    assert not [x for x in earlier if feasible(x, duration, cal, freezes)]


@PROPS
@given(cal=calendars(), after=instants, duration=durations)
def test_is_release_allowed_agrees_with_next_window(cal: c.Calendar, after: dt.datetime,
                                                    duration: dt.timedelta) -> None:
    try:
        start, _end = c.next_release_window_span(after, cal, duration, horizon_days=120)
    except PolicyError:
        assume(False)
        return
    assert c.is_release_allowed(start, duration, cal)
    assert c.is_release_allowed(after, duration, cal) is (start == after)


@PROPS
@given(zone=st.sampled_from(ZONES), naive=st.one_of(
    st.datetimes(min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2026, 12, 31)),
    st.builds(lambda b, m: b + dt.timedelta(minutes=m), st.sampled_from(INTERESTING), st.integers(-600, 600))))
def test_resolve_local_is_the_first_instant_showing_that_time(zone: str, naive: dt.datetime) -> None:
    tz = c.get_zone(zone)
    got = c.resolve_local(naive, tz)
    assert got.astimezone(tz).replace(tzinfo=None) >= naive
    assert (got - dt.timedelta(seconds=1)).astimezone(tz).replace(tzinfo=None) < naive


@PROPS
@given(cal=calendars(), year=st.integers(2023, 2028), month=st.integers(1, 12))
def test_payroll_and_close_land_on_business_days_of_the_month(cal: c.Calendar, year: int, month: int) -> None:
    first = dt.date(year, month, 1)
    for rule in cal.payroll:
        for day in c.payroll_dates(rule, year, month, cal):
            if rule.adjust != "none":
                assert c.is_business_day(day, cal)
            # adjustment may cross into a neighbouring month, but never by more than a week or two
            assert abs((day - first).days) < 45
    days = c.business_days_of_month(year, month, cal)
    assert days, "every month has business days"
    assert all(d.month == month and c.is_business_day(d, cal) for d in days)
    if cal.close_last:
        # the last business day of the month is always inside the month-end close
        last = days[-1]
        noon = c.resolve_local(dt.datetime.combine(last, dt.time(12)), cal.tz)
        assert any(f["kind"] == "month_end_close" for f in c.in_freeze_window(noon, cal))


@PROPS
@given(zone=st.sampled_from(ZONES),
       day=st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2026, 12, 31)))
def test_local_days_tile_time(zone: str, day: dt.date) -> None:
    tz = c.get_zone(zone)
    start, end = c.local_midnight(day, tz), c.local_midnight(day + dt.timedelta(days=1), tz)
    assert dt.timedelta(hours=22) <= end - start <= dt.timedelta(hours=26)
    assert start.astimezone(tz).date() == day
    assert (end - dt.timedelta(microseconds=1)).astimezone(tz).date() == day


@PROPS
@given(cal=calendars(), day=st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2026, 12, 31)),
       n=st.integers(-15, 15))
def test_business_day_shift_round_trips(cal: c.Calendar, day: dt.date, n: int) -> None:
    assume(c.is_business_day(day, cal))
    moved = c.shift_business_days(day, n, cal)
    assert c.is_business_day(moved, cal)
    assert c.shift_business_days(moved, -n, cal) == day


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_dst_transition_days_have_the_right_length(zone: str) -> None:
    tz = c.get_zone(zone)
    spring = {"Europe/Berlin": dt.date(2025, 3, 30), "America/New_York": dt.date(2025, 3, 9)}[zone]
    fall = {"Europe/Berlin": dt.date(2025, 10, 26), "America/New_York": dt.date(2025, 11, 2)}[zone]
    for day, hours in ((spring, 23), (fall, 25)):
        assert c.local_midnight(day + dt.timedelta(days=1), tz) - c.local_midnight(day, tz) == dt.timedelta(hours=hours)
