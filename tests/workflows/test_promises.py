"""Every promise kept as the manuals state it (issue 10), under the time-skipping server.

Unreachable stations (R-ESC-6), internal waits on the clock with reminders
(R-URG-2, R-DMG-3, R-DMG-4, R-CHG, R-CLM), the result letter (R-CLK-7), and
messages that go out beside the flow without holding it up.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest

from activities.adapters.sms import OutboundSms, SendResult, SmsError, SmsState
from activities.adapters.station import HttpStationGateway
from activities.calendar import HolidaySource
from domain.claims import ClaimDecision, ClaimDetails, ClaimOutcome
from domain.deadlines import DeadlineKind
from domain.directory import Contact, Role
from domain.kinds import Kind
from domain.messages import (
    Amendment,
    CallbackOutcome,
    CallbackReport,
    OfferAnswer,
    ReviewResult,
    SenderDecision,
    StationAck,
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
from tests.workflows.conftest import running_worker, until
from workflows.ticket import TicketWorkflow

SH = ZoneInfo("Asia/Shanghai")
PEOPLE = [
    (Role.PROVINCIAL_CS_DIRECTOR, "shanghai", "+8613900000001"),
    (Role.NETWORK_MANAGER, "shanghai", "+8613900000006"),
    (Role.TEAM_LEAD, "best", "+8613900000004"),
    (Role.URGENT_GROUP, "best", "+8613900000007"),
    (Role.CLAIMS_TEAM, "best", "+8613900000008"),
]
FULL = ClaimDetails(contents="a phone", declared_value=Decimal("3000"), packaging="box", freight=Decimal("18"),
                    insured=False)


@pytest.fixture
async def directory(ticket_store):
    store = DirectoryStore(ticket_store.engine)
    for role, scope, phone in PEOPLE:
        await store.put(Contact(role=role, scope=scope, name="值班", phone=phone), datetime.now(SH))
    return store


@pytest.fixture
def no_ladders(policy):
    """The default policy's clocks, messages and reminders, without the station ladders."""
    return policy.model_copy(update={"ladders": []})


def _steps(view, action):
    return [s for s in view.steps if s.action == action]


# --- R-ESC-6: a station system that cannot be reached ------------------------------------------------


class _StationSystem:
    """A station system on a real local port that refuses every dispatch with `status`."""

    def __init__(self, status: int) -> None:
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.requests += 1
                self.rfile.read(int(self.headers.get("content-length", 0)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()


@pytest.mark.parametrize("refusal", [404, None], ids=["refused-4xx", "down"])
async def test_r_esc_6_an_unreachable_station_system_still_runs_its_deadlines_and_tells_the_network_manager(
    fresh_env, ticket_store, directory, policy, open_ticket, refusal
):
    """Deadlines and ladders start at the dispatch instant whether or not the station system took it; a 4xx
    is not retried, an outage is retried within `dispatch_delivery`; an undeliverable dispatch is recorded
    and the network manager told through the directory (R-ESC-6), once."""
    env = fresh_env
    system = _StationSystem(refusal) if refusal else None
    url = system.url if system else "http://127.0.0.1:9"  # the discard port: nothing listens
    try:
        async with running_worker(env, ticket_store, HolidaySource(None),
                                  stations=HttpStationGateway(url)) as queue:
            handle = await open_ticket(env, queue, station_province="shanghai")
            view = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
            dispatched = _steps(view, Action.DISPATCHED)[0]
            coordination = view.pending(DeadlineKind.COORDINATION)
            assert coordination.started_at <= dispatched.at  # running from the dispatch instant, delivered or not
            view = await until(env, handle, lambda v: _steps(v, Action.DISPATCH_UNDELIVERED), limit=900)
            undelivered = _steps(view, Action.DISPATCH_UNDELIVERED)[0]
            assert undelivered.data["rule"] == "R-ESC-6"
            if refusal:
                assert system.requests == 1 and "HTTP 404" in undelivered.note  # refused: not asked again
            else:
                took = undelivered.at - dispatched.at  # retried for minutes, and no longer than the policy allows
                assert timedelta(minutes=1) < took <= policy.clocks.dispatch_delivery.amount + timedelta(minutes=1)
            await env.sleep(coordination.due_at - undelivered.at + timedelta(minutes=5))
            view = await until(env, handle, lambda v: any(s.data.get("ladder") == "ems" for s in v.steps
                                                           if s.action == Action.ESCALATED))
            await until(env, handle, lambda v: not v.pending_messages)
    finally:
        if system:
            system.close()
    texts = await MessageStore(ticket_store.engine).for_ticket(view.ticket_id)
    assert [m.phone for m in texts if m.role == "network_manager"] == ["+8613900000006"]  # once, by directory
    assert [m.role for m in texts if m.role == "provincial_cs_director"] == ["provincial_cs_director"]  # on time


# --- internal waits on the clock ---------------------------------------------------------------


async def _urgent_review(env, handle):
    await until(env, handle, lambda v: v.status == Status.AWAITING_REVIEW)
    return DeadlineKind.URGENT_REVIEW, "urgent_group", lambda: handle.signal(
        TicketWorkflow.urgent_reviewed, ReviewResult(approved=True)), Status.AWAITING_STATION


async def _claim_details(env, handle):
    await until(env, handle, lambda v: v.status == Status.AWAITING_CLAIM_DETAILS)
    return DeadlineKind.CLAIM_DETAILS, "team_lead", lambda: handle.execute_update(
        TicketWorkflow.amend, Amendment(claim_details=FULL)), Status.AWAITING_STATION


async def _offer_answer(env, handle):
    await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
    await handle.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="dented"))
    await until(env, handle, lambda v: v.status == Status.AWAITING_OFFER_ANSWER)
    return DeadlineKind.OFFER_ANSWER, "team_lead", lambda: handle.signal(
        TicketWorkflow.offer_answered, OfferAnswer(accepted=True)), Status.CLOSED


