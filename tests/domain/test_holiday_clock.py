"""The working-hours clock with mainland China's holidays and make-up working days (R-CAL-1, R-CAL-2)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.calendar import published_cn_rules
from domain.clock import DayRules, weekly_calendar
from domain.holidays import OverrideError, apply_overrides
from domain.policy import Duration, due_at, parse_policy
from tests.conftest import ROOT

SH = ZoneInfo("Asia/Shanghai")
CN = published_cn_rules()
SEVEN_BY_TEN = weekly_calendar("default", "Asia/Shanghai", {"daily": ["08:00-18:00"]}, CN)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
OFFICE = weekly_calendar("office", "Asia/Shanghai", {"daily": [], **{d: ["09:00-12:00", "13:00-18:00"] for d in WEEKDAYS}}, CN)


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_r_clk_4_48_working_hours_from_2025_09_30_1000_on_7x10_skip_national_day():
    """8 h on 30 Sep; 1-8 Oct 2025 are the National Day / Mid-Autumn holiday; 10 h on 9 Oct, 2 h on 10 Oct."""
    assert SEVEN_BY_TEN.add(sh(2025, 9, 30, 10), timedelta(hours=20)) == sh(2025, 10, 10, 10)


def test_r_cal_1_20_working_hours_across_spring_festival_2026():
    """Saturday 14 Feb 2026 is a make-up workday (8 h left from 10:00); 15-23 Feb are the holiday."""
    assert SEVEN_BY_TEN.add(sh(2026, 2, 14, 10), timedelta(hours=20)) == sh(2026, 2, 25, 10)


def test_r_cal_1_mon_fri_calendar_works_the_2025_national_day_make_up_saturday():
    """Saturday 11 Oct 2025 is a make-up workday (调休): Friday 14:00 + 8 h ends there, not on Monday."""
    assert date(2025, 10, 11).weekday() == 5 and OFFICE.is_working_day(date(2025, 10, 11))
    assert OFFICE.add(sh(2025, 10, 10, 14), timedelta(hours=8)) == sh(2025, 10, 11, 14)
    without_make_up = weekly_calendar("office", "Asia/Shanghai", {"daily": [], **{d: ["09:00-12:00", "13:00-18:00"] for d in WEEKDAYS}})
    assert without_make_up.add(sh(2025, 10, 10, 14), timedelta(hours=8)) == sh(2025, 10, 13, 14)


def test_r_cal_2_counting_started_at_1930_and_at_0700_on_real_dates():
    assert SEVEN_BY_TEN.add(sh(2025, 9, 30, 19, 30), timedelta(hours=2)) == sh(2025, 10, 9, 10)  # eve, after hours
    assert SEVEN_BY_TEN.add(sh(2025, 10, 9, 7, 0), timedelta(hours=2)) == sh(2025, 10, 9, 10)


def test_r_clk_8_five_working_days_keep_the_time_of_day_and_skip_the_holiday():
    """Friday 26 Sep 2025 10:00 on the office calendar: Sun 28 Sep (make-up), Mon 29, Tue 30, Thu 9 Oct, Fri 10 Oct."""
    assert OFFICE.add_days(sh(2025, 9, 26, 10), 5) == sh(2025, 10, 10, 10)
    assert OFFICE.add_days(sh(2025, 9, 26, 20), 1) == sh(2025, 9, 29, 9)  # after hours: counts from the next opening
    assert OFFICE.add_days(sh(2025, 9, 26, 18), 1) == sh(2025, 9, 29, 9)  # at closing: counting starts at the next opening
    assert OFFICE.add_days(sh(2025, 9, 26, 9), 1) == sh(2025, 9, 28, 9)  # the make-up Sunday counts
    assert OFFICE.add_days(sh(2025, 9, 26, 12, 30), 1) == sh(2025, 9, 28, 13)  # from lunch: after lunch
    assert OFFICE.add_days(sh(2025, 9, 26, 12, 30), 0) == sh(2025, 9, 26, 13)


def test_working_days_in_the_policy_grammar():
    assert Duration.parse("5 working days") == Duration(days=5, working=True)
    assert str(Duration.parse("5 working days on office")) == "5 working days on office"
    policy = parse_policy((ROOT / "policy" / "default.toml").read_text())
    due = due_at(sh(2025, 9, 26, 10), Duration.parse("5 working days on office"), policy.calendars["office"], CN)
    assert due.at == sh(2025, 10, 10, 10) and due.unknown_years == []


def test_r_cal_1_the_default_calendar_is_08_to_18_every_day_as_spec_states():
    """R-CAL-1: 7 x 10 h; 20 working hours from 30 Sep 10:00 are 8 h, 10 h and 2 h: 2 Oct 10:00."""
    policy = parse_policy((ROOT / "policy" / "default.toml").read_text())
    assert policy.calendars["default"].holidays == "none"
    assert policy.deadline(sh(2025, 9, 30, 10), policy.clocks.coordination_deadline, CN) == sh(2025, 10, 2, 10)


def test_r_cal_1_a_calendar_with_holidays_cn_closes_on_them(cn_policy):
    """The same 20 working hours on a calendar with `holidays = "cn"` skip the National Day holiday."""
    assert cn_policy.deadline(sh(2025, 9, 30, 10), cn_policy.clocks.coordination_deadline, CN) == sh(2025, 10, 10, 10)
    office = parse_policy((ROOT / "policy" / "default.toml").read_text()).calendars["office"]
    assert office.holidays == "cn"  # the default file's example of a desk that closes on them


def test_a_year_nobody_knows_is_reported_and_counted_on_the_weekly_pattern(cn_policy):
    year = max(CN.known_years) + 1
    start = sh(year, 9, 30, 10)
    due = due_at(start, Duration.parse("20 working hours"), cn_policy.calendars["default"], CN)
    assert due.unknown_years == [year]
    assert due.at == sh(year, 10, 2, 10)  # every day open, as the week says


def test_cross_check_every_day_of_2024_to_2026_with_holidays_china():
    """A Mon-Fri calendar with chinesecalendar's rules names the same working days as holidays.China.
    No difference is expected; any that appears is listed in the failure."""
    office = weekly_calendar("office", "Asia/Shanghai", {"daily": [], **{d: ["09:00-18:00"] for d in WEEKDAYS}}, CN)
    reference = holidays.China(years=[2024, 2025, 2026])
    day, differences = date(2024, 1, 1), []
    while day <= date(2026, 12, 31):
        if office.is_working_day(day) != reference.is_working_day(day):
            differences.append((day.isoformat(), office.is_working_day(day), reference.get(day)))
        day += timedelta(days=1)
    assert differences == []


def test_overrides_add_closures_working_days_and_a_new_years_notice():
    base = DayRules(holidays=frozenset({date(2026, 10, 1)}), workdays=frozenset({date(2026, 10, 10)}),
                    known_years=frozenset({2026}))
    merged = apply_overrides(base, """
