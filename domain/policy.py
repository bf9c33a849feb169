"""The policy: every configurable number of SPEC §4, calendars and carriers.

A policy is parsed from TOML text (the file is read by the shell) and pinned
on a ticket when it opens: the ticket's workflow carries its own copy, so
editing the file changes new tickets only.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domain.clock import CalendarError, DayRules, WorkingCalendar, weekly_calendar


class PolicyError(ValueError):
    """The policy file cannot be used; the message says where and why."""


_UNITS = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}
_DURATION = re.compile(
    r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<working>working\s+)?(?P<unit>[a-z]+)(?:\s+on\s+(?P<cal>[\w-]+))?\s*$"
)


class Duration(BaseModel):
    """Calendar time, or working time (hours or whole days) on a named calendar.

    Written in the policy file as "2h", "90 seconds", "20 working hours",
    "5 working days", "20 working hours on office".
    """

    model_config = ConfigDict(frozen=True)

    seconds: float = Field(default=0, ge=0)
    working: bool = False
    days: int = Field(default=0, ge=0)  # whole working days (R-CLK-8); only with working=True
    calendar: str = "default"

    @staticmethod
    def parse(text: str) -> Duration:
        m = _DURATION.match(text.lower())
        if not m or m["unit"] not in _UNITS:
            raise PolicyError(
                f"duration {text!r} is not understood; write e.g. '2h', '90 seconds', "
                "'20 working hours' or '20 working hours on office'"
            )
        if m["cal"] and not m["working"]:
            raise PolicyError(f"duration {text!r}: only working time is counted on a calendar")
        if m["working"] and _UNITS[m["unit"]] == 86400:
            if "." in m["n"]:
                raise PolicyError(f"duration {text!r}: working days are whole days")
            return Duration(days=int(m["n"]), working=True, calendar=m["cal"] or "default")
        return Duration(
            seconds=float(m["n"]) * _UNITS[m["unit"]],
            working=bool(m["working"]),
            calendar=m["cal"] or "default",
        )

    @property
    def amount(self) -> timedelta:
        return timedelta(seconds=self.seconds)

    def __str__(self) -> str:
        if self.days:
            return f"{self.days} working days on {self.calendar}"
        s = self.seconds
        qty = f"{s / 3600:g} hours" if s >= 3600 else f"{s / 60:g} minutes" if s >= 60 else f"{s:g} seconds"
        return f"{qty} working time on {self.calendar}" if self.working else qty


class CalendarSpec(BaseModel):
    """A calendar as declared in the policy file (R-CAL-1 is the default one)."""

    model_config = ConfigDict(frozen=True)

    timezone: str = "Asia/Shanghai"
    hours: dict[str, list[str]] = Field(default_factory=lambda: {"daily": ["08:00-18:00"]})
    # "cn": mainland China's public holidays and make-up working days (调休); "none": the week alone.
    holidays: Literal["cn", "none"] = "none"
    makeup_hours: list[str] | None = None  # hours of a make-up day the week keeps closed

    def build(self, name: str, rules: DayRules | None = None) -> WorkingCalendar:
        """The calendar; `rules` are the day rules of its holiday region (ignored for "none")."""
        days = rules if self.holidays != "none" else None
        return weekly_calendar(name, self.timezone, self.hours, days, self.makeup_hours)


class CarrierSpec(BaseModel):
    """A carrier whose tickets we run; its waybill format is R-WB-1."""

    model_config = ConfigDict(frozen=True)

    name: str
    waybill: str  # regular expression a waybill number must match in full

    @field_validator("waybill")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"waybill pattern {v!r} is not a regular expression: {exc}") from exc
        return v


class Clocks(BaseModel):
    model_config = ConfigDict(frozen=True)

    reply_promise: Duration  # R-CLK-1
    coordination_deadline: Duration  # R-CLK-4
    callback_retry: Duration  # R-INQ-4: next attempt after an unreachable customer
    direct_dispatch_answer: Duration = Duration(seconds=2 * 3600, working=True)  # R-CLK-2
    associated_dispatch_answer: Duration = Duration(seconds=4 * 3600, working=True)  # R-CLK-3
    loss_confirmation: Duration = Duration(seconds=7 * 86400)  # R-CLK-5
    result_letter: Duration = Duration(seconds=3 * 86400)  # R-CLK-7
    claim_window_days: int = Field(default=15, ge=1)  # R-CLK-6: calendar days after the ship date
    # Our own promises where the manuals name a step but no time (v3); each has a breach and a reminder.
    callback: Duration = Duration(seconds=2 * 3600)  # R-INQ-4: the call back once the station has answered
    urgent_review: Duration = Duration(seconds=30 * 60)  # R-URG-2: before an ordinary ticket would be taken on
    claim_details: Duration = Duration(seconds=3 * 86400)  # R-DMG-3: the sender's claim details
    offer_answer: Duration = Duration(seconds=2 * 86400)  # R-DMG-4: the customer's answer to the offer
    sender_decision: Duration = Duration(seconds=86400)  # R-CHG: the sender's confirmation
    claim_decision: Duration = Duration(days=5, working=True)  # R-CLM: the claims team's decision
    dispatch_delivery: Duration = Duration(seconds=10 * 60)  # R-ESC-6: retrying a dispatch the station system refuses
    specialist_decision: Duration = Duration(days=10, working=True)  # SPEC §7: a claims specialist decides
    penalty_decision: Duration = Duration(seconds=86400)  # R-SVC, R-CLK-9: the team lead acts within 24 h
    # R-CLK-8: the responsible unit accepts or appeals a liability ruling; HQ arbitration decides an appeal.
    liability_ruling: Duration = Duration(days=5, working=True)
    liability_arbitration: Duration = Duration(days=5, working=True)

    @field_validator("reply_promise", "coordination_deadline", "callback_retry", "loss_confirmation",
                     "result_letter", "direct_dispatch_answer", "associated_dispatch_answer", "callback",
                     "urgent_review", "claim_details", "offer_answer", "sender_decision", "claim_decision",
                     "dispatch_delivery", "specialist_decision", "penalty_decision", "liability_ruling",
                     "liability_arbitration", mode="before")
    @classmethod
    def _parse(cls, v: object) -> object:
        return Duration.parse(v) if isinstance(v, str) else v


def _duration(v: object) -> object:
    return Duration.parse(v) if isinstance(v, str) else v


class Tier(BaseModel):
    """One rung of an escalation ladder (R-ESC, R-CLK-9)."""

    model_config = ConfigDict(frozen=True)

    rule: str  # the SPEC rule it serves, e.g. "R-ESC-2"
    after: Duration  # after the ladder's start (first tier) or the tier before
    role: str  # who is told, from the directory of roles
    template: str  # which message
    channel: Literal["sms"] = "sms"
    answer_within: Duration | None = None  # the person told owes an answer; its breach is recorded

    @field_validator("after", "answer_within", mode="before")
    @classmethod
    def _parse(cls, v: object) -> object:
        return _duration(v)


class Ladder(BaseModel):
    """Who is told, in order, when a station leaves a dispatch unanswered."""

    model_config = ConfigDict(frozen=True)

    name: str
    start: Literal["coordination_deadline", "dispatch"]  # R-ESC-1 starts at the missed deadline; R-CLK-9 at dispatch
    kinds: list[str] = Field(default_factory=list)  # empty: every kind
    when: Literal["any", "urgent", "ordinary"] = "any"
    tiers: list[Tier] = Field(min_length=1)


class Notice(BaseModel):
    """A single message at a step of the flow (the urgent director's SMS, customers' messages)."""

    model_config = ConfigDict(frozen=True)

    rule: str
    role: str  # a directory role, or "customer"
    template: str


class Messaging(BaseModel):
    model_config = ConfigDict(frozen=True)

    templates: dict[str, str] = Field(default_factory=dict)  # name -> text with {placeholders}
    urgent_dispatch: Notice | None = None  # R-URG-2
    customer: dict[str, Notice] = Field(default_factory=dict)  # flow event -> message to the customer
    # A deadline kind -> who is reminded when it passes (the role that owes the answer), v3.
    reminders: dict[str, Notice] = Field(default_factory=dict)
    station_unreachable: Notice | None = None  # R-ESC-6: whom to tell when a dispatch cannot be delivered
    service_agent: Notice | None = None  # R-SVC: a complaint about an agent goes to the team lead


class ClaimsRules(BaseModel):
    """SPEC §7: which claims go to a claims specialist rather than the claims team."""

    model_config = ConfigDict(frozen=True)

    specialist_from: Decimal | None = Decimal("10000")  # yuan declared, the amount itself included; None: never


class IndicatorTarget(BaseModel):
    """R-KPI: an indicator's target, as a rate; `at_most` for the ones to keep low (escalation, invalid appeals)."""

    model_config = ConfigDict(frozen=True)

    target: Decimal = Field(ge=0, le=1)
    at_most: bool = False