async def _sender_decision(env, handle):
    await until(env, handle, lambda v: v.status == Status.AWAITING_SENDER)
    return DeadlineKind.SENDER_DECISION, "team_lead", lambda: handle.signal(
        TicketWorkflow.sender_decided, SenderDecision(agreed=True)), Status.AWAITING_STATION


async def _claim_decision(env, handle):
    await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
    await handle.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="late truck"))
    await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK)
    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED,
                                                                     compensation_needed=True))
    await until(env, handle, lambda v: v.status == Status.AWAITING_CLAIM)
    return DeadlineKind.CLAIM_DECISION, "claims_team", lambda: handle.signal(
        TicketWorkflow.claim_decided, ClaimDecision(outcome=ClaimOutcome.PAID, amount=Decimal("20"))), Status.CLOSED


URGENT = ShipmentFacts(contents=Contents.PASSPORT)
WAITS = {
    "R-URG-2 urgent review": (dict(shipment=URGENT, urgency=assess_urgency(URGENT)), _urgent_review),
    "R-DMG-3 claim details": (dict(kind=Kind.DAMAGE, claim_details=ClaimDetails(contents="a vase"),
                                   shipment=ShipmentFacts(signed=True, signing=Signing.OTHER_WITHOUT_CONSENT)),
                              _claim_details),
    "R-DMG-4 offer answer": (dict(kind=Kind.DAMAGE, claim_details=FULL, shipment=ShipmentFacts(
        signed=True, signing=Signing.OTHER_WITHOUT_CONSENT)), _offer_answer),
    "R-CHG sender decision": (dict(kind=Kind.CHANGE, change=ChangeRequest(action=ChangeAction.RETURN)),
                              _sender_decision),
    "R-CLM claims decision": (dict(kind=Kind.DELAY, claim_details=FULL, shipment="shipped 3 days ago"),
                              _claim_decision),
}


@pytest.mark.parametrize("wait", sorted(WAITS))
async def test_an_internal_wait_is_on_the_clock_breached_and_reminded_then_the_answer_goes_on(
    fresh_env, ticket_store, directory, no_ladders, open_ticket, wait
):
    """R-URG-2, R-DMG-4, R-CHG, R-CLM: each internal wait has a policy deadline; passing it is a breach and
    a reminder to the role that owes the answer, through the directory; the late answer still goes on."""
    env = fresh_env
    overrides, reach = WAITS[wait]
    if overrides.get("shipment") == "shipped 3 days ago":  # a claim counts its days from the ship date
        today = (await env.get_current_time()).astimezone(SH).date()
        overrides = {**overrides, "shipment": ShipmentFacts(ship_date=today - timedelta(days=3)), "opened_on": today}
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle = await open_ticket(env, queue, no_ladders, station_province="shanghai", **overrides)
        kind, role, answer, after = await reach(env, handle)
        view = await handle.query(TicketWorkflow.view)
        owed = view.pending(kind)
        assert owed.rule == wait.split()[0] and owed.running
        await env.sleep(owed.due_at - await env.get_current_time() + timedelta(minutes=1))
        view = await until(env, handle, lambda v: _steps(v, Action.REMINDED))
        reminded = _steps(view, Action.REMINDED)[0]
        assert reminded.data["role"] == role and view.pending(kind).breached_at == owed.due_at
        await answer()
        view = await until(env, handle, lambda v: v.status == after)
        late = view.pending(kind)
        assert late.breached_at == owed.due_at and late.met_at is None  # it ended once: breached
        assert late.answered_late_at is not None and view.owed_due_at() != owed.due_at  # paid late, not owed
        await until(env, handle, lambda v: not v.pending_messages)
    texts = await MessageStore(ticket_store.engine).for_ticket(view.ticket_id)
    assert [m.role for m in texts if m.role == role] == [role]


