"""The policy file: durations, calendars, carriers, and versions that tell two edits apart."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.policy import Duration, PolicyError, parse_policy

DEFAULT_TEXT = (Path(__file__).parents[2] / "policy" / "default.toml").read_text()


def test_default_policy_carries_spec_numbers():
    """R-CLK-1 2 h, R-CLK-4 20 working hours on R-CAL-1, R-WB-1 12 digits for Best Express."""
    p = parse_policy(DEFAULT_TEXT)
    assert p.clocks.reply_promise == Duration(seconds=7200)
    assert p.clocks.coordination_deadline == Duration(seconds=72000, working=True, calendar="default")
    assert p.calendars["default"].timezone == "Asia/Shanghai"
    assert p.calendars["default"].hours == {"daily": ["08:00-18:00"]}
    assert p.carriers["best"].waybill == r"^\d{12}$"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2h", Duration(seconds=7200)),
        ("90 seconds", Duration(seconds=90)),
        ("1.5 days", Duration(seconds=129600)),
        ("20 working hours", Duration(seconds=72000, working=True)),
        ("3 working seconds on always", Duration(seconds=3, working=True, calendar="always")),
    ],
)
def test_duration_grammar(text, expected):
    assert Duration.parse(text) == expected


@pytest.mark.parametrize("text", ["two hours", "5 fortnights", "-1h", "2h on default", ""])
def test_unreadable_durations_are_refused_with_the_text(text):
    with pytest.raises(PolicyError, match="duration"):
        Duration.parse(text)


def test_version_changes_with_every_edit_even_without_bumping_it():
    a = parse_policy(DEFAULT_TEXT)
    b = parse_policy(DEFAULT_TEXT.replace('reply_promise = "2h"', 'reply_promise = "30 minutes"'))
    assert a.version.startswith("spec-2025.1+") and b.version.startswith("spec-2025.1+")
    assert a.version != b.version
    assert b.clocks.reply_promise.amount == timedelta(minutes=30)


@pytest.mark.parametrize(
    "edit, message",
    [
        (("[calendars.default]", "[calendars.other]"), "calendars.default"),
        (('"20 working hours"', '"20 working hours on nowhere"'), "not declared"),
        (("08:00-18:00", "18:00-08:00"), "ends before it starts"),
        (('waybill = ', 'waybill_x = '), "waybill"),
        (("Asia/Shanghai", "Mars/Olympus"), "unknown time zone"),
    ],
)
def test_unusable_policy_says_why(edit, message):
    with pytest.raises(PolicyError, match=message):
        parse_policy(DEFAULT_TEXT.replace(*edit))


def test_policy_deadline_uses_calendar_time_or_working_time():
    p = parse_policy(DEFAULT_TEXT)
    start = datetime(2025, 9, 30, 2, tzinfo=UTC)  # 10:00 in Shanghai
    assert p.deadline(start, p.clocks.reply_promise) == datetime(2025, 9, 30, 4, tzinfo=UTC)
    assert p.deadline(start, p.clocks.coordination_deadline) == datetime(2025, 10, 2, 2, tzinfo=UTC)
