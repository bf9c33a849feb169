"""Every ticket kind's flow under the time-skipping server (SPEC §3, §6, §7); days pass in milliseconds."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from domain.claims import ClaimDecision, ClaimDetails, ClaimOutcome
from domain.customer import CustomerRole
from domain.deadlines import DeadlineKind
from domain.directory import Contact, Role
from domain.dispatch import DispatchPurpose
from domain.kinds import Kind
from domain.messages import (
    CallbackOutcome,
    CallbackReport,
    OfferAnswer,
    ParcelStatus,
    PenaltyDecision,
    ReviewResult,
    SenderDecision,
    StationReply,
)
from domain.shipment import Contents, ShipmentFacts, Signing
from domain.statuses import Status
from domain.steps import Action
from domain.ticket import ChangeAction, ChangeRequest
from domain.urgency import assess_urgency
from store.claims import ClaimStore
from store.directory import DirectoryStore
from store.messages import MessageStore
from tests.conftest import make_opening
from tests.workflows.conftest import breaches, keep_history, until
from workflows.ticket import TicketWorkflow

SH = ZoneInfo("Asia/Shanghai")
FULL_DETAILS = ClaimDetails(contents="a phone", declared_value=Decimal("3000"), packaging="box",
                            freight=Decimal("18"), insured=False)


def _actions(view) -> list[str]:
    return [s.action.value for s in view.steps]


def _status(status):
    return lambda v: v.status == status


async def _env_today(env):
    return (await env.get_current_time()).astimezone(SH).date()


def _reply(status: ParcelStatus | None = None, finding: str = "looked") -> StationReply:
    return StationReply(station="SH-PD-01", finding=finding, parcel_status=status)


async def test_r_loss_3_a_loss_found_on_day_6_closes_as_found(time_skipping_env, worker, weekly_policy, open_ticket):
    env = time_skipping_env
    handle = await open_ticket(env, worker, weekly_policy, kind=Kind.LOSS)
    view = await until(env, handle, _status(Status.AWAITING_STATION))
    confirmation = view.deadlines[0]
    assert confirmation.kind == DeadlineKind.LOSS_CONFIRMATION and confirmation.rule == "R-CLK-5"
    assert confirmation.due_at - confirmation.started_at == timedelta(days=7)
    await env.sleep(timedelta(days=6))
    await handle.signal(TicketWorkflow.station_replied, _reply(ParcelStatus.AT_STATION, "found on a shelf"))
    final = await handle.result()
    assert final.resolution == "found" and Action.LOSS_CONFIRMED not in [s.action for s in final.steps]
    assert final.deadlines[0].met_at is not None and final.deadlines[0].met_at < confirmation.due_at
    await keep_history(handle, "loss_found_on_day_6")


async def test_r_loss_2_no_news_by_day_7_confirms_the_loss_at_exactly_7_days_then_claims_decide(
    time_skipping_env, worker, weekly_policy, open_ticket, ticket_store
):
    env = time_skipping_env
    today = await _env_today(env)
    handle = await open_ticket(env, worker, weekly_policy, kind=Kind.LOSS, claim_details=FULL_DETAILS,
                               shipment=ShipmentFacts(ship_date=today - timedelta(days=2)), opened_on=today)
    view = await until(env, handle, _status(Status.AWAITING_STATION))
    due = view.deadlines[0].due_at
    await env.sleep(timedelta(days=1))
    await handle.signal(TicketWorkflow.station_replied, _reply(ParcelStatus.NOT_FOUND, "not in the depot"))
    view = await until(env, handle, lambda v: v.steps[-1].action == Action.STATION_REPLIED)
    assert view.status == Status.AWAITING_STATION  # the search goes on (R-LOSS-1)

    await env.sleep(timedelta(days=7))
    view = await until(env, handle, _status(Status.AWAITING_CLAIM))
    confirmed = next(s for s in view.steps if s.action == Action.LOSS_CONFIRMED)
    assert view.deadlines[0].met_at == due  # confirmed at exactly the 7-day instant (R-LOSS-2, R-CLK-5)
    assert due <= confirmed.at < due + timedelta(seconds=1)
    dispatches, _ = await ticket_store.dispatches("SH-PD-01", pending_only=False, limit=10, offset=0)
    assert [d.purpose for d in dispatches] == [DispatchPurpose.VERIFY, DispatchPurpose.DECLARE_LOSS]
    told = [s.note for s in view.steps if s.action == Action.CUSTOMER_TOLD]
    assert "the company will compensate the sender" in told  # R-LOSS-5: the caller is the recipient
    assert any("within 15 days of the ship date" in n for n in told)
    filed = await ClaimStore(ticket_store.engine).get(view.ticket_id)
    assert filed is not None and filed.details == FULL_DETAILS and filed.decided_at is None

    await handle.signal(TicketWorkflow.claim_decided, ClaimDecision(outcome=ClaimOutcome.PAID, amount=Decimal("318.00")))
    final = await handle.result()
    assert final.resolution == "claim_paid" and final.claim_decision.amount == Decimal("318.00")
    decided = next(s for s in final.steps if s.action == Action.CLAIM_DECIDED)
    assert decided.data["amount"] == "318.00" and decided.data["rule"] == "R-CLK-7"
    letter_due = datetime.fromisoformat(decided.data["result_letter_due"])
    assert timedelta(0) <= decided.at + timedelta(days=3) - letter_due < timedelta(seconds=1)  # R-CLK-7
    assert (await ClaimStore(ticket_store.engine).get(final.ticket_id)).outcome == ClaimOutcome.PAID
    await keep_history(handle, "loss_confirmed_claim_paid")


async def test_r_loss_4_signed_by_another_with_consent_is_not_a_loss(time_skipping_env, worker, weekly_policy, open_ticket):
    env = time_skipping_env
    handle = await open_ticket(env, worker, weekly_policy, kind=Kind.LOSS,
                               shipment=ShipmentFacts(signed=True, signing=Signing.OTHER_WITH_CONSENT))
    final = await handle.result()
    assert final.resolution == "not_accepted" and final.not_accepted_reason
    assert final.steps[-2].action == Action.NOT_ACCEPTED and final.steps[-2].data["rule"] == "R-LOSS-4"
    assert final.dispatch_round == 0
    await keep_history(handle, "loss_not_accepted")


@pytest.mark.parametrize(
    "signing, accepted, rule",
    [
        (Signing.IN_PERSON_UNINSPECTED, False, "R-DMG-1"),
        (Signing.OTHER_WITH_CONSENT, False, "R-DMG-1"),
        (Signing.OTHER_WITHOUT_CONSENT, True, "R-DMG-2"),
        (Signing.IN_PERSON_INSPECTED, True, "R-DMG-2"),
    ],
)
async def test_r_dmg_1_2_each_signing_circumstance_decides_acceptance(
    time_skipping_env, worker, weekly_policy, open_ticket, signing, accepted, rule
):
    env = time_skipping_env
    handle = await open_ticket(env, worker, weekly_policy, kind=Kind.DAMAGE, claim_details=FULL_DETAILS,
                               shipment=ShipmentFacts(signed=True, signing=signing))
    if not accepted:
        final = await handle.result()
        assert final.resolution == "not_accepted" and final.steps[-2].data["rule"] == rule
        return
    view = await until(env, handle, _status(Status.AWAITING_STATION))  # verify with the courier (R-DMG-3)
    await handle.signal(TicketWorkflow.station_replied, _reply(finding="courier confirms the dent"))
    view = await until(env, handle, _status(Status.AWAITING_OFFER_ANSWER))
    assert Action.OFFER_MADE in [s.action for s in view.steps]  # R-DMG-4
    await handle.signal(TicketWorkflow.offer_answered, OfferAnswer(accepted=True, note="re-ship it"))
    final = await handle.result()
    assert final.resolution == "reshipped"
    if signing == Signing.OTHER_WITHOUT_CONSENT:
        await keep_history(handle, "damage_reshipped")


@pytest.mark.parametrize("days_after_ship, resolution", [(15, None), (16, "claim_refused")])
async def test_r_clk_6_a_claim_on_day_16_is_refused_day_15_is_filed(
    time_skipping_env, worker, weekly_policy, open_ticket, days_after_ship, resolution
):
    """R-DMG-5 / R-CLK-6: the offer is refused, so the claim goes in, 15 days after the ship date at most."""
    env = time_skipping_env
    today = await _env_today(env)
    handle = await open_ticket(env, worker, weekly_policy, kind=Kind.SHORTAGE, claim_details=FULL_DETAILS,
                               shipment=ShipmentFacts(signed=True, signing=Signing.IN_PERSON_INSPECTED,
                                                      ship_date=today - timedelta(days=days_after_ship)),
                               opened_on=today)  # reported on the day: R-CLK-6 counts to the claim
    await until(env, handle, _status(Status.AWAITING_STATION))
    await handle.signal(TicketWorkflow.station_replied, _reply(finding="one item missing"))
    await until(env, handle, _status(Status.AWAITING_OFFER_ANSWER))
    await handle.signal(TicketWorkflow.offer_answered, OfferAnswer(accepted=False, note="wants money"))
    if resolution:
        final = await handle.result()
        assert final.resolution == resolution and final.claim_filed_at is None
        refused = next(s for s in final.steps if s.action == Action.CLAIM_REFUSED)
        assert "16 days after the ship date" in refused.note and refused.data["rule"] == "R-CLK-6"
        await keep_history(handle, "shortage_claim_refused_on_day_16")
        return
    view = await until(env, handle, _status(Status.AWAITING_CLAIM))
    assert view.claim_filed_at is not None
    await handle.signal(TicketWorkflow.claim_decided,
                        ClaimDecision(outcome=ClaimOutcome.REJECTED, reason="packaging was the sender's"))
    final = await handle.result()
    assert final.resolution == "claim_rejected"
    await keep_history(handle, "shortage_offer_refused_claim_rejected")


async def test_r_urg_2_an_urgent_ticket_waits_for_review_before_dispatch(
    time_skipping_env, worker, weekly_policy, open_ticket, ticket_store
):
    env = time_skipping_env
    facts = ShipmentFacts(contents=Contents.PASSPORT)
    handle = await open_ticket(env, worker, weekly_policy, shipment=facts, urgency=assess_urgency(facts))
    view = await until(env, handle, _status(Status.AWAITING_REVIEW))
    assert view.urgency.urgent and view.dispatch_round == 0
    await env.sleep(timedelta(hours=5))
    assert (await ticket_store.dispatches("SH-PD-01", False, 10, 0))[1] == 0 or view.dispatch_round == 0
    await handle.signal(TicketWorkflow.urgent_reviewed, ReviewResult(approved=True, reviewer="urgent-group"))
    view = await until(env, handle, _status(Status.AWAITING_STATION))
    actions = [s.action for s in view.steps]
    assert view.dispatch_round == 1 and actions.index(Action.REVIEWED) < actions.index(Action.DISPATCHED)
    await keep_history(handle, "inquiry_urgent_reviewed_then_dispatched")


async def test_r_svc_apology_refused_goes_to_the_station_head_then_a_follow_up(
    time_skipping_env, worker, weekly_policy, open_ticket
):
    env = time_skipping_env
    handle = await open_ticket(env, worker, weekly_policy, kind=Kind.SERVICE, waybill=None)
    await until(env, handle, _status(Status.AWAITING_CALLBACK))
    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.DISPUTED))
    await until(env, handle, _status(Status.AWAITING_PENALTY))
    await handle.signal(TicketWorkflow.penalty_decided, PenaltyDecision(penalised=True, decision="courier fined"))
    await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK and v.callback_attempts == 1)
    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED))
    final = await handle.result()
    assert final.resolution == "satisfied"
    assert [a for a in _actions(final) if a in ("apologised", "dispatched", "penalty_decided", "closed")] == [
        "apologised", "dispatched", "penalty_decided", "closed"]
    await keep_history(handle, "service_penalty_satisfied")


async def test_r_svc_apology_accepted_closes(time_skipping_env, worker, weekly_policy, open_ticket):
    env = time_skipping_env
    handle = await open_ticket(env, worker, weekly_policy, kind=Kind.SERVICE)
    await until(env, handle, _status(Status.AWAITING_CALLBACK))
    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED))
    assert (await handle.result()).resolution == "apology_accepted"
    await keep_history(handle, "service_apology_accepted")


@pytest.mark.parametrize("agreed", [True, False])
async def test_r_chg_a_recipients_change_is_confirmed_with_the_sender_first_fresh_first(
    time_skipping_env, worker, weekly_policy, open_ticket, ticket_store, agreed
):
    env = time_skipping_env
    handle = await open_ticket(env, worker, weekly_policy, kind=Kind.CHANGE,
                               change=ChangeRequest(action=ChangeAction.REDIRECT, details="No. 8 Road"),
                               shipment=ShipmentFacts(fresh_or_food=True))
    await until(env, handle, _status(Status.AWAITING_SENDER))
    await handle.signal(TicketWorkflow.sender_decided, SenderDecision(agreed=agreed))
    if not agreed:
        assert (await handle.result()).resolution == "refused_by_sender"
        await keep_history(handle, "change_refused_by_sender")
        return
    view = await until(env, handle, _status(Status.AWAITING_STATION))
    # The dispatch is delivered beside the flow (v3): the outbox may get it a moment after the status changes.
    for _ in range(100):
        dispatches, _ = await ticket_store.dispatches("SH-PD-01", pending_only=True, limit=10, offset=0)
        mine = [d for d in dispatches if d.ticket_id == view.ticket_id]
        if mine:
            break
        await asyncio.sleep(0.05)
    assert mine[0].purpose == DispatchPurpose.ARRANGE_CHANGE and mine[0].priority is True
    await handle.signal(TicketWorkflow.station_replied, _reply(finding="redirected"))
    assert (await handle.result()).resolution == "changed"
    await keep_history(handle, "change_redirected")


async def test_a_change_asked_by_the_sender_needs_no_confirmation(time_skipping_env, worker, weekly_policy, open_ticket):
    env = time_skipping_env
    opening_customer = make_opening(weekly_policy).customer.model_copy(update={"role": CustomerRole.SENDER})
    handle = await open_ticket(env, worker, weekly_policy, kind=Kind.CHANGE, customer=opening_customer,
                               change=ChangeRequest(action=ChangeAction.RETURN))
    view = await until(env, handle, _status(Status.AWAITING_STATION))
    assert view.steps[-2].action == Action.SENDER_DECIDED or Action.SENDER_DECIDED in [s.action for s in view.steps]
    await keep_history(handle, "change_asked_by_the_sender")


async def test_a_consult_is_answered_recorded_and_closed_at_once(time_skipping_env, worker, weekly_policy, open_ticket):
    handle = await open_ticket(time_skipping_env, worker, weekly_policy, kind=Kind.CONSULT, waybill=None,
                               consult_answer="we deliver on Sundays")
    final = await handle.result()
    assert final.resolution == "answered" and final.steps[-2].note == "we deliver on Sundays"
    await keep_history(handle, "consult_answered")


async def test_r_pu_pickup_reply_promise_runs_from_the_call(time_skipping_env, worker, weekly_policy, open_ticket):
    env = time_skipping_env
    handle = await open_ticket(env, worker, weekly_policy, kind=Kind.PICKUP)
    view = await until(env, handle, _status(Status.AWAITING_STATION))
    promise = next(d for d in view.deadlines if d.kind == DeadlineKind.REPLY)
    assert promise.started_at < view.deadlines[-1].started_at  # before the dispatch
    assert promise.due_at - promise.started_at == timedelta(hours=2)  # R-CLK-1
    await env.sleep(timedelta(hours=3))  # the station is slow: the promise to the customer is broken
    view = await handle.query(TicketWorkflow.view)
    assert [k for k, _ in breaches(view, DeadlineKind.REPLY, DeadlineKind.COORDINATION)] == [DeadlineKind.REPLY]
    await handle.signal(TicketWorkflow.station_replied, _reply(finding="courier comes at 15:00"))
    await until(env, handle, _status(Status.AWAITING_CALLBACK))
    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED))
    final = await handle.result()
    assert final.resolution == "resolved" and len([d for d in final.deadlines if d.kind == DeadlineKind.REPLY]) == 1
    await keep_history(handle, "pickup_promise_breached")


async def test_r_inq_5_a_delay_needing_compensation_goes_to_claims(time_skipping_env, worker, weekly_policy, open_ticket):
    env = time_skipping_env
    today = await _env_today(env)
    handle = await open_ticket(env, worker, weekly_policy, kind=Kind.DELAY, claim_details=FULL_DETAILS,
                               shipment=ShipmentFacts(ship_date=today - timedelta(days=6)), opened_on=today)
    await until(env, handle, _status(Status.AWAITING_STATION))
    await handle.signal(TicketWorkflow.station_replied, _reply(ParcelStatus.IN_TRANSIT, "late truck"))
    await until(env, handle, _status(Status.AWAITING_CALLBACK))
    await handle.signal(TicketWorkflow.callback_done,
                        CallbackReport(outcome=CallbackOutcome.RESOLVED, compensation_needed=True))
    await until(env, handle, _status(Status.AWAITING_CLAIM))
    await handle.signal(TicketWorkflow.claim_decided, ClaimDecision(outcome=ClaimOutcome.PAID, amount=Decimal("20")))
    final = await handle.result()
    assert final.resolution == "claim_paid"
    await keep_history(handle, "delay_compensated")


async def test_r_inq_1_a_front_desk_answer_the_customer_accepts_closes_the_ticket(
    time_skipping_env, worker, weekly_policy, open_ticket
):
    handle = await open_ticket(time_skipping_env, worker, weekly_policy, front_desk_resolved=True,
                               shipment=ShipmentFacts(signed=True, signing=Signing.IN_PERSON_INSPECTED))
    final = await handle.result()
    assert final.resolution == "answered_at_front_desk" and final.dispatch_round == 0
    await keep_history(handle, "inquiry_front_desk_resolved")
    assert final.steps[1].action == Action.STATUS_CHECKED and final.steps[1].data["answer"] == "signed"


async def test_r_loss_1_a_silent_or_suspended_station_brings_in_the_network_manager_once(
    time_skipping_env, worker, policy, open_ticket, ticket_store
):
    """R-LOSS-1, R-ESC-6: the network manager is told through the directory (not the silent station's own
    outbox) when the station lets the coordination deadline pass, and not again when it turns out suspended."""
    env = time_skipping_env
    await DirectoryStore(ticket_store.engine).put(
        Contact(role=Role.NETWORK_MANAGER, scope="shanghai", name="网管", phone="+8613900000006"), datetime.now(SH))
    no_ladders = policy.model_copy(update={"ladders": []})
    handle = await open_ticket(env, worker, no_ladders, kind=Kind.LOSS, station_province="shanghai")
    await until(env, handle, _status(Status.AWAITING_STATION))
    await env.sleep(timedelta(days=3))  # past the coordination deadline (R-CLK-4): the station is silent
    view = await until(env, handle, lambda v: any(s.data.get("rule") == "R-LOSS-1" for s in v.steps))
    assert [k for k, _ in breaches(view, DeadlineKind.COORDINATION)] == [DeadlineKind.COORDINATION]
    await handle.signal(TicketWorkflow.station_replied,
                        StationReply(station="SH-PD-01", finding="station closed", station_suspended=True,
                                     parcel_status=ParcelStatus.NOT_FOUND))
    view = await until(env, handle, lambda v: v.steps[-1].action == Action.STATION_REPLIED)
    await until(env, handle, lambda v: not v.pending_messages)
    dispatches, _ = await ticket_store.dispatches("SH-PD-01", pending_only=False, limit=10, offset=0)
    assert [d.purpose for d in dispatches if d.ticket_id == view.ticket_id] == [DispatchPurpose.VERIFY]
    asked = [s for s in view.steps if s.action == Action.ESCALATED and s.data.get("role") == "network_manager"]
    assert len(asked) == 1 and asked[0].data["rule"] == "R-LOSS-1"
    texts = [m for m in await MessageStore(ticket_store.engine).for_ticket(view.ticket_id)
             if m.role == "network_manager"]
    assert [m.phone for m in texts] == ["+8613900000006"]  # once, through the directory
    await keep_history(handle, "loss_station_silent_then_suspended")
