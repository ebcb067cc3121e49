"""brandner.reports.periods: which day a post's time value falls on, and its week and month."""

from __future__ import annotations

import datetime

import pytest

from brandner.errors import BrandnerError
from brandner.reports.periods import day_of, next_period, period_start, time_zone

D = datetime.date
UTC = datetime.timezone.utc
SHANGHAI = time_zone("Asia/Shanghai")


@pytest.mark.parametrize("value, zone, day", [
    ("2026-03-01", UTC, D(2026, 3, 1)),
    ("2026-03-01", SHANGHAI, D(2026, 3, 1)),  # a date is the day it names, in any zone
    (" 2026-03-01\t", UTC, D(2026, 3, 1)),
    ("20260301", UTC, D(2026, 3, 1)),  # ISO 8601's basic form
    ("2026-03-01 23:30", SHANGHAI, D(2026, 3, 1)),  # no offset: as written
    ("2026-03-01T23:30:00Z", UTC, D(2026, 3, 1)),
    ("2026-03-01T23:30:00Z", SHANGHAI, D(2026, 3, 2)),  # a moment: its day in the zone
    ("2026-03-01T23:30:00.123456-02:00", UTC, D(2026, 3, 2)),
    (1772323200, UTC, D(2026, 3, 1)),  # Unix seconds: 2026-03-01T00:00Z
    (1772323200, time_zone("-01:00"), D(2026, 2, 28)),
    (1772323200.5, UTC, D(2026, 3, 1)),
    (1772323200000, UTC, D(2026, 3, 1)),  # milliseconds, as Ray and pandas write timestamps
    (0, UTC, D(1970, 1, 1)),
    (-86400, UTC, D(1969, 12, 31)),
    (datetime.date(2026, 3, 1), SHANGHAI, D(2026, 3, 1)),  # Parquet date and timestamp columns
    (datetime.datetime(2026, 3, 1, 23, 30, tzinfo=UTC), SHANGHAI, D(2026, 3, 2)),
    (datetime.datetime(2026, 3, 1, 23, 30), SHANGHAI, D(2026, 3, 1)),
    ("9999-12-31T23:00-05:00", UTC, D(9999, 12, 31)),  # no day after it: the day as written
])
def test_the_day_a_value_falls_on(value, zone, day):
    assert day_of(value, zone) == day


@pytest.mark.parametrize("value", [None, "", "soon", "2026-02-30", "03/01/2026", True, False, float("nan"),
                                   float("inf"), 10**400, 1e300, [2026, 3, 1], {"date": "2026-03-01"}])
def test_what_is_not_a_time_has_no_day(value):
    assert day_of(value) is None


def test_weeks_start_on_monday_and_months_on_the_first():
    sunday, monday = D(2026, 3, 8), D(2026, 3, 9)
    assert period_start(sunday, "week") == D(2026, 3, 2) and period_start(monday, "week") == monday
    assert period_start(D(2026, 1, 1), "week") == D(2025, 12, 29)  # a week across the new year
    assert period_start(D(2026, 2, 28), "month") == D(2026, 2, 1) and period_start(sunday, "day") == sunday
    assert next_period(D(2025, 12, 1), "month") == D(2026, 1, 1)
    assert next_period(D(2026, 1, 1), "month") == D(2026, 2, 1)
    assert next_period(D(2026, 3, 2), "week") == monday and next_period(sunday, "day") == monday
    with pytest.raises(ValueError, match="period must be one of day, week, month"):
        period_start(sunday, "year")


def test_time_zones_by_name_or_offset():
    assert time_zone("UTC") is UTC and time_zone("utc") is UTC
    assert time_zone("+08:00").utcoffset(None) == datetime.timedelta(hours=8)
    assert time_zone("UTC+8").utcoffset(None) == datetime.timedelta(hours=8)
    assert time_zone("-0530").utcoffset(None) == -datetime.timedelta(hours=5, minutes=30)
    assert str(time_zone("Asia/Shanghai")) == "Asia/Shanghai"
    for bad in ("Mars/Olympus", "+25:00", "", "../etc/passwd"):
        with pytest.raises(BrandnerError, match="unknown time zone"):
            time_zone(bad)
