# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Business calendars: freeze windows and allowed release windows, time-zone aware.

A calendar (one per tenant or environment) is plain data, validated by :func:`load_calendar`::

    timezone: Europe/Berlin
    weekend: [sat, sun]                      # non-business days (default)
    holidays: ["2025-12-25", {date: "2025-12-26", name: "St Stephen"}]
    holidays_freeze: true                    # a public holiday is a freeze (default)
    payroll:
      - {name: monthly, days: [last_business_day], freeze_days_before: 1, freeze_days_after: 0}
      - {name: mid-month, days: [15], adjust: previous}
    month_end_close: {last_business_days: 2, first_business_days: 3}
    bid_deadlines: [{name: "Tender A", at: "2025-03-14T12:00", hours_before: 48, hours_after: 0}]
    blackouts: [{start: "2025-12-22", end: "2026-01-02", reason: "year-end"}]
    release_windows:
      - {days: [tue, wed, thu], start: "22:00", end: "02:00"}   # spans midnight

Semantics (documented in docs/governance.md):

* All instants are handled as aware UTC datetimes; calendar rules are local wall-clock rules.
* A local wall time resolves to *the first instant at which the local clock shows that time or
  later*: in a DST gap (02:30 on a spring-forward night) that is the transition instant; in a DST
  fold (02:30 on a fall-back night) it is the first (summer-time) occurrence.
