"""The inquiry flow's decisions (R-INQ-4) and the ticket state's bookkeeping (R-REC-1)."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from domain.flow import NextStep, after_callback, refusal
from domain.policy import Duration, parse_policy
from domain.ticket import (
    Action,
    CallbackOutcome,
    Customer,
    CustomerRole,
    DeadlineKind,
    Kind,
    Status,
    TicketOpening,
    TicketState,
    request_fingerprint,
    static_summary,
    ticket_id_for_key,
)


@pytest.mark.parametrize(
    "outcome, step",
    [
        (CallbackOutcome.RESOLVED, NextStep.CLOSE),
        (CallbackOutcome.DISPUTED, NextStep.REDISPATCH),
        (CallbackOutcome.UNREACHABLE, NextStep.RETRY_CALLBACK),
    ],
)
def test_r_inq_4_callback_outcome_decides_the_next_step(outcome, step):
    assert after_callback(Kind.INQUIRY, outcome) is step


def test_r_inq_5_a_delay_needing_compensation_goes_to_claims_other_kinds_do_not():
    assert after_callback(Kind.DELAY, CallbackOutcome.RESOLVED, compensation_needed=True) is NextStep.CLAIM
    assert after_callback(Kind.DELAY, CallbackOutcome.RESOLVED) is NextStep.CLOSE
    assert after_callback(Kind.INQUIRY, CallbackOutcome.RESOLVED, compensation_needed=True) is NextStep.CLOSE


def test_closed_ticket_refuses_every_message():
    assert refusal(Status.CLOSED, "callback") == "the ticket is closed"
    assert refusal(Status.CLOSED, "station_reply") == "the ticket is closed"


def test_a_ticket_takes_only_the_message_it_waits_for():
    assert refusal(Status.AWAITING_STATION, "station_reply") is None
    assert refusal(Status.AWAITING_CALLBACK, "callback") is None
    assert "waiting for a station ack or station reply, not a callback" in refusal(Status.AWAITING_STATION, "callback")
    assert refusal(Status.AWAITING_STATION, "station_ack") is None  # R-CLK-2/3
    assert "open and not waiting" in refusal(Status.OPEN, "station_reply")
    assert refusal(Status.AWAITING_CALLBACK, "customer_contact") is not None


def test_r_clk_1_a_paused_ticket_takes_another_callback_or_the_customer_getting_in_touch():
    assert refusal(Status.AWAITING_CUSTOMER, "callback") is None
    assert refusal(Status.AWAITING_CUSTOMER, "customer_contact") is None
    assert "callback or customer contact" in refusal(Status.AWAITING_CUSTOMER, "station_reply")


def test_r_clk_1_only_promises_to_the_customer_pause_never_a_stations_deadline():
    t = _state()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    measure = Duration(seconds=7200)
    station = t.start_deadline(DeadlineKind.COORDINATION, 1, measure, start, start + timedelta(hours=20))
    reply = t.start_deadline(DeadlineKind.REPLY, 1, measure, start, start + timedelta(hours=2))
    met = t.start_deadline(DeadlineKind.REPLY, 0, measure, start, start + timedelta(hours=2))
    met.met_at = start
    at = start + timedelta(minutes=30)
    assert t.pause_for_customer(at) == [reply]
    assert reply.paused and not station.paused and not met.paused
    assert t.paused_deadlines() == [reply]
    assert t.pause_for_customer(at) == []  # already paused: not paused twice


def _state() -> TicketState:
    policy = parse_policy((Path(__file__).parents[2] / "policy" / "default.toml").read_text())
    opening = TicketOpening(
        ticket_id="t1", kind=Kind.INQUIRY, carrier="best", waybill="123456789012", station="S1",
        customer=Customer(name="张三", phone="+8613812345678", role=CustomerRole.RECIPIENT),
        description="where", policy=policy, fingerprint="f", opened_on=date(2025, 1, 1),
    )
    return TicketState.from_opening(opening, datetime(2025, 1, 1, tzinfo=UTC))


def test_r_rec_1_steps_are_numbered_in_order():
    t = _state()
    at = datetime(2025, 1, 1, 1, tzinfo=UTC)
    assert [t.add_step(at, a).seq for a in (Action.OPENED, Action.DISPATCHED, Action.CLOSED)] == [1, 2, 3]


def test_breaches_are_derived_from_deadlines_that_passed():
    t = _state()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    measure = Duration(seconds=3600)
    met = t.start_deadline(DeadlineKind.COORDINATION, 1, measure, start, start + timedelta(hours=1))
    met.met_at = start + timedelta(minutes=5)
    missed = t.start_deadline(DeadlineKind.REPLY, 1, measure, start, start + timedelta(hours=2))
    missed.breached_at = missed.due_at
    assert [(b.kind, b.rule, b.at) for b in t.breaches] == [(DeadlineKind.REPLY, "R-CLK-1", missed.due_at)]
    assert met.rule == "R-CLK-4"


def test_ops_summary_never_carries_name_or_phone():
    summary = static_summary(Kind.INQUIRY, "123456789012", "S1")
    assert summary == "inquiry · waybill 123456789012 · station S1"


def test_idempotency_key_maps_to_one_ticket_id_and_fingerprint_ignores_key_order():
    assert ticket_id_for_key("k1") == ticket_id_for_key("k1") != ticket_id_for_key("k2")
    assert request_fingerprint({"a": 1, "b": "x"}) == request_fingerprint({"b": "x", "a": 1})