def _default_targets() -> dict[str, IndicatorTarget]:
    return {
        "feedback_48h": IndicatorTarget(target=Decimal("0.90")),  # R-KPI-1
        "first_time_resolution": IndicatorTarget(target=Decimal("0.85")),  # R-KPI-2
        "escalation": IndicatorTarget(target=Decimal("0"), at_most=True),  # R-KPI-3
        "direct_dispatch_2h": IndicatorTarget(target=Decimal("0.90")),  # R-KPI-4
        "associated_dispatch_4h": IndicatorTarget(target=Decimal("0.90")),  # R-KPI-5
        "appeal_invalid": IndicatorTarget(target=Decimal("0.10"), at_most=True),  # R-KPI-6: "low"
    }


class ScoreComponent(BaseModel):
    """One component of the station (alliance partner) score (SPEC §9, seed 001)."""

    model_config = ConfigDict(frozen=True)

    name: str
    label: str  # Chinese first, English after " / "
    weight: Decimal = Field(gt=0)  # within its group
    source: Literal["tickets", "import"]  # computed from the tickets, or imported (CSV)


class ScoreGroup(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    label: str
    weight: Decimal = Field(gt=0, le=1)  # of the station score
    components: list[ScoreComponent] = Field(min_length=1)


def _default_scorecard() -> list[ScoreGroup]:
    c = ScoreComponent
    return [
        ScoreGroup(name="customer_service", label="客户服务水平 / Customer service", weight=Decimal("0.30"),
                   components=[
            c(name="order_response", label="订单响应能力 / Order response", weight=Decimal(1), source="import"),
            c(name="trace_speed", label="查货反应速度 / Trace speed", weight=Decimal(1), source="tickets"),
            c(name="exception_response", label="异常响应能力 / Exception response", weight=Decimal(1),
              source="tickets"),
            c(name="perfect_pod", label="完美回单率 / Perfect proof of delivery", weight=Decimal(1), source="import"),
        ]),
        ScoreGroup(name="delivery", label="交付能力 / Delivery", weight=Decimal("0.40"), components=[
            c(name="on_time_departure", label="交付及时率 / On-time departure", weight=Decimal(1), source="import"),
            c(name="quantity_accuracy", label="交付数量准确率 / Quantity accuracy", weight=Decimal(1),
              source="import"),
        ]),
        ScoreGroup(name="complaints", label="客户投诉 / Complaints", weight=Decimal("0.30"), components=[
            c(name="claims_promises", label="赔付承诺兑现 / Claims promises kept", weight=Decimal(1),
              source="tickets"),
            c(name="courier_attitude", label="送货服务态度 / Courier attitude", weight=Decimal(1), source="import"),
        ]),
    ]


class Quality(BaseModel):
    """SPEC §9: the indicators' targets and the station scorecard's weights and components."""

    model_config = ConfigDict(frozen=True)

    targets: dict[str, IndicatorTarget] = Field(default_factory=_default_targets)
    scorecard: list[ScoreGroup] = Field(default_factory=_default_scorecard)

    @model_validator(mode="after")
    def _weights(self) -> Quality:
        total = sum((g.weight for g in self.scorecard), Decimal(0))
        if self.scorecard and total != Decimal(1):
            raise ValueError(f"quality.scorecard group weights add up to {total}, not 1")
        names = [c.name for g in self.scorecard for c in g.components]
        if len(names) != len(set(names)):
            raise ValueError("quality.scorecard: a component name is used twice")
        return self


class Policy(BaseModel):
    """One version of the policy, as pinned on a ticket."""

    model_config = ConfigDict(frozen=True)

    version: str
    calendars: dict[str, CalendarSpec]
    clocks: Clocks
    carriers: dict[str, CarrierSpec]
    ladders: list[Ladder] = Field(default_factory=list)
    messages: Messaging = Field(default_factory=Messaging)
    claims: ClaimsRules = Field(default_factory=ClaimsRules)
    quality: Quality = Field(default_factory=Quality)

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        if "default" not in self.calendars:
            raise ValueError("a [calendars.default] table is required (R-CAL-1)")
        for name in self.calendars:
            self.calendar(name)  # builds it, raising on a bad spec
        for field, d in self.clocks:
            if isinstance(d, Duration) and d.working and d.calendar not in self.calendars:
                raise ValueError(f"clocks.{field} counts on calendar {d.calendar!r}, which is not declared")
        if not self.carriers:
            raise ValueError("at least one [carriers.<code>] table is required")
        for ladder in self.ladders:
            for tier in ladder.tiers:
                for d in (tier.after, tier.answer_within):
                    if d is not None and d.working and d.calendar not in self.calendars:
                        raise ValueError(
                            f"ladder {ladder.name}: {tier.rule} counts on undeclared calendar {d.calendar!r}")
                if tier.template not in self.messages.templates:
                    raise ValueError(f"ladder {ladder.name}: {tier.rule} uses unknown template {tier.template!r}")
        notices = (list(self.messages.customer.values()) + list(self.messages.reminders.values())
                   + [n for n in [self.messages.urgent_dispatch, self.messages.station_unreachable,
                                  self.messages.service_agent] if n])
        for notice in notices:
            if notice.template not in self.messages.templates:
                raise ValueError(f"message {notice.rule} uses unknown template {notice.template!r}")
        return self

    def calendar(self, name: str, rules: DayRules | None = None) -> WorkingCalendar:
        try:
            return self.calendars[name].build(name, rules)
        except CalendarError as exc:
            raise ValueError(str(exc)) from exc

    def calendar_for(self, duration: Duration) -> CalendarSpec | None:
        """The calendar a duration counts on; None for calendar time."""
        return self.calendars[duration.calendar] if duration.working else None

    def deadline(self, start: datetime, duration: Duration, rules: DayRules | None = None) -> datetime:
        """The absolute instant `duration` after `start` under this policy."""
        return due_at(start, duration, self.calendar_for(duration), rules).at


class Due(BaseModel):
    """A computed deadline, and the years it was counted on the weekly pattern for want of holiday data."""

    at: datetime
    unknown_years: list[int] = Field(default_factory=list)


def due_at(start: datetime, duration: Duration, calendar: CalendarSpec | None, rules: DayRules | None = None) -> Due:
    """The instant `duration` after `start`: plain addition, or working time on `calendar`."""
    if not duration.working:
        return Due(at=(start + duration.amount).astimezone(UTC))
    if calendar is None:
        raise PolicyError(f"working time needs a calendar ({duration})")
    cal = calendar.build(duration.calendar, rules)
    end = cal.add_days(start, duration.days) if duration.days else cal.add(start, duration.amount)
    return Due(at=end.astimezone(UTC), unknown_years=cal.unknown_years(start, end))


def extend_due(due: datetime, paused_from: datetime, paused_to: datetime, measure: Duration,
               calendar: CalendarSpec | None, rules: DayRules | None = None) -> datetime:
    """R-CLK-1 pause: `due` moved later by the time paused, counted in the deadline's own measure."""
    if not measure.working:
        return (due + (paused_to - paused_from)).astimezone(UTC)
    if calendar is None:
        raise PolicyError(f"working time needs a calendar ({measure})")
    cal = calendar.build(measure.calendar, rules)
    return cal.add(due, cal.working_time_between(paused_from, paused_to)).astimezone(UTC)


def parse_policy(text: str) -> Policy:
    """Parse policy TOML; the version gets a content hash so two edits never share one."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy is not valid TOML: {exc}") from exc
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    raw["version"] = f"{raw.get('version', 'unversioned')}+{digest}"
    try:
        return Policy.model_validate(raw)
    except (ValidationError, PolicyError) as exc:
        raise PolicyError(f"policy is not usable: {exc}") from exc
