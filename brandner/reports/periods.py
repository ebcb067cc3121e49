"""When a tagged post was written, from the value of one of its fields, and the day, week or
month that holds it (``brandner report --time-field F --period P``).

What a value may be:

- an ISO 8601 date or date and time, as Python's ``datetime.fromisoformat`` reads them:
  ``"2026-03-01"``, ``"2026-03-01 09:30"``, ``"2026-03-01T23:30:00+08:00"``, ``"...Z"``;
- a number: Unix time in seconds; from :data:`MILLISECONDS_FROM` on, in milliseconds (what
  Ray and pandas write for a timestamp column in JSON). ``true``/``false`` are not numbers here;
- a ``datetime.date`` or ``datetime.datetime`` (a Parquet date or timestamp column).

A moment (Unix time, or a date and time with an offset) falls on its day in the report's time
zone (UTC unless told); a date, or a date and time without an offset, on the day it names. Any
other value, or none, has no day: :func:`day_of` gives None and the report counts the post as
undated.

>>> zone = time_zone("Asia/Shanghai")
>>> day_of("2026-03-01T23:30:00Z", zone), day_of("2026-03-01", zone), day_of("soon", zone)
(datetime.date(2026, 3, 2), datetime.date(2026, 3, 1), None)
>>> period_start(datetime.date(2026, 3, 4), "week")   # weeks start on Monday (ISO 8601)
datetime.date(2026, 3, 2)
"""

from __future__ import annotations

import datetime
import math
import re
import zoneinfo
from functools import lru_cache

from brandner.errors import BrandnerError

PERIODS = ("day", "week", "month")
# A Unix time this large in seconds is past the year 5000; in milliseconds it is 1973.
MILLISECONDS_FROM = 100_000_000_000
_OFFSET = re.compile(r"(?:UTC)?([+-])(\d{1,2})(?::?(\d{2}))?")


def time_zone(name: str) -> datetime.tzinfo:
    """``"UTC"``, an IANA name (``"Asia/Shanghai"``) or a fixed offset (``"+08:00"``,
    ``"UTC+8"``); anything else is a BrandnerError naming it."""
    if name.upper() in ("UTC", "Z"):
        return datetime.timezone.utc
    if match := _OFFSET.fullmatch(name.strip()):
        sign, hours, minutes = match.groups()
        offset = datetime.timedelta(hours=int(hours), minutes=int(minutes or 0))
        if offset < datetime.timedelta(hours=24):
            return datetime.timezone(-offset if sign == "-" else offset)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise BrandnerError(f"unknown time zone {name!r}: give UTC, a name such as Asia/Shanghai, "
                            "or an offset such as +08:00") from None


def day_of(value: object, zone: datetime.tzinfo = datetime.timezone.utc) -> datetime.date | None:
    """The day ``value`` falls on (see the module's docstring), or None if it is not a time."""
    if isinstance(value, str):
        return _day_of_text(value, zone)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _day_of_unix(value, zone)
    if isinstance(value, datetime.datetime):
        return _day_of_moment(value, zone)
    if isinstance(value, datetime.date):
        return value
    return None


def period_start(day: datetime.date, period: str) -> datetime.date:
    """The first day of the ``period`` ("day", "week": Monday to Sunday, "month") holding ``day``."""
    if period == "day":
        return day
    if period == "week":
        return day - datetime.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")


def next_period(start: datetime.date, period: str) -> datetime.date:
    """The first day of the period after the one starting on ``start``."""
    if period == "month":
        return (start.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return start + datetime.timedelta(days=7 if period == "week" else 1)


@lru_cache(maxsize=4096)  # posts of a day share their date's text; the cache stays this size
def _day_of_text(text: str, zone: datetime.tzinfo) -> datetime.date | None:
    try:
        moment = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return _day_of_moment(moment, zone)


def _day_of_moment(moment: datetime.datetime, zone: datetime.tzinfo) -> datetime.date:
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        try:
            moment = moment.astimezone(zone)
        except OverflowError:  # 0001-01-01T00:00+01:00 has no day before it to fall on
            return moment.date()
    return moment.date()


def _day_of_unix(value: int | float, zone: datetime.tzinfo) -> datetime.date | None:
    try:
        if not math.isfinite(value):
            return None
        seconds = value / 1000 if abs(value) >= MILLISECONDS_FROM else value
        return datetime.datetime.fromtimestamp(seconds, zone).date()
    except (OverflowError, OSError, ValueError):  # past the years datetime holds
        return None
