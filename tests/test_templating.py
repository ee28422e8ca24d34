"""The templates' filters."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from forum.templating import isodate, timesince

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("ago", "shown"), [
    (timedelta(seconds=59), "just now"),
    (timedelta(minutes=1), "1 minute ago"),
    (timedelta(hours=5, minutes=3), "5 hours ago"),
    (timedelta(days=30), "30 days ago"),
])
def test_recent_times_read_as_how_long_ago(ago, shown):
    assert timesince(NOW - ago, NOW) == shown


@pytest.mark.parametrize("month", range(1, 13))
def test_older_times_read_as_a_date_as_strftime_writes_it(month):
    value = datetime(2024, month, 6, 20, 49, tzinfo=timezone.utc)

    assert timesince(value, NOW) == value.strftime("%-d %b %Y")


def test_no_time_reads_as_nothing():
    assert timesince(None) == "" and isodate(None) == ""


def test_machine_dates_are_in_utc_to_the_second():
    value = datetime(2024, 9, 6, 21, 49, 7, 12345, tzinfo=timezone(timedelta(hours=1)))

    assert isodate(value) == "2024-09-06T20:49:07+00:00"
