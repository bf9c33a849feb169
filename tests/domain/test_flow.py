"""The inquiry flow's decisions (R-INQ-4) and the ticket state's bookkeeping (R-REC-1)."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from domain.customer import Customer, CustomerRole
from domain.deadlines import DeadlineKind
from domain.flow import NextStep, after_callback, refusal, resolution_at_intake
from domain.ids import request_fingerprint, ticket_id_for_key
from domain.kinds import Kind
from domain.messages import CallbackOutcome, Message
from domain.policy import Duration, parse_policy
from domain.shipment import ShipmentFacts, Signing
from domain.statuses import Status
from domain.steps import Action
from domain.ticket import TicketOpening, TicketState
from workflows.visibility import static_summary


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
    assert refusal(Status.CLOSED, Message.CALLBACK) == "the ticket is closed"
    assert refusal(Status.CLOSED, Message.STATION_REPLY) == "the ticket is closed"


def test_a_ticket_takes_only_the_message_it_waits_for():
    assert refusal(Status.AWAITING_STATION, Message.STATION_REPLY) is None
    assert refusal(Status.AWAITING_CALLBACK, Message.CALLBACK) is None
    assert "waiting for a station ack or station reply, not a callback" in refusal(Status.AWAITING_STATION, Message.CALLBACK)
    assert refusal(Status.AWAITING_STATION, Message.STATION_ACK) is None  # R-CLK-2/3
    assert "open and not waiting" in refusal(Status.OPEN, Message.STATION_REPLY)
    assert refusal(Status.AWAITING_CALLBACK, Message.CUSTOMER_CONTACT) is not None


def test_r_clk_1_a_paused_ticket_takes_another_callback_or_the_customer_getting_in_touch():
    assert refusal(Status.AWAITING_CUSTOMER, Message.CALLBACK) is None
    assert refusal(Status.AWAITING_CUSTOMER, Message.CUSTOMER_CONTACT) is None
    assert "callback or customer contact" in refusal(Status.AWAITING_CUSTOMER, Message.STATION_REPLY)


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


@pytest.mark.parametrize("kind, shipment, resolved, expected", [
    (Kind.CONSULT, ShipmentFacts(), False, "answered"),
    (Kind.INQUIRY, ShipmentFacts(), True, "answered_at_front_desk"),
    (Kind.INQUIRY, ShipmentFacts(), False, None),
    (Kind.DAMAGE, ShipmentFacts(signed=True, signing=Signing.IN_PERSON_UNINSPECTED), False, "not_accepted"),
    (Kind.DAMAGE, ShipmentFacts(signed=True, signing=Signing.OTHER_WITHOUT_CONSENT), False, None),
    (Kind.LOSS, ShipmentFacts(signed=True, signing=Signing.OTHER_WITH_CONSENT), False, "not_accepted"),
])
def test_r_dmg_1_r_loss_4_r_inq_1_what_closes_a_ticket_the_moment_it_opens(kind, shipment, resolved, expected):
    decided = resolution_at_intake(kind, shipment, resolved)
    assert (decided[0] if decided else None) == expected