known_years = [2027]
closed = ["2027-10-01..2027-10-03", 2026-10-10]
working = [2026-10-01, "2027-09-26"]
""")
    assert merged.holidays == {date(2027, 10, 1), date(2027, 10, 2), date(2027, 10, 3), date(2026, 10, 10)}
    assert merged.workdays == {date(2026, 10, 1), date(2027, 9, 26)}
    assert merged.known_years == {2026, 2027}


@pytest.mark.parametrize(
    "text, message",
    [
        ("closed = [2027-10-01]\nworking = [2027-10-01]", "both closed and working"),
        ('closed = ["2027-10-05..2027-10-01"]', "ends before it starts"),
        ('closed = ["next tuesday"]', "is not a date"),
        ("holidays = []", "unknown keys"),
        ('known_years = ["2027"]', "list of years"),
        ("closed = [", "not valid TOML"),
    ],
)
def test_unusable_override_file_says_why(text, message):
    with pytest.raises(OverrideError, match=message):
        apply_overrides(DayRules(), text)


instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 11, 30), timezones=st.just(SH))
amounts = st.integers(min_value=0, max_value=120 * 3600).map(lambda s: timedelta(seconds=s))


def _inside_or_at_closing(cal, instant) -> bool:
    return any(s <= instant <= e for s, e in cal.open_intervals(instant.astimezone(SH).date()))


@settings(max_examples=150)
@given(instants, amounts, amounts)
def test_properties_hold_across_holidays_and_make_up_days(start, a, b):
    """Never before the start, always in working hours (or at a closing boundary), a then b equals
    a+b, and the working time between start and result is what was added."""
    for cal in (SEVEN_BY_TEN, OFFICE):
        end = cal.add(start, a)
        assert end >= start and _inside_or_at_closing(cal, end)
        assert not cal.days.holidays.__contains__(end.astimezone(SH).date())
        assert cal.add(end, b) == cal.add(start, a + b)
        assert cal.working_time_between(start, end) == a


@settings(max_examples=100)
@given(instants, st.integers(min_value=0, max_value=30))
def test_working_days_land_on_a_working_day_in_working_hours(start, n):
    for cal in (SEVEN_BY_TEN, OFFICE):
        end = cal.add_days(start, n)
        assert end >= start and _inside_or_at_closing(cal, end)
        assert cal.is_working_day(end.astimezone(SH).date())
