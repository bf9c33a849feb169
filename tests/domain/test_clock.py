"""The working-hours clock (R-CAL-1, R-CAL-2) on the default 7 x 10 h calendar."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.clock import CalendarError, OpeningInterval, weekly_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT = weekly_calendar("default", "Asia/Shanghai", {"daily": ["08:00-18:00"]})
LUNCH = weekly_calendar("office", "Asia/Shanghai", {"daily": [], **{d: ["09:00-12:00", "13:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}})


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_r_cal_1_default_calendar_is_0800_to_1800_every_day():
    for day in range(7):
        (start, end), = DEFAULT.open_intervals(sh(2025, 9, 1 + day).date())
        assert (start.hour, end.hour) == (8, 18)


def test_r_clk_4_48_hours_are_20_working_hours_from_2025_09_30_1000():
    """R-CLK-4 on R-CAL-1: 8 h on 30 Sep, 10 h on 1 Oct, 2 h on 2 Oct."""
    assert DEFAULT.add(sh(2025, 9, 30, 10), timedelta(hours=20)) == sh(2025, 10, 2, 10)


def test_r_cal_2_counting_started_at_1930_starts_at_next_opening():
    assert DEFAULT.add(sh(2025, 3, 3, 19, 30), timedelta(hours=2)) == sh(2025, 3, 4, 10)


def test_r_cal_2_counting_started_at_0700_starts_at_0800_same_day():
    assert DEFAULT.add(sh(2025, 3, 3, 7, 0), timedelta(hours=2)) == sh(2025, 3, 3, 10)


def test_r_cal_2_deadline_ending_at_closing_time_stays_at_closing_time():
    assert DEFAULT.add(sh(2025, 3, 3, 8), timedelta(hours=10)) == sh(2025, 3, 3, 18)
    assert DEFAULT.add(sh(2025, 3, 3, 16), timedelta(hours=2)) == sh(2025, 3, 3, 18)


def test_r_cal_2_zero_working_time_outside_hours_is_the_next_opening():
    assert DEFAULT.add(sh(2025, 3, 3, 18), timedelta(0)) == sh(2025, 3, 4, 8)
    assert DEFAULT.next_opening(sh(2025, 3, 3, 12)) == sh(2025, 3, 3, 12)


def test_r_cal_1_lunch_break_and_weekend_are_skipped():
    # Friday 11:00 + 4 h: 1 h before lunch, 3 h after it -> Friday 16:00; + 4 more -> Monday 11:00.
    assert LUNCH.add(sh(2025, 3, 7, 11), timedelta(hours=4)) == sh(2025, 3, 7, 16)
    assert LUNCH.add(sh(2025, 3, 7, 11), timedelta(hours=8)) == sh(2025, 3, 10, 11)


def test_working_time_between_counts_only_open_hours():
    assert DEFAULT.working_time_between(sh(2025, 3, 3, 17), sh(2025, 3, 4, 9)) == timedelta(hours=2)
    assert DEFAULT.working_time_between(sh(2025, 3, 4, 9), sh(2025, 3, 3, 17)) == timedelta(0)


def test_24_hour_calendar_counts_every_second():
    always = weekly_calendar("always", "UTC", {"daily": ["00:00-24:00"]})
    start = datetime(2025, 1, 1, 23, 59, 30, tzinfo=UTC)
    assert always.add(start, timedelta(seconds=45)) == datetime(2025, 1, 2, 0, 0, 15, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["8-18", "18:00-08:00", "08:00-25:00", "nonsense"])
def test_malformed_interval_is_refused_with_its_text(bad):
    with pytest.raises(CalendarError, match="opening interval"):
        OpeningInterval.parse(bad)


def test_calendar_without_any_opening_hours_is_refused():
    with pytest.raises(CalendarError, match="no opening hours"):
        weekly_calendar("closed", "Asia/Shanghai", {"daily": []})


def test_naive_instants_are_refused():
    with pytest.raises(CalendarError, match="time zone"):
        DEFAULT.add(datetime(2025, 1, 1, 9), timedelta(hours=1))


instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(SHANGHAI))
amounts = st.integers(min_value=0, max_value=200 * 3600).map(lambda s: timedelta(seconds=s))


def _inside_or_at_closing(cal, instant) -> bool:
    return any(s <= instant <= e for s, e in cal.open_intervals(instant.astimezone(SHANGHAI).date()))


@given(instants, amounts)
def test_r_cal_2_result_is_never_before_start_and_lies_in_working_hours(start, amount):
    for cal in (DEFAULT, LUNCH):
        end = cal.add(start, amount)
        assert end >= start
        assert _inside_or_at_closing(cal, end)


@given(instants, amounts, amounts.filter(bool))
def test_adding_a_then_b_equals_adding_a_plus_b(start, a, b):
    """R-CAL-2: for any b > 0. Zero is the one exception, by the boundary rules of domain/clock.py: a sum that
    ends exactly at closing stays there, and adding zero to a closing instant gives the next opening."""
    for cal in (DEFAULT, LUNCH):
        assert cal.add(cal.add(start, a), b) == cal.add(start, a + b)


@given(instants, amounts)
def test_r_cal_2_adding_zero_is_the_next_opening(start, a):
    for cal in (DEFAULT, LUNCH):
        end = cal.add(start, a)
        assert cal.add(end, timedelta(0)) == cal.next_opening(end)
        assert cal.add(start, timedelta(0)) == cal.next_opening(start)


def test_r_cal_2_a_sum_that_ends_at_closing_stays_there_and_zero_more_is_the_next_opening():
    """The counterexample hypothesis found: Monday 00:00 + 2 days 2 h of working time ends Friday 18:00."""
    start = datetime(2024, 1, 1, tzinfo=SHANGHAI)
    end = DEFAULT.add(start, timedelta(days=2, hours=2))
    assert end == datetime(2024, 1, 5, 18, 0, tzinfo=SHANGHAI)
    assert DEFAULT.add(end, timedelta(0)) == datetime(2024, 1, 6, 8, 0, tzinfo=SHANGHAI)
    assert DEFAULT.add(end, timedelta(minutes=1)) == DEFAULT.add(start, timedelta(days=2, hours=2, minutes=1))


@given(instants, amounts)
def test_working_time_between_start_and_result_is_what_was_added(start, amount):
    for cal in (DEFAULT, LUNCH):
        assert cal.working_time_between(start, cal.add(start, amount)) == amount
