"""Examples of the business-calendar core (freezes, release windows, DST, bad input)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.policy import calendar as c
from ansible_collections.erpops.odoo.plugins.module_utils.policy.errors import PolicyError

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def cal(**kw: object) -> c.Calendar:
    data = {"timezone": "Europe/Berlin"}
    data.update(kw)
    return c.load_calendar(data, "test")


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# ---- local time resolution --------------------------------------------------------------------------

@pytest.mark.parametrize(("tz", "naive", "expected"), [
    (BERLIN, "2025-06-01T12:00", "2025-06-01T10:00Z"),
    # spring forward: 02:00-03:00 does not exist -> the transition instant (01:00Z)
    (BERLIN, "2025-03-30T02:30", "2025-03-30T01:00Z"),
    (BERLIN, "2025-03-30T02:00", "2025-03-30T01:00Z"),
    (BERLIN, "2025-03-30T03:00", "2025-03-30T01:00Z"),
    # fall back: 02:00-03:00 happens twice -> the first (summer time) occurrence
    (BERLIN, "2025-10-26T02:30", "2025-10-26T00:30Z"),
    (NEW_YORK, "2025-03-09T02:15", "2025-03-09T07:00Z"),
    (NEW_YORK, "2025-11-02T01:30", "2025-11-02T05:30Z"),
    # Santiago: DST starts at midnight, so 2025-09-07 00:00 does not exist
    (ZoneInfo("America/Santiago"), "2025-09-07T00:00", "2025-09-07T04:00Z"),
])
def test_resolve_local(tz: dt.tzinfo, naive: str, expected: str) -> None:
    assert c.resolve_local(dt.datetime.fromisoformat(naive), tz) == utc(expected)


# ---- payroll dates ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("days", "adjust", "month", "holidays", "expected"), [
    (["last_business_day"], "previous", (2024, 2), [], ["2024-02-29"]),  # leap year, a Thursday
    (["last_business_day"], "previous", (2025, 8), [], ["2025-08-29"]),  # 31st is a Sunday
    (["last_business_day"], "previous", (2025, 12), ["2025-12-31"], ["2025-12-30"]),
    (["first_business_day"], "previous", (2025, 1), ["2025-01-01"], ["2025-01-02"]),
    ([15], "previous", (2025, 3), [], ["2025-03-14"]),  # Saturday -> Friday
    ([15], "next", (2025, 3), [], ["2025-03-17"]),  # Saturday -> Monday
    ([15], "none", (2025, 3), [], ["2025-03-15"]),
    ([31], "previous", (2025, 2), [], ["2025-02-28"]),  # clamped to the month
    ([-1], "previous", (2024, 2), [], ["2024-02-29"]),
    ([15, -1], "previous", (2025, 11), ["2025-11-14"], ["2025-11-13", "2025-11-28"]),
])
def test_payroll_dates(days: list, adjust: str, month: tuple[int, int], holidays: list, expected: list) -> None:
    calendar = cal(holidays=holidays, payroll=[{"name": "p", "days": days, "adjust": adjust}])
    got = c.payroll_dates(calendar.payroll[0], *month, calendar)
    assert [d.isoformat() for d in got] == expected


# ---- freezes ----------------------------------------------------------------------------------------

def test_payroll_freeze_with_business_days_before() -> None:
    calendar = cal(payroll=[{"name": "monthly", "days": ["last_business_day"], "freeze_days_before": 2}])
    # March 2025: last business day Mon 31st; two business days before -> Thu 27th
    freezes = c.in_freeze_window("2025-03-27T08:00:00+01:00", calendar)
    assert [f["kind"] for f in freezes] == ["payroll"]
    assert "2025-03-31" in freezes[0]["reason"]
    assert freezes[0]["start"] == "2025-03-27T00:00:00+01:00"
    assert freezes[0]["end"] == "2025-04-01T00:00:00+02:00"  # across the DST change
    assert c.in_freeze_window("2025-03-26T23:59:00+01:00", calendar) == []
    assert c.in_freeze_window("2025-04-01T00:00:00+02:00", calendar) == []


def test_month_end_close_spans_the_month_boundary_and_dst() -> None:
    calendar = cal(month_end_close={"last_business_days": 2, "first_business_days": 3})
    (freeze,) = c.in_freeze_window("2025-03-30T12:00:00+02:00", calendar)  # a Sunday inside the close
    assert freeze["kind"] == "month_end_close"
    assert (freeze["start_utc"], freeze["end_utc"]) == ("2025-03-27T23:00:00Z", "2025-04-03T22:00:00Z")


def test_holiday_bid_deadline_and_blackout() -> None:
    calendar = cal(
        holidays=[{"date": "2025-10-03", "name": "Tag der Deutschen Einheit"}],
        bid_deadlines=[{"name": "A7 tender", "at": "2025-11-14T12:00", "hours_before": 48, "hours_after": 2}],
        blackouts=[{"start": "2025-12-22", "end": "2026-01-02", "reason": "year end"}],
    )
    assert [f["kind"] for f in c.in_freeze_window("2025-10-03T23:00:00+02:00", calendar)] == ["holiday"]
    assert c.in_freeze_window("2025-10-04T00:00:00+02:00", calendar) == []
    assert [f["name"] for f in c.in_freeze_window("2025-11-12T12:00:00+01:00", calendar)] == ["A7 tender"]
    assert c.in_freeze_window("2025-11-12T11:59:00+01:00", calendar) == []
    assert c.in_freeze_window("2025-11-14T13:59:00+01:00", calendar)[0]["kind"] == "bid_deadline"
    assert c.in_freeze_window("2025-11-14T14:00:00+01:00", calendar) == []
    # blackout end date is inclusive (whole local day)
    assert c.in_freeze_window("2026-01-02T23:30:00+01:00", calendar)[0]["reason"] == "year end"
    assert c.in_freeze_window("2026-01-03T00:00:00+01:00", calendar) == []


def test_holidays_can_be_business_closures_only() -> None:
    calendar = cal(holidays=["2025-10-03"], holidays_freeze=False)
    assert c.in_freeze_window("2025-10-03T12:00:00+02:00", calendar) == []
    assert not c.is_business_day(dt.date(2025, 10, 3), calendar)


def test_naive_instants_are_local_to_the_calendar() -> None:
    calendar = cal(holidays=["2025-10-03"])
    assert c.in_freeze_window("2025-10-03T00:30", calendar)
    assert not c.in_freeze_window("2025-10-02T23:30", calendar)


# ---- release windows --------------------------------------------------------------------------------

WEEKNIGHT = [{"days": ["tue", "wed", "thu"], "start": "22:00", "end": "02:00"}]


@pytest.mark.parametrize(("start", "minutes", "allowed"), [
    ("2025-04-08T22:00:00+02:00", 240, True),  # Tue 22:00 .. Wed 02:00
    ("2025-04-09T01:00:00+02:00", 60, True),  # Wed 01:00, inside Tuesday's window
    ("2025-04-09T01:30:00+02:00", 60, False),  # runs past 02:00
    ("2025-04-07T22:00:00+02:00", 60, False),  # Monday
    ("2025-04-10T23:00:00+02:00", 120, True),  # Thu 23:00 .. Fri 01:00
    ("2025-04-30T23:00:00+02:00", 120, True),  # Wed 30 April .. Thu 1 May 01:00 (month boundary)
])
def test_windows_span_midnight(start: str, minutes: int, allowed: bool) -> None:
    calendar = cal(release_windows=WEEKNIGHT)
    assert c.is_release_allowed(utc(start), dt.timedelta(minutes=minutes), calendar) is allowed


@pytest.mark.parametrize(("tz", "window", "after", "minutes", "expected"), [
    # Berlin spring forward: Sun 01:00-04:00 lasts only 2 hours on 2025-03-30
    ("Europe/Berlin", ("sun", "01:00", "04:00"), "2025-03-29T12:00:00Z", 120,
     ("2025-03-30T00:00:00Z", "2025-03-30T02:00:00Z")),
    ("Europe/Berlin", ("sun", "01:00", "04:00"), "2025-03-29T12:00:00Z", 150,
     ("2025-04-05T23:00:00Z", "2025-04-06T01:30:00Z")),
    # Berlin fall back: the same window lasts 4 hours on 2025-10-26
    ("Europe/Berlin", ("sun", "01:00", "04:00"), "2025-10-25T12:00:00Z", 230,
     ("2025-10-25T23:00:00Z", "2025-10-26T02:50:00Z")),
    # New York spring forward: 02:00 does not exist, the window opens at 03:00 EDT
    ("America/New_York", ("sun", "02:00", "05:00"), "2025-03-08T12:00:00Z", 60,
     ("2025-03-09T07:00:00Z", "2025-03-09T08:00:00Z")),
    # Leap day: Thursday 2024-02-29 22:00 CET
    ("Europe/Berlin", ("thu", "22:00", "02:00"), "2024-02-28T12:00:00Z", 60,
     ("2024-02-29T21:00:00Z", "2024-02-29T22:00:00Z")),
])
def test_next_release_window_across_dst(tz: str, window: tuple, after: str, minutes: int, expected: tuple) -> None:
    day, s, e = window
    calendar = c.load_calendar({"timezone": tz, "release_windows": [{"days": [day], "start": s, "end": e}]})
    got = c.next_release_window(after, calendar, minutes)
    assert (got["start_utc"], got["end_utc"]) == expected


def test_next_release_window_skips_freezes() -> None:
    calendar = cal(release_windows=WEEKNIGHT,
                   payroll=[{"name": "monthly", "days": ["last_business_day"], "freeze_days_before": 1}],
                   month_end_close={"last_business_days": 2, "first_business_days": 1})
    got = c.next_release_window("2025-03-28T12:00:00+01:00", calendar, 90)
    # Close runs Fri 28 March .. Tue 1 April; Tuesday's window resumes at Wed 00:00 after the freeze
    assert got["start"] == "2025-04-02T00:00:00+02:00"
    assert got["end"] == "2025-04-02T01:30:00+02:00"


def test_next_release_window_must_suit_every_calendar() -> None:
    berlin = c.load_calendar({"timezone": "Europe/Berlin", "release_windows": WEEKNIGHT}, "berlin")
    new_york = c.load_calendar({"timezone": "America/New_York",
                                "release_windows": [{"days": ["wed"], "start": "18:00", "end": "21:00"}]}, "ny")
    got = c.next_release_window("2025-04-07T00:00:00Z", [berlin, new_york], 60)
    # Wed 18:00 EDT = Thu 00:00 CEST, inside Berlin's Wednesday window
    assert got["start_utc"] == "2025-04-09T22:00:00Z"
    assert got["timezone"] == "Europe/Berlin"


def test_without_windows_any_time_outside_freezes() -> None:
    calendar = cal(holidays=["2025-12-25"])
    got = c.next_release_window("2025-12-25T10:00:00+01:00", calendar, "2h")
    assert got["start"] == "2025-12-26T00:00:00+01:00"


def test_no_window_within_horizon() -> None:
    calendar = cal(blackouts=[{"start": "2025-01-01", "end": "2025-03-01", "reason": "migration"}])
    with pytest.raises(PolicyError, match="no release window of 1:00:00 within 30 days"):
        c.next_release_window("2025-01-10T00:00:00Z", calendar, 60, horizon_days=30)


# ---- bad input --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "match"), [
    ({"timezone": "Europe/Berlinn"}, r"calendar 'bad'\.timezone: unknown time zone 'Europe/Berlinn'"),
    ({"timezone": ""}, r"timezone: expected an IANA time zone"),
    ({"blackouts": [{"start": "2025-05-02", "end": "2025-05-01"}]},
     r"blackouts\[0\]: inverted range, end '2025-05-01' is not after start '2025-05-02'"),
    ({"blackouts": [{"start": "2025-05-01", "end": "2025-05-03", "reason": "a"},
                    {"start": "2025-05-03", "end": "2025-05-04", "reason": "b"}]},
     r"blackouts: overlapping ranges 'a'"),
    ({"release_windows": [{"days": ["mon"], "start": "22:00", "end": "02:00"},
                          {"days": ["tue"], "start": "01:00", "end": "03:00"}]},
     r"release_windows: windows \[0\] and \[1\] overlap \(tue 01:00\)"),
    ({"release_windows": [{"days": ["sun"], "start": "23:00", "end": "02:00"},
                          {"days": ["mon"], "start": "00:30", "end": "01:00"}]},
     r"windows \[0\] and \[1\] overlap \(mon 00:30\)"),  # wraps around the end of the week
    ({"release_windows": [{"days": ["mon"], "start": "22:00", "end": "22:00"}]}, r"empty window"),
    ({"release_windows": [{"days": ["mon"], "start": 1320, "end": "23:00"}]},
     r"release_windows\[0\]\.start: expected a quoted 'HH:MM' string"),
    ({"release_windows": [{"days": ["funday"], "start": "10:00", "end": "11:00"}]},
     r"release_windows\[0\]\.days\[0\]: expected a weekday .*got 'funday'"),
    ({"release_windows": [{"days": ["mon"], "start": "25:00", "end": "11:00"}]}, r"start: expected a time 'HH:MM'"),
    ({"payroll": [{"days": [32]}]}, r"payroll\[0\]\.days\[0\]: expected a day of month.*got 32"),
    ({"payroll": [{"days": []}]}, r"payroll\[0\]\.days: expected a non-empty list"),
    ({"payroll": [{"days": [15], "adjust": "sideways"}]}, r"payroll\[0\]\.adjust: expected one of previous"),
    ({"payroll": [{"days": [15], "freeze_days_before": 99}]}, r"freeze_days_before: expected an integer"),
    ({"holidays": ["2025-02-30"]}, r"holidays\[0\]: expected a date \(YYYY-MM-DD\), got '2025-02-30'"),
    ({"bid_deadlines": [{"name": "x", "at": "tomorrow"}]}, r"bid_deadlines\[0\]\.at: expected an ISO 8601"),
    ({"month_end_close": {"last_business_days": -1}}, r"month_end_close\.last_business_days: expected an integer"),
    ({"weekend": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}, r"at least one business day"),
    ({"payrol": []}, r"unknown key 'payrol'"),
])
def test_bad_calendars_name_the_field_and_value(data: dict, match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        c.load_calendar(data, "bad")


@pytest.mark.parametrize(("value", "match"), [
    (0, "greater than 0"), (-5, "greater than 0"), ("soon", "a duration in minutes"), (True, "a duration"),
    (60 * 24 * 15, "at most 14 days"),
])
def test_bad_durations(value: object, match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        c.parse_duration(value)


def test_instant_without_offset_needs_a_calendar_zone() -> None:
    with pytest.raises(PolicyError, match=r"at: expected a date-time with a UTC offset"):
        c.parse_instant("2025-01-01T10:00", "at")
