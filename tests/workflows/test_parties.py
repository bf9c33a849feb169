"""Parties, stations and claims as the carriers work (issue 11), under the time-skipping server.

R-LOSS-2 (the origin station declares), R-LOSS-5 (the sender is compensated and asked for the written
claim, the recipient told), R-CLK-6 (the 15 days count to the customer's claim), SPEC §7 (high-value or
disputed claims to a specialist), R-SVC (a complaint routes by its target), R-URG-1 (assessed again).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from activities.calendar import HolidaySource
from domain.claims import ClaimDecision, ClaimDetails, ClaimOutcome, ClaimQueue
from domain.customer import Customer, CustomerRole
from domain.deadlines import DeadlineKind
from domain.directory import Contact, Role
from domain.dispatch import DispatchPurpose
from domain.kinds import Kind
from domain.messages import Amendment, CallbackOutcome, CallbackReport, PenaltyDecision
from domain.parties import Address, Party
from domain.shipment import Contents, ShipmentFacts
from domain.statuses import Status
from domain.steps import Action
from domain.ticket import ServiceTarget
from store.claims import ClaimStore
from store.directory import DirectoryStore
from store.messages import MessageStore
from tests.workflows.conftest import running_worker, until
from workflows.ticket import TicketWorkflow

SH = ZoneInfo("Asia/Shanghai")
SENDER = Party(name="李四", phone="+8613987654321",
               address=Address(province="浙江省", city="杭州市", district="西湖区", detail="文三路 90 号"))
RECIPIENT = Party(name="张三", phone="+8613812345678",
                  address=Address(province="上海市", city="上海市", district="浦东新区", detail="张江路 88 弄"))
CALLER = Customer(name="张三", phone="+8613812345678", role=CustomerRole.RECIPIENT)
FULL = ClaimDetails(contents="two books", declared_value=Decimal("120"), packaging="envelope",
                    freight=Decimal("12"), insured=False)
PEOPLE = [(Role.TEAM_LEAD, "best", "+8613900000004"), (Role.CLAIMS_TEAM, "best", "+8613900000008"),
          (Role.CLAIMS_SPECIALIST, "best", "+8613900000009"), (Role.NETWORK_MANAGER, "shanghai", "+8613900000006")]


@pytest.fixture
async def directory(ticket_store):
    store = DirectoryStore(ticket_store.engine)
    for role, scope, phone in PEOPLE:
        await store.put(Contact(role=role, scope=scope, name="值班", phone=phone), datetime.now(SH))


@pytest.fixture
def no_ladders(policy):
    return policy.model_copy(update={"ladders": []})


async def _today(env):
    return (await env.get_current_time()).astimezone(SH).date()


def _loss(today, days_after_ship: int, **overrides):
    return dict(kind=Kind.LOSS, customer=CALLER, sender=SENDER, recipient=RECIPIENT, origin_station="HZ-XH-02",
                station_province="shanghai", claim_details=FULL, opened_on=today,
                shipment=ShipmentFacts(ship_date=today - timedelta(days=days_after_ship)), **overrides)


async def test_r_loss_5_a_loss_reported_on_day_9_is_declared_by_the_origin_station_and_compensated_to_the_sender(
    fresh_env, ticket_store, directory, no_ladders, open_ticket
):
    """Opened 9 days after shipping, the station silent: the carrier's own 7-day search (R-CLK-5) ends on
    day 16, yet the claim stands, because the customer claimed on day 9 (R-CLK-6). The origin station
    declares the loss (R-LOSS-2); the sender is the claimant and is asked for the written claim; the
    recipient, who called, is told the sender is compensated (R-LOSS-5)."""
    env = fresh_env
    today = await _today(env)
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle = await open_ticket(env, queue, no_ladders, **_loss(today, 9))
        await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        await env.sleep(timedelta(days=8))
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_CLAIM)
        await until(env, handle, lambda v: not v.pending_messages)
        await handle.signal(TicketWorkflow.claim_decided, ClaimDecision(outcome=ClaimOutcome.PAID,
                                                                        amount=Decimal("132")))
        final = await handle.result()
    assert final.resolution == "claim_paid"
    filed = next(s for s in view.steps if s.action == Action.CLAIM_FILED)
    assert filed.data["claimant"] == "sender" and filed.data["claimed_on"] == today.isoformat()
    claim = await ClaimStore(ticket_store.engine).get(final.ticket_id)
    assert (claim.claimant.name, claim.claimant.phone, claim.claimant.role) == ("李四", "+8613987654321", "sender")
    dispatches, _ = await ticket_store.dispatches("HZ-XH-02", pending_only=False, limit=10, offset=0)
    assert [(d.purpose, d.station) for d in dispatches] == [(DispatchPurpose.DECLARE_LOSS, "HZ-XH-02")]
    texts = {m.purpose: m.phone for m in await MessageStore(ticket_store.engine).for_ticket(final.ticket_id)}
    assert texts["customer compensation_to_sender"] == "+8613812345678"  # the recipient
    assert texts["customer written_claim"] == "+8613987654321"  # the sender
    assert final.sender.address.detail == "文三路 90 号"  # kept verbatim


@pytest.mark.parametrize("days_after_ship, written_on_day, refused", [
    (16, None, True), (9, 16, True), (9, 15, False),
])
async def test_r_clk_6_the_15_days_count_to_the_day_the_customer_claimed(
    fresh_env, ticket_store, directory, no_ladders, open_ticket, days_after_ship, written_on_day, refused
):
    """The call that reported the loss is its claim, unless a written claim came later (then that day)."""
    env = fresh_env
    today = await _today(env)
    details = FULL.model_copy(update={"written_claim_on": (today - timedelta(days=days_after_ship)
                                                           + timedelta(days=written_on_day))
                                      if written_on_day else None})
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle = await open_ticket(env, queue, no_ladders, **{**_loss(today, days_after_ship), "claim_details": details})
        await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        await env.sleep(timedelta(days=8))
        view = await until(env, handle, lambda v: v.status in (Status.AWAITING_CLAIM, Status.CLOSED))
    if refused:
        step = next(s for s in view.steps if s.action == Action.CLAIM_REFUSED)
        assert step.data["rule"] == "R-CLK-6" and "claimed 16 days after the ship date" in step.note
        assert view.resolution == "claim_refused"
    else:
        assert view.status == Status.AWAITING_CLAIM and view.claim_filed_at is not None


async def test_r_clk_6_a_claim_without_a_ship_date_asks_for_it_instead_of_skipping_the_rule(
    fresh_env, ticket_store, directory, no_ladders, open_ticket
):
    env = fresh_env
    today = await _today(env)
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle = await open_ticket(env, queue, no_ladders, **{**_loss(today, 3), "shipment": ShipmentFacts()})
        await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        await env.sleep(timedelta(days=8))
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_CLAIM_DETAILS)
        asked = next(s for s in view.steps if s.action == Action.CLAIM_DETAILS_REQUESTED)
        assert asked.data["missing"] == "ship_date"
        await handle.execute_update(TicketWorkflow.amend, Amendment(
            shipment=ShipmentFacts(ship_date=today - timedelta(days=3))))
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_CLAIM)
    assert view.claim_filed_at is not None


@pytest.mark.parametrize("details, why", [
    (FULL.model_copy(update={"declared_value": Decimal("10000")}), "high value"),
    (FULL.model_copy(update={"disputed": True}), "disputed"),
])
async def test_spec_7_a_high_value_or_disputed_claim_goes_to_a_specialist_with_its_own_deadline(
    fresh_env, ticket_store, directory, no_ladders, open_ticket, details, why
):
    env = fresh_env
    today = await _today(env)
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle = await open_ticket(env, queue, no_ladders, **{**_loss(today, 2), "claim_details": details})
        await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        await env.sleep(timedelta(days=8))
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_CLAIM)
        owed = view.pending(DeadlineKind.SPECIALIST_DECISION)
        await env.sleep(owed.due_at - await env.get_current_time() + timedelta(minutes=1))
        view = await until(env, handle, lambda v: any(s.action == Action.REMINDED for s in v.steps))
        await until(env, handle, lambda v: not v.pending_messages)
    assert view.claim_queue == ClaimQueue.SPECIALIST, why
    claims, total = await ClaimStore(ticket_store.engine).claims(False, 10, 0, queue=ClaimQueue.SPECIALIST)
    assert total == 1 and claims[0].ticket_id == view.ticket_id
    assert not view.has_deadline(DeadlineKind.CLAIM_DECISION)  # the specialist's, not the team's
    reminded = next(s for s in view.steps if s.action == Action.REMINDED)
    assert reminded.data["role"] == "claims_specialist"
    texts = await MessageStore(ticket_store.engine).for_ticket(view.ticket_id)
    assert [m.phone for m in texts if m.role == "claims_specialist"] == ["+8613900000009"]


@pytest.mark.parametrize("target, routed_to", [
    (ServiceTarget.AGENT, "team_lead"), (ServiceTarget.COURIER, "station_head"), (ServiceTarget.STATION, "station_head"),
])
async def test_r_svc_a_complaint_routes_by_what_it_is_about(
    fresh_env, ticket_store, directory, no_ladders, open_ticket, target, routed_to
):
    """About an agent: the team lead decides (within 24 h, R-CLK-9); about a courier or a station: the
    responsible station's head."""
    env = fresh_env
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle = await open_ticket(env, queue, no_ladders, kind=Kind.SERVICE, service_target=target)
        await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK)
        await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.DISPUTED))
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_PENALTY)
        await handle.signal(TicketWorkflow.penalty_decided, PenaltyDecision(penalised=True, decision="warned"))
        await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK and v.callback_attempts == 1)
        await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED))
        final = await handle.result()
    dispatches, _ = await ticket_store.dispatches("SH-PD-01", pending_only=False, limit=10, offset=0)
    mine = [d.purpose for d in dispatches if d.ticket_id == final.ticket_id]
    texts = [m.role for m in await MessageStore(ticket_store.engine).for_ticket(final.ticket_id)]
    if routed_to == "team_lead":
        assert mine == [] and texts == ["team_lead"]
        assert final.pending(DeadlineKind.PENALTY_DECISION).met_at is not None
        assert final.pending(DeadlineKind.PENALTY_DECISION).due_at - view.pending(
            DeadlineKind.PENALTY_DECISION).started_at == timedelta(hours=24)
    else:
        assert mine == [DispatchPurpose.STATION_HEAD] and "team_lead" not in texts
    assert final.resolution == "satisfied"