* Intervals are half-open ``[start, end)``. A whole local day runs from its midnight to the next.
* A release window occurrence opens on each listed weekday at ``start`` and closes at the next
  ``end`` (the following day when ``end <= start``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime as _dt
import re
from dataclasses import dataclass

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
except ImportError:  # pragma: no cover - Python 3.8 managed hosts
    try:
        from backports.zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    except ImportError:
        ZoneInfo = None
        ZoneInfoNotFoundError = KeyError

from ansible_collections.erpops.odoo.plugins.module_utils.policy.errors import PolicyError, fail

UTC = _dt.timezone.utc  # noqa: UP017 - datetime.UTC needs Python 3.11; modules run on 3.8+
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ADJUSTMENTS = ("previous", "next", "none")
DAY_KEYWORDS = ("last_business_day", "first_business_day")
MAX_FREEZE_DAYS = 20
MAX_CLOSE_DAYS = 10
DAY = _dt.timedelta(days=1)
_TIME_RE = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")
_CALENDAR_KEYS = frozenset((
    "timezone", "weekend", "holidays", "holidays_freeze", "payroll", "month_end_close", "bid_deadlines",
    "blackouts", "release_windows", "description",
))


@dataclass(frozen=True)
class Interval:
    """A half-open interval of instants ``[start, end)`` (aware UTC) with why it exists."""

    start: _dt.datetime
    end: _dt.datetime
    kind: str = ""
    name: str = ""
    reason: str = ""

    def overlaps(self, start, end):
        return self.start < end and start < self.end

    def contains(self, when):
        return self.start <= when < self.end


@dataclass(frozen=True)
class PayrollRule:
    name: str
    days: tuple
    adjust: str
    freeze_days_before: int
    freeze_days_after: int


@dataclass(frozen=True)
class ReleaseWindow:
    days: tuple
    start: _dt.time
    end: _dt.time
    end_next_day: bool


@dataclass(frozen=True)
class BidDeadline:
    name: str
    at: _dt.datetime
    hours_before: float
    hours_after: float


@dataclass(frozen=True)
class Calendar:
    name: str
    tz_name: str
    tz: _dt.tzinfo
    weekend: frozenset
    holidays: tuple  # ((date, name), ...) sorted
    holidays_freeze: bool
    payroll: tuple
    close_last: int
    close_first: int
    bid_deadlines: tuple
    blackouts: tuple
    release_windows: tuple

    @property
    def holiday_names(self):
        return dict(self.holidays)


# ---- time helpers ---------------------------------------------------------------------------------

def get_zone(name, field="timezone"):
    """A tzinfo for an IANA zone name; :class:`PolicyError` naming ``field`` when unknown."""
    if not isinstance(name, str) or not name.strip():
        fail(field, name, "an IANA time zone name such as 'Europe/Berlin'")
    if name.upper() == "UTC":
        return UTC
    if ZoneInfo is None:  # pragma: no cover
        raise PolicyError("%s: time zones need Python 3.9+ (zoneinfo) or backports.zoneinfo" % field)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise PolicyError("%s: unknown time zone %r" % (field, name))


def resolve_local(naive, tz):
    """The first UTC instant at which the local clock in ``tz`` shows ``naive`` or later."""
    first = naive.replace(tzinfo=tz, fold=0)
    utc = first.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == naive:
        # Exists. In a fold, fold=0 is the earlier instant; check fold=1 is not even earlier.
        other = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
        if other < utc and other.astimezone(tz).replace(tzinfo=None) == naive:
            return other
        return utc
    # In a gap: the transition instant lies between the two candidate readings; bisect to the second.
    lo, hi = sorted((utc, naive.replace(tzinfo=tz, fold=1).astimezone(UTC)))
    while hi - lo > _dt.timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    hi = hi.replace(microsecond=0)
    while hi.astimezone(tz).replace(tzinfo=None) < naive:  # pragma: no cover - rounding guard
        hi += _dt.timedelta(seconds=1)
    return hi


def local_midnight(day, tz):
    """The UTC instant at which the local day ``day`` begins."""
    return resolve_local(_dt.datetime(day.year, day.month, day.day), tz)


def parse_date(value, field):
    """A :class:`datetime.date` from a date, or an ISO ``YYYY-MM-DD`` string."""
    if isinstance(value, _dt.datetime):
        fail(field, value, "a date (YYYY-MM-DD) without a time")
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date(*(int(p) for p in value.strip().split("-")))
        except (TypeError, ValueError):
            pass
    return fail(field, value, "a date (YYYY-MM-DD)")


def _parse_datetime_value(value, field):
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return _dt.datetime.fromisoformat(text)
        except ValueError:
            pass
    return fail(field, value, "an ISO 8601 date-time such as '2025-03-14T12:00' or '2025-03-14T12:00:00+01:00'")


def parse_instant(value, field, tz=None):
    """An aware UTC datetime; naive values are local times in ``tz`` (required then)."""
    parsed = _parse_datetime_value(value, field)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        if tz is None:
            fail(field, value, "a date-time with a UTC offset (e.g. '2025-03-14T12:00:00+01:00' or '...Z')")
        return resolve_local(parsed, tz)
    return parsed.astimezone(UTC)


def parse_time(value, field):
    """``(time, is_24h)`` from ``HH:MM``; ``24:00`` is allowed (end of day)."""
    if isinstance(value, _dt.time):
        return value, False
    if isinstance(value, int) and not isinstance(value, bool):
        fail(field, value, "a quoted 'HH:MM' string (unquoted 22:00 is read by YAML 1.1 as the number 1320)")
    m = _TIME_RE.match(value.strip()) if isinstance(value, str) else None
    if not m:
        fail(field, value, "a time 'HH:MM'")
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour == 24:
        if minute:
            fail(field, value, "a time 'HH:MM' not after 24:00")
        return _dt.time(0, 0), True
    return _dt.time(hour, minute), False


def parse_duration(value, field="duration"):
    """A positive :class:`timedelta` from minutes (int/float), a timedelta, or ``'90m'``/``'2h'``/``'1d'``."""
    if isinstance(value, _dt.timedelta):
        delta = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        delta = _dt.timedelta(minutes=value)
    elif isinstance(value, str) and re.match(r"^\s*\d+(\.\d+)?\s*[mhd]?\s*$", value):
        text = value.strip()
        unit = text[-1] if text[-1] in "mhd" else "m"
        number = float(text.rstrip("mhd").strip())
        units = {"m": "minutes", "h": "hours", "d": "days"}
        delta = _dt.timedelta(**{units[unit]: number})
    else:
        return fail(field, value, "a duration in minutes or a string like '90m', '2h', '1d'")
    if delta <= _dt.timedelta(0) or delta > _dt.timedelta(days=14):
        fail(field, value, "a duration greater than 0 and at most 14 days")
    return delta


def _iso_local(instant, tz):
    return instant.astimezone(tz).isoformat()


def _iso_utc(instant):
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


# ---- loading and validation -----------------------------------------------------------------------

def _weekday(value, field):
    if isinstance(value, str) and value.strip().lower()[:3] in WEEKDAYS:
        return WEEKDAYS.index(value.strip().lower()[:3])
    return fail(field, value, "a weekday (%s)" % ", ".join(WEEKDAYS))


def _int(value, field, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        fail(field, value, "an integer between %d and %d" % (lo, hi))
    return value


def _number(value, field, lo, hi):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        fail(field, value, "a number between %s and %s" % (lo, hi))
    return float(value)


def _list(value, field):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        fail(field, value, "a list")
    return list(value)


def _mapping(value, field, allowed):
    if not isinstance(value, dict):
        fail(field, value, "a mapping")
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise PolicyError("%s: unknown key %r (allowed: %s)" % (field, unknown[0], ", ".join(sorted(allowed))))
    return value


def _load_holidays(value, field):
    out = {}
    for i, item in enumerate(_list(value, field)):
        f = "%s[%d]" % (field, i)
        if isinstance(item, dict):
            _mapping(item, f, ("date", "name"))
            day = parse_date(item.get("date"), f + ".date")
            name = item.get("name") or "public holiday"
            if not isinstance(name, str):
                fail(f + ".name", name, "a string")
        else:
            day, name = parse_date(item, f), "public holiday"
        out[day] = name
    return tuple(sorted(out.items()))


def _load_payroll(value, field):
    rules = []
    for i, item in enumerate(_list(value, field)):
        f = "%s[%d]" % (field, i)
        _mapping(item, f, ("name", "days", "adjust", "freeze_days_before", "freeze_days_after"))
        days = []
        raw_days = item.get("days")
        if not raw_days:
            fail(f + ".days", raw_days, "a non-empty list of days (1..31, -1..-31 from month end, %s)"
                 % ", ".join(DAY_KEYWORDS))
        for j, day in enumerate(_list(raw_days, f + ".days")):
            fj = "%s.days[%d]" % (f, j)
            keyword = isinstance(day, str) and day in DAY_KEYWORDS
            number = isinstance(day, int) and not isinstance(day, bool) and (1 <= day <= 31 or -31 <= day <= -1)
            if keyword or number:
                days.append(day)
            else:
                fail(fj, day, "a day of month 1..31, -1..-31 (from month end) or one of %s" % ", ".join(DAY_KEYWORDS))
        adjust = item.get("adjust", "previous")
        if adjust not in ADJUSTMENTS:
            fail(f + ".adjust", adjust, "one of %s" % ", ".join(ADJUSTMENTS))
        name = item.get("name", "payroll %d" % (i + 1))
        if not isinstance(name, str) or not name.strip():
            fail(f + ".name", name, "a non-empty string")
        rules.append(PayrollRule(
            name=name, days=tuple(days), adjust=adjust,
            freeze_days_before=_int(item.get("freeze_days_before", 1), f + ".freeze_days_before", 0, MAX_FREEZE_DAYS),
            freeze_days_after=_int(item.get("freeze_days_after", 0), f + ".freeze_days_after", 0, MAX_FREEZE_DAYS),
        ))
    return tuple(rules)


def _load_range_end(value, field, tz, is_date_end):
    if is_date_end:
        return local_midnight(parse_date(value, field) + DAY, tz)
    return parse_instant(value, field, tz)


def _is_date_only(value):
    if isinstance(value, _dt.datetime):
        return False
    if isinstance(value, _dt.date):
        return True
    return isinstance(value, str) and bool(re.match(r"^\s*\d{4}-\d{2}-\d{2}\s*$", value))


def _load_blackouts(value, field, tz):
    out = []
    for i, item in enumerate(_list(value, field)):
        f = "%s[%d]" % (field, i)
        _mapping(item, f, ("start", "end", "reason", "name"))
        if "start" not in item or "end" not in item:
            fail(f, item, "a mapping with 'start' and 'end' (dates are whole local days, end inclusive)")
        raw_start, raw_end = item["start"], item["end"]
        if _is_date_only(raw_start):
            start = local_midnight(parse_date(raw_start, f + ".start"), tz)
        else:
            start = parse_instant(raw_start, f + ".start", tz)
        end = _load_range_end(raw_end, f + ".end", tz, _is_date_only(raw_end))
        if end <= start:
            raise PolicyError("%s: inverted range, end %r is not after start %r" % (f, raw_end, raw_start))
        reason = item.get("reason") or item.get("name") or "blackout"
        out.append(Interval(start, end, "blackout", str(item.get("name") or reason), str(reason)))
    out.sort(key=lambda iv: iv.start)
    for k in range(1, len(out)):
        a, b = out[k - 1], out[k]
        if b.start < a.end:
            raise PolicyError("%s: overlapping ranges %r (%s .. %s) and %r (%s .. %s); merge them"
                              % (field, a.reason, _iso_utc(a.start), _iso_utc(a.end), b.reason,
                                 _iso_utc(b.start), _iso_utc(b.end)))
    return tuple(out)


def _load_bids(value, field, tz):
    out = []
    for i, item in enumerate(_list(value, field)):
        f = "%s[%d]" % (field, i)
        _mapping(item, f, ("name", "at", "hours_before", "hours_after"))
        if "at" not in item:
            fail(f + ".at", None, "the deadline date-time")
        name = item.get("name") or "bid deadline"
        out.append(BidDeadline(
            name=str(name), at=parse_instant(item["at"], f + ".at", tz),
            hours_before=_number(item.get("hours_before", 24), f + ".hours_before", 0, 24 * 30),
            hours_after=_number(item.get("hours_after", 0), f + ".hours_after", 0, 24 * 30),
        ))
        if out[-1].hours_before == 0 and out[-1].hours_after == 0:
            fail(f + ".hours_before", item.get("hours_before", 24), "hours_before or hours_after greater than 0")
    return tuple(out)


def _week_minutes(window):
    """Minute-of-week intervals covered by ``window`` (split at the end of the week)."""
    start = window.start.hour * 60 + window.start.minute
    end = window.end.hour * 60 + window.end.minute + (1440 if window.end_next_day else 0)
    out = []
    for day in window.days:
        s, e = day * 1440 + start, day * 1440 + end
        if e > 7 * 1440:
            out.extend(((s, 7 * 1440), (0, e - 7 * 1440)))
        else:
            out.append((s, e))
    return out


def _load_windows(value, field):
    windows = []
    spans = []
    for i, item in enumerate(_list(value, field)):
        f = "%s[%d]" % (field, i)
        _mapping(item, f, ("days", "start", "end", "name"))
        days = tuple(sorted({_weekday(d, "%s.days[%d]" % (f, j))
                             for j, d in enumerate(_list(item.get("days"), f + ".days"))}))
        if not days:
            fail(f + ".days", item.get("days"), "a non-empty list of weekdays")
        start, start24 = parse_time(item.get("start"), f + ".start")
        end, end24 = parse_time(item.get("end"), f + ".end")
        if start24:
            fail(f + ".start", item.get("start"), "a start time before 24:00")
        if start == end and not end24:
            raise PolicyError("%s: empty window, start %r equals end %r (use 00:00..24:00 for a whole day)"
                              % (f, item.get("start"), item.get("end")))
        window = ReleaseWindow(days=days, start=start, end=end, end_next_day=end24 or end <= start)
        windows.append(window)
        spans.extend((s, e, i) for s, e in _week_minutes(window))
    spans.sort()
    for k in range(1, len(spans)):
        (_s1, e1, i1), (s2, _e2, i2) = spans[k - 1], spans[k]
        if s2 < e1:
            raise PolicyError("%s: windows [%d] and [%d] overlap (%s %02d:%02d); make them disjoint"
                              % (field, i1, i2, WEEKDAYS[s2 // 1440], (s2 % 1440) // 60, s2 % 60))
    return tuple(windows)


def load_calendar(data, name="calendar"):
    """Validate calendar data (see module docstring) into a :class:`Calendar`; :class:`PolicyError` if bad."""
    if isinstance(data, Calendar):
        return data
    field = "calendar %r" % name
    _mapping(data, field, _CALENDAR_KEYS)
    tz_name = data.get("timezone", "UTC")
    tz = get_zone(tz_name, field + ".timezone")
    weekend = frozenset(_weekday(d, "%s.weekend[%d]" % (field, i))
                        for i, d in enumerate(_list(data.get("weekend", ["sat", "sun"]), field + ".weekend")))
    if len(weekend) == 7:
        fail(field + ".weekend", data.get("weekend"), "at least one business day per week")
    holidays_freeze = data.get("holidays_freeze", True)
    if not isinstance(holidays_freeze, bool):
        fail(field + ".holidays_freeze", holidays_freeze, "a boolean")
    close = data.get("month_end_close") or {}
    _mapping(close, field + ".month_end_close", ("last_business_days", "first_business_days"))
    return Calendar(
        name=str(name), tz_name=str(tz_name), tz=tz, weekend=weekend,
        holidays=_load_holidays(data.get("holidays"), field + ".holidays"),
        holidays_freeze=holidays_freeze,
        payroll=_load_payroll(data.get("payroll"), field + ".payroll"),
        close_last=_int(close.get("last_business_days", 0), field + ".month_end_close.last_business_days",
                        0, MAX_CLOSE_DAYS),
        close_first=_int(close.get("first_business_days", 0), field + ".month_end_close.first_business_days",
                         0, MAX_CLOSE_DAYS),
        bid_deadlines=_load_bids(data.get("bid_deadlines"), field + ".bid_deadlines", tz),
        blackouts=_load_blackouts(data.get("blackouts"), field + ".blackouts", tz),
        release_windows=_load_windows(data.get("release_windows"), field + ".release_windows"),
    )


# ---- business days --------------------------------------------------------------------------------

def is_business_day(day, cal):
    return day.weekday() not in cal.weekend and day not in cal.holiday_names


def shift_business_days(day, n, cal):
    """``day`` moved ``n`` business days (``n < 0`` backwards); ``n == 0`` returns ``day``."""
    step = DAY if n > 0 else -DAY
    remaining = abs(n)
    while remaining:
        day += step
        if is_business_day(day, cal):
            remaining -= 1
    return day


def _adjust(day, how, cal):
    if how == "none":
        return day
    step = -DAY if how == "previous" else DAY
    while not is_business_day(day, cal):
        day += step
    return day


def _month_days(year, month):
    first = _dt.date(year, month, 1)
    nxt = _dt.date(year + (month == 12), month % 12 + 1, 1)
    return first, nxt - DAY


def business_days_of_month(year, month, cal):
    first, last = _month_days(year, month)
    out = []
    day = first
    while day <= last:
        if is_business_day(day, cal):
            out.append(day)
        day += DAY
    return out


def payroll_dates(rule, year, month, cal):
    """The run dates of a payroll rule in a month (after business-day adjustment), sorted."""
    first, last = _month_days(year, month)
    out = set()
    for spec in rule.days:
        if spec == "last_business_day":
            day = _adjust(last, "previous", cal)
        elif spec == "first_business_day":
            day = _adjust(first, "next", cal)
        else:
            day = first + DAY * (min(spec, last.day) - 1) if spec > 0 else last - DAY * (min(-spec, last.day) - 1)
            day = _adjust(day, rule.adjust, cal)
        out.add(day)
    return sorted(out)


def _months(first_day, last_day):
    y, m = first_day.year, first_day.month
    while (y, m) <= (last_day.year, last_day.month):
        yield y, m
        y, m = (y + (m == 12), m % 12 + 1)


def _days_interval(first, last, cal, *, kind, name, reason):
    return Interval(local_midnight(first, cal.tz), local_midnight(last + DAY, cal.tz), kind, name, reason)


def freezes_between(cal, start, end):
    """Every freeze of ``cal`` that overlaps ``[start, end)`` (aware datetimes), sorted by start."""
    cal = load_calendar(cal)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    d0 = start.astimezone(cal.tz).date() - DAY
    d1 = end.astimezone(cal.tz).date() + DAY
    # payroll and close freezes reach up to ~a month around their anchor day
    m0 = _dt.date(d0.year, d0.month, 1) - DAY * 45
    m1 = d1 + DAY * 45
    out = []
    if cal.holidays_freeze:
        for day, hname in cal.holidays:
            if d0 <= day <= d1:
                out.append(_days_interval(day, day, cal, kind="holiday", name=hname,
                                          reason="public holiday %s (%s)" % (day, hname)))
    for y, m in _months(m0, m1):
        for rule in cal.payroll:
            for run in payroll_dates(rule, y, m, cal):
                a = shift_business_days(run, -rule.freeze_days_before, cal)
                b = shift_business_days(run, rule.freeze_days_after, cal)
                out.append(_days_interval(a, b, cal, kind="payroll", name=rule.name,
                                          reason="payroll run '%s' on %s (freeze %s .. %s, %s)"
                                          % (rule.name, run, a, b, cal.tz_name)))
        if cal.close_last or cal.close_first:
            ny, nm = (y + (m == 12), m % 12 + 1)
            tail = business_days_of_month(y, m, cal)[-cal.close_last:] if cal.close_last else []
            head = business_days_of_month(ny, nm, cal)[:cal.close_first] if cal.close_first else []
            days = tail + head
            if days:
                label = _dt.date(y, m, 1).strftime("%Y-%m")
                reason = ("month-end close %s (last %d / first %d business days: %s .. %s, %s)"
                          % (label, cal.close_last, cal.close_first, days[0], days[-1], cal.tz_name))
                out.append(_days_interval(days[0], days[-1], cal, kind="month_end_close",
                                          name="month-end close %s" % label, reason=reason))
    for bid in cal.bid_deadlines:
        before, after = _dt.timedelta(hours=bid.hours_before), _dt.timedelta(hours=bid.hours_after)
        reason = ("bid deadline '%s' at %s (%gh before, %gh after)"
                  % (bid.name, _iso_local(bid.at, cal.tz), bid.hours_before, bid.hours_after))
        out.append(Interval(bid.at - before, bid.at + after, "bid_deadline", bid.name, reason))
    out.extend(cal.blackouts)
    hits = {iv for iv in out if iv.overlaps(start, end)}
    return sorted(hits, key=lambda iv: (iv.start, iv.end, iv.kind, iv.name))


def window_occurrences(cal, start, end):
    """Merged release-window occurrences of ``cal`` overlapping ``[start, end)``; one span if none configured."""
    cal = load_calendar(cal)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if not cal.release_windows:
        return [(start, end)]
    day = start.astimezone(cal.tz).date() - DAY * 2
    last = end.astimezone(cal.tz).date() + DAY
    spans = []
    while day <= last:
        for w in cal.release_windows:
            if day.weekday() in w.days:
                s = resolve_local(_dt.datetime.combine(day, w.start), cal.tz)
                e = resolve_local(_dt.datetime.combine(day + DAY * w.end_next_day, w.end), cal.tz)
                if e > s and s < end and start < e:
                    spans.append((s, e))
        day += DAY
    return merge(spans)


# ---- interval algebra -----------------------------------------------------------------------------

def merge(spans):
    """Sort and merge overlapping or touching ``(start, end)`` pairs."""
    out = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def subtract(spans, holes):
    """``spans`` minus ``holes`` (both lists of pairs; result sorted, disjoint)."""
    holes = merge(holes)
    out = []
    for s, e in merge(spans):
        cur = s
        for hs, he in holes:
            if he <= cur or hs >= e:
                continue
            if hs > cur:
                out.append((cur, hs))
            cur = max(cur, he)
            if cur >= e:
                break
        if cur < e:
            out.append((cur, e))
    return out


def intersect(a, b):
    """Intersection of two sorted, disjoint lists of pairs."""
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def intersect_all(lists):
    """Intersection of several sorted, disjoint lists of pairs."""
    lists = list(lists)
    if not lists:
        return []
    out = lists[0]
    for other in lists[1:]:
        out = intersect(out, other)
    return out


# ---- public queries -------------------------------------------------------------------------------

def freeze_dict(iv, cal):
    """A freeze as plain data (for module results, filters and the audit log)."""
    return {
        "calendar": cal.name, "kind": iv.kind, "name": iv.name, "reason": iv.reason,
        "start": _iso_local(iv.start, cal.tz), "end": _iso_local(iv.end, cal.tz),
        "start_utc": _iso_utc(iv.start), "end_utc": _iso_utc(iv.end),
    }


def _calendars(calendars):
    if isinstance(calendars, (Calendar, dict)):
        calendars = [calendars]
    if not isinstance(calendars, (list, tuple)) or not calendars:
        fail("calendars", calendars, "a calendar mapping or a non-empty list of them")
    return [load_calendar(c, "calendar[%d]" % i) if not isinstance(c, Calendar) else c
            for i, c in enumerate(calendars)]


def in_freeze_window(when, calendar):
    """Freezes active at instant ``when`` (naive = local time of the first calendar), as dicts with reasons."""
    cals = _calendars(calendar)
    at = parse_instant(when, "when", cals[0].tz)
    out = []
    for cal in cals:
        out.extend(freeze_dict(iv, cal) for iv in freezes_between(cal, at, at + _dt.timedelta(microseconds=1)))
    return out


def freezes_during(start, end, calendars):
    """Freezes of any calendar overlapping ``[start, end)``, as dicts."""
    out = []
    for cal in _calendars(calendars):
        out.extend(freeze_dict(iv, cal) for iv in freezes_between(cal, start, end))
    return out


def allowed_spans(calendars, start, end):
    """Instants in ``[start, end)`` inside a release window of every calendar and in no freeze."""
    result = [(start, end)]
    for cal in _calendars(calendars):
        holes = [(iv.start, iv.end) for iv in freezes_between(cal, start, end)]
        free = subtract(window_occurrences(cal, start, end), holes)
        result = intersect(result, [(max(s, start), min(e, end)) for s, e in free if s < end and e > start])
    return result


def is_release_allowed(start, duration, calendars):
    """True when ``[start, start + duration)`` lies inside one allowed span (no freeze, inside windows)."""
    start = start.astimezone(UTC)
    end = start + duration
    return any(s <= start and end <= e for s, e in allowed_spans(calendars, start, end))


def window_dict(start, end, calendars):
    cal = _calendars(calendars)[0]
    return {
        "start": _iso_local(start, cal.tz), "end": _iso_local(end, cal.tz),
        "start_utc": _iso_utc(start), "end_utc": _iso_utc(end), "timezone": cal.tz_name,
        "duration_minutes": int((end - start).total_seconds() // 60),
    }


def next_release_window_span(after, calendars, duration, horizon_days=400):
    """``(start, end)`` of the earliest release of length ``duration`` starting at or after ``after``."""
    cals = _calendars(calendars)
    duration = parse_duration(duration)
    after = parse_instant(after, "after", cals[0].tz)
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or not 1 <= horizon_days <= 3660:
        fail("horizon_days", horizon_days, "an integer between 1 and 3660")
    span = _dt.timedelta(days=8)
    horizon = _dt.timedelta(days=horizon_days)
    while True:
        limit = min(span, horizon)
        for s, e in allowed_spans(cals, after, after + limit + duration):
            begin = max(s, after)
            if begin + duration <= e:
                return begin, begin + duration
        if limit >= horizon:
            raise PolicyError("no release window of %s within %d days after %s (calendars: %s)"
                              % (duration, horizon_days, _iso_utc(after), ", ".join(c.name for c in cals)))
        span *= 4


def next_release_window(after, calendars, duration, horizon_days=400):
    """The earliest release window as a dict (``start``/``end`` local ISO, ``start_utc``/``end_utc``)."""
    start, end = next_release_window_span(after, calendars, duration, horizon_days)
    return window_dict(start, end, calendars)