async def test_r_clk_2_an_acknowledgement_after_the_answer_deadline_leaves_it_breached(
    fresh_env, ticket_store, directory, no_ladders, open_ticket
):
    """R-CLK-2: a station that takes the dispatch on after its answer deadline passed is recorded as late; the
    deadline ends once, breached (not also met), and a second acknowledgement is ignored."""
    env = fresh_env
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle = await open_ticket(env, queue, no_ladders, station_province="shanghai")
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        owed = view.pending(DeadlineKind.DISPATCH_ANSWER)
        await env.sleep(owed.due_at - await env.get_current_time() + timedelta(minutes=1))
        await until(env, handle, lambda v: v.pending(DeadlineKind.DISPATCH_ANSWER).breached_at is not None)
        await handle.signal(TicketWorkflow.station_acknowledged, StationAck(station=view.station, note="on it"))
        view = await until(env, handle, lambda v: _steps(v, Action.STATION_ACKNOWLEDGED))
        answer = view.pending(DeadlineKind.DISPATCH_ANSWER)
        assert answer.breached_at == owed.due_at and answer.met_at is None
        assert answer.answered_late_at is not None and answer.answered_late_at > owed.due_at
        assert _steps(view, Action.STATION_ACKNOWLEDGED)[0].data["in_time"] == "false"
        await handle.signal(TicketWorkflow.station_acknowledged, StationAck(station=view.station, note="again"))
        view = await until(env, handle, lambda v: _steps(v, Action.MESSAGE_IGNORED))
        assert "already answered" in _steps(view, Action.MESSAGE_IGNORED)[0].note
        assert len(_steps(view, Action.STATION_ACKNOWLEDGED)) == 1


async def test_r_urg_2_the_urgent_review_is_not_slower_than_an_ordinary_dispatch(no_ladders):
    """An urgent ticket waits for its review at most as long as an ordinary one waits to be taken on."""
    clocks = no_ladders.clocks
    assert clocks.urgent_review.amount <= clocks.direct_dispatch_answer.amount


# --- R-CLK-7: the result letter ---------------------------------------------------------------


async def test_r_clk_7_the_result_letter_is_a_tracked_deadline_handed_to_finance_through_the_claims_adapter(
    time_skipping_env, worker, weekly_policy, open_ticket, ticket_store
):
    env = time_skipping_env
    today = (await env.get_current_time()).astimezone(SH).date()
    handle = await open_ticket(env, worker, weekly_policy, kind=Kind.DELAY, claim_details=FULL,
                               shipment=ShipmentFacts(ship_date=today - timedelta(days=3)), opened_on=today)
    await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
    await handle.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="late"))
    await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK)
    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED,
                                                                     compensation_needed=True))
    await until(env, handle, lambda v: v.status == Status.AWAITING_CLAIM)
    await handle.signal(TicketWorkflow.claim_decided, ClaimDecision(outcome=ClaimOutcome.PAID, amount=Decimal("20")))
    final = await handle.result()
    letter = final.pending(DeadlineKind.RESULT_LETTER)
    assert letter.rule == "R-CLK-7" and letter.due_at - letter.started_at == timedelta(days=3)
    assert letter.met_at is not None and letter.met_at <= letter.due_at
    assert _steps(final, Action.RESULT_LETTER_HANDED)
    filed = await ClaimStore(ticket_store.engine).get(final.ticket_id)
    assert filed.letter_handed_at is not None  # in finance's inbox (the local claims adapter)


# --- a message never holds up the flow ---------------------------------------------------------


class _ProviderDown:
    """An SMS provider that answers "not now" until it is back up."""

    def __init__(self) -> None:
        self.up = asyncio.Event()

    async def send(self, sms: OutboundSms) -> SendResult:
        if not self.up.is_set():
            raise SmsError("isv.BUSINESS_LIMIT_CONTROL", "provider unavailable", retryable=True)
        return SendResult(provider_id="p-1", state=SmsState.SENT)

    async def status(self, sms: OutboundSms) -> SendResult | None:
        return None


async def test_a_provider_outage_delays_only_the_message_never_the_dispatch(
    fresh_env, ticket_store, policy, open_ticket
):
    """The customer's "accepted" message goes out beside the flow: with the provider down, the ticket is
    dispatched at once and its deadlines run; the message goes out once the provider is back."""
    env = fresh_env
    provider = _ProviderDown()
    async with running_worker(env, ticket_store, HolidaySource(None), sms=provider) as queue:
        handle = await open_ticket(env, queue, policy.model_copy(update={"ladders": []}))
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        assert [p.event for p in view.pending_messages] == ["accepted"]  # still on its way
        assert not _steps(view, Action.MESSAGE_SENT)
        provider.up.set()
        view = await until(env, handle, lambda v: _steps(v, Action.MESSAGE_SENT), limit=600)
    sent = _steps(view, Action.MESSAGE_SENT)[0]
    assert sent.data["message"] == "accepted" and sent.at > _steps(view, Action.DISPATCHED)[0].at
    assert not view.pending_messages