async def test_r_urg_1_amended_shipment_facts_are_assessed_again(
    fresh_env, ticket_store, no_ladders, open_ticket
):
    env = fresh_env
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle = await open_ticket(env, queue, no_ladders)
        await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        state = await handle.execute_update(TicketWorkflow.amend, Amendment(
            shipment=ShipmentFacts(contents=Contents.VALUABLES, declared_value=Decimal("20000"))))
    assert state.urgency.urgent and state.urgency.reasons == ["valuables of ¥20,000 or more"]
    assert state.steps[-1].data["urgent"] == "true"


async def test_r_rec_1_a_callers_new_phone_reaches_their_party_too(fresh_env, ticket_store, no_ladders, open_ticket):
    """R-REC-1 / R-LOSS-5: texts to the sender or the recipient go to the party's phone, so the caller's new
    number (PATCH) is their party's too; the other party's stays as it was."""
    env = fresh_env
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle = await open_ticket(env, queue, no_ladders, customer=CALLER, sender=SENDER, recipient=RECIPIENT)
        await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        state = await handle.execute_update(TicketWorkflow.amend, Amendment(phone="+8613700000009"))
    assert state.customer.phone == state.recipient.phone == "+8613700000009"  # the caller is the recipient
    assert state.sender.phone == SENDER.phone
