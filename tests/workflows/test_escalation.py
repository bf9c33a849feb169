"""The SMS escalation ladders under the time-skipping server (SPEC §5, R-CLK-9, R-URG-2)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from activities.adapters.sms import OutboundSms, SendResult, SmsError, SmsState
from activities.calendar import HolidaySource
from domain.claims import ClaimDecision, ClaimDetails, ClaimOutcome
from domain.deadlines import DeadlineKind
from domain.directory import Contact, Role
from domain.kinds import Kind
from domain.messages import ReviewResult, StationReply
from domain.policy import Duration
from domain.shipment import Contents, ShipmentFacts
from domain.statuses import Status
from domain.steps import Action
from domain.urgency import assess_urgency
from store.directory import DirectoryStore
from store.messages import MessageStore
from tests.workflows.conftest import keep_history, running_worker, settle_and_terminate, until
from workflows.ticket import TicketWorkflow

SH = ZoneInfo("Asia/Shanghai")
PEOPLE = [
    (Role.PROVINCIAL_CS_DIRECTOR, "shanghai", "+8613900000001"),
    (Role.PROVINCIAL_VP, "shanghai", "+8613900000002"),
    (Role.HQ_CS, "hq", "+8613900000003"),
    (Role.TEAM_LEAD, "best", "+8613900000004"),
    (Role.V_CARE, "hq", "+8613900000005"),
    (Role.NETWORK_MANAGER, "shanghai", "+8613900000006"),
]


@pytest.fixture
async def directory(ticket_store):
    store = DirectoryStore(ticket_store.engine)
    for role, scope, phone in PEOPLE:
        await store.put(Contact(role=role, scope=scope, name="值班", phone=phone), datetime.now(SH))
    return store


def _sh(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=SH)


async def _travel_to(env, instant: datetime) -> None:
    await env.sleep(instant - await env.get_current_time())


def _escalations(view) -> list[tuple[str, str, datetime]]:
    return [(s.data["ladder"], s.data["tier"], s.at) for s in view.steps if s.action == Action.ESCALATED]


async def test_r_esc_1_to_3_every_tier_fires_at_its_exact_working_instant_from_a_friday_evening_across_a_holiday(
    fresh_env, ticket_store, directory, cn_policy, tmp_path, open_ticket
):
    """Opened Friday 19:00 (after hours); 20 working hours (R-CLK-4) are Saturday and Sunday, due Sunday 18:00.
    Monday is a company holiday. R-ESC-1 at Sunday 18:00; R-ESC-2 8 working hours later, Tuesday 16:00;
    R-ESC-3 2 working hours later, Tuesday 18:00; HQ's hour runs out at 19:00 and is recorded as a breach.
    The internal ladder (R-CLK-9) tells the team lead 24 h after dispatch, whose own 24 h to act then pass
    (a breach of their own), and V-CARE 24 h after that."""
    env = fresh_env
    now = (await env.get_current_time()).astimezone(SH)
    friday = now.date() + timedelta(days=(4 - now.weekday()) % 7 or 7)
    monday, tuesday = friday + timedelta(days=3), friday + timedelta(days=4)
    override = tmp_path / "holidays.toml"
    override.write_text(f"known_years = [{friday.year}, {tuesday.year}]\nclosed = [{monday.isoformat()}]\n"
                        f"working = [{friday.isoformat()}, {(friday + timedelta(days=1)).isoformat()}, "
                        f"{(friday + timedelta(days=2)).isoformat()}, {tuesday.isoformat()}]\n")
    async with running_worker(env, ticket_store, HolidaySource(override)) as queue:
        await _travel_to(env, _sh(friday, 19))
        handle = await open_ticket(env, queue, cn_policy, station_province="shanghai")
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        coordination = view.pending(DeadlineKind.COORDINATION)
        late = coordination.started_at - _sh(friday, 19)
        assert coordination.due_at == _sh(friday + timedelta(days=2), 18)  # closing time stays (R-CAL-2)

        await _travel_to(env, _sh(tuesday, 20))
        view = await handle.query(TicketWorkflow.view)
        expected = [("internal", "1", _sh(friday + timedelta(days=1), 19) + late),
                    ("ems", "1", _sh(friday + timedelta(days=2), 18)),
                    ("network", "1", _sh(friday + timedelta(days=2), 18)),  # R-ESC-6
                    ("internal", "2", _sh(friday + timedelta(days=2), 19) + late),
                    ("ems", "2", _sh(tuesday, 16)), ("ems", "3", _sh(tuesday, 18))]
        got = sorted(_escalations(view), key=lambda e: (e[2] - timedelta(microseconds=e[2].microsecond), e[0]))
        assert [(lad, tier) for lad, tier, _ in got] == [(lad, tier) for lad, tier, _ in expected]
        for (_, _, at), (_, _, want) in zip(got, expected, strict=True):
            assert timedelta(0) <= at - want < timedelta(seconds=2)
        owed = {d.rule: d for d in view.deadlines if d.kind == DeadlineKind.ESCALATION_ANSWER}
        assert owed["R-ESC-3"].breached_at == _sh(tuesday, 19)
        team_lead = owed["R-CLK-9"]  # the team lead's own 24 h to act (R-CLK-9)
        assert team_lead.breached_at is not None
        assert timedelta(0) <= team_lead.breached_at - (_sh(friday + timedelta(days=2), 19) + late) < timedelta(seconds=2)

        messages = await MessageStore(ticket_store.engine).for_ticket(view.ticket_id)
        roles = sorted(m.role for m in messages if m.role != "customer")
        assert roles == sorted(r.value for r, _, _ in PEOPLE)  # each tier's message exists once (R-ESC-5)
        assert [m.purpose for m in messages if m.role == "customer"] == ["customer accepted"]
        assert len({m.key for m in messages}) == len(messages)

        await handle.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="found"))
        await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK)
        await keep_history(handle, "inquiry_whole_ladder")


async def test_r_esc_4_feedback_after_tier_1_stops_tiers_2_and_3(fresh_env, ticket_store, directory, open_ticket):
    env = fresh_env
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle = await open_ticket(env, queue, station_province="shanghai")
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        await _travel_to(env, view.pending(DeadlineKind.COORDINATION).due_at + timedelta(minutes=5))
        view = await until(env, handle, lambda v: any(s.data.get("ladder") == "ems" for s in v.steps
                                                       if s.action == Action.ESCALATED))
        await handle.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="on its way"))
        await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK)
        await env.sleep(timedelta(days=10))
        view = await handle.query(TicketWorkflow.view)
        await keep_history(handle, "inquiry_feedback_after_ems_tier_1")
    assert [(lad, tier) for lad, tier, _ in _escalations(view) if lad == "ems"] == [("ems", "1")]
    keys = [m.key for m in await MessageStore(ticket_store.engine).for_ticket(view.ticket_id)]
    assert any(":ems:t1" in k for k in keys)  # keyed per ticket and tier, not per round (R-ESC-5)
    assert not any(":ems:t2" in k or ":ems:t3" in k for k in keys)


async def test_r_urg_2_an_urgent_ticket_texts_the_director_at_dispatch(fresh_env, ticket_store, directory, open_ticket):
    env = fresh_env
    facts = ShipmentFacts(contents=Contents.PASSPORT)
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle = await open_ticket(env, queue, shipment=facts, urgency=assess_urgency(facts),
                                   station_province="shanghai")
        await until(env, handle, lambda v: v.status == Status.AWAITING_REVIEW)
        await handle.signal(TicketWorkflow.urgent_reviewed, ReviewResult(approved=True))
        view = await until(env, handle, lambda v: any(s.data.get("rule") == "R-URG-2" for s in v.steps
                                                       if s.action == Action.MESSAGE_SENT))
        await keep_history(handle, "inquiry_urgent_director_texted")
    sent = [m for m in await MessageStore(ticket_store.engine).for_ticket(view.ticket_id)
            if m.key.startswith(f"{view.ticket_id}:urgent-dispatch")]
    assert [(m.role, m.phone) for m in sent] == [("provincial_cs_director", "+8613900000001")]
    assert view.pending(DeadlineKind.COORDINATION).due_at > sent[0].requested_at  # at dispatch, long before the deadline


class _Refusing:
    async def send(self, sms: OutboundSms) -> SendResult:
        raise SmsError("isv.SMS_SIGNATURE_ILLEGAL", "sign name not approved", retryable=False)

    async def status(self, sms: OutboundSms) -> SendResult | None:
        return None


async def test_a_provider_refusal_retrying_cannot_fix_is_visible_on_the_ticket(
    fresh_env, ticket_store, directory, open_ticket
):
    env = fresh_env
    async with running_worker(env, ticket_store, HolidaySource(None), sms=_Refusing()) as queue:
        handle = await open_ticket(env, queue, station_province="shanghai")
        view = await until(env, handle, lambda v: any(s.action == Action.MESSAGE_FAILED for s in v.steps))
        await keep_history(handle, "inquiry_sms_refused_for_good")
    failed = next(s for s in view.steps if s.action == Action.MESSAGE_FAILED)
    assert "SMS_SIGNATURE_ILLEGAL" in failed.note and failed.data["role"] == "customer"
    assert "13812345678" not in failed.note


async def test_nobody_in_a_role_is_recorded_on_the_ticket_not_skipped(fresh_env, ticket_store, open_ticket):
    env = fresh_env  # an empty directory
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle = await open_ticket(env, queue, station_province="zhejiang")
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        await _travel_to(env, view.pending(DeadlineKind.COORDINATION).due_at + timedelta(minutes=1))
        view = await until(env, handle, lambda v: any(s.action == Action.MESSAGE_FAILED
                                                       and s.data["role"] == "provincial_cs_director" for s in v.steps))
        await keep_history(handle, "inquiry_nobody_in_role")
    failed = next(s for s in view.steps if s.action == Action.MESSAGE_FAILED and s.data["role"] == "provincial_cs_director")
    assert "nobody in role provincial_cs_director for zhejiang" in failed.note


async def test_r_esc_4_r_esc_5_a_loss_whose_station_stays_silent_texts_each_role_once_and_nothing_after_confirmation(
    fresh_env, ticket_store, directory, policy, open_ticket
):
    """R-ESC-1..3, R-ESC-6, R-CLK-9 on a loss (R-LOSS-1, R-LOSS-2): nobody answers for 7 days. Each role is
    texted at most once (the network manager asked under R-LOSS-1 is the R-ESC-6 one), the declaration
    round starts no ladder, and once the loss is confirmed nothing more is escalated; the station's
    deadlines the confirmation made moot end superseded, neither met nor breached."""
    env = fresh_env
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        today = (await env.get_current_time()).astimezone(SH).date()
        handle = await open_ticket(env, queue, kind=Kind.LOSS, station_province="shanghai", opened_on=today,
                                   shipment=ShipmentFacts(ship_date=today - timedelta(days=2)),
                                   claim_details=ClaimDetails(contents="books", declared_value=Decimal("120"),
                                                              packaging="envelope", freight=Decimal("12"),
                                                              insured=False))
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        await env.sleep(timedelta(days=8))
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_CLAIM)
        confirmed = next(s for s in view.steps if s.action == Action.LOSS_CONFIRMED)
        await env.sleep(timedelta(days=3))
        view = await handle.query(TicketWorkflow.view)
        ladders = [lad for lad, _, _ in _escalations(view)]
        assert {"ems", "internal"} <= set(ladders)
        # The network manager is told once: by the R-ESC-6 ladder or the R-LOSS-1 request, whichever is first.
        assert ladders.count("network") + ladders.count("assist") == 1
        assert all(at <= confirmed.at for _, _, at in _escalations(view))  # nothing after the confirmation
        messages = [m for m in await MessageStore(ticket_store.engine).for_ticket(view.ticket_id)
                    if m.role != "customer"]
        roles = [m.role for m in messages]
        assert sorted(roles) == sorted(set(roles)), f"a role was texted twice: {roles}"
        assert all(m.requested_at <= confirmed.at for m in messages)
        declaration = [d for d in view.deadlines if d.round == view.dispatch_round]
        assert declaration == []  # the declaration round needs no answer: no deadline to meet or breach
        assert not any(d.running for d in view.deadlines if d.kind != DeadlineKind.CLAIM_DECISION)
        assert all(sum(x is not None for x in (d.met_at, d.breached_at, d.superseded_at)) <= 1
                   for d in view.deadlines)  # each deadline ends in exactly one way
        dispatches, _ = await ticket_store.dispatches("SH-PD-01", pending_only=True, limit=10, offset=0)
        assert [d for d in dispatches if d.ticket_id == view.ticket_id] == []  # nothing left for the station
        await handle.signal(TicketWorkflow.claim_decided, ClaimDecision(outcome=ClaimOutcome.PAID,
                                                                        amount=Decimal("132")))
        final = await handle.result()
        assert final.resolution == "claim_paid"
        assert all(d.ended for d in final.deadlines)
        await keep_history(handle, "loss_silent_station_escalated_confirmed_paid")


async def test_r_esc_5_a_ladder_carried_over_by_continue_as_new_keeps_its_tier_instants_and_told_tiers(
    fresh_env, ticket_store, directory, policy, open_ticket
):
    """A run that continues as new picks its ladders up where they were: the tier instants already computed
    stay (never computed again, so a calendar edit meanwhile cannot move them) and no tier is told twice."""
    env = fresh_env
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        first = await open_ticket(env, queue, station_province="shanghai")
        view = await until(env, first, lambda v: v.status == Status.AWAITING_STATION)
        await _travel_to(env, view.pending(DeadlineKind.COORDINATION).due_at + timedelta(minutes=5))
        view = await until(env, first, lambda v: len(v.ladder("ems", 1).due) == 2)
        computed = view.ladder("ems", 1).due[1]
        assert view.told("ems", 1, 1) and not view.told("ems", 1, 2)
        await settle_and_terminate(first, "continued as new (simulated)")

        moved = computed + timedelta(hours=3)  # not what the calendar gives: only a kept instant lands here
        carried = view.model_copy(deep=True, update={"steps": [], "steps_before": view.last_seq})
        carried.ladder("ems", 1).due[1] = moved
        resumed = await open_ticket(env, queue, station_province="shanghai", carried_state=carried)
        await _travel_to(env, moved - timedelta(minutes=1))
        assert not (await resumed.query(TicketWorkflow.view)).told("ems", 1, 2)
        await _travel_to(env, moved + timedelta(minutes=1))
        after = await until(env, resumed, lambda v: v.told("ems", 1, 2))
        history = await resumed.fetch_history()
    tier_2 = next(s for s in after.steps if s.action == Action.ESCALATED and s.data["ladder"] == "ems"
                  and s.data["tier"] == "2")
    assert moved <= tier_2.at < moved + timedelta(minutes=1)
    assert not any(s.data["ladder"] == "ems" and s.data["tier"] == "1" for s in after.steps
                   if s.action == Action.ESCALATED)  # told before: not again
    summaries = [e.user_metadata.summary.data.decode() for e in history.events if e.HasField("user_metadata")]
    assert not any("R-ESC-2 ems tier 2" in s and "deadline" in s for s in summaries)  # not computed again


async def test_r_loss_2_deadlines_the_confirmation_makes_moot_end_superseded_and_no_ladder_starts_after_it(
    fresh_env, ticket_store, directory, policy, open_ticket
):
    """A carrier whose loss confirmation (here 20 h) comes before the station's coordination deadline:
    at the confirmation the coordination deadline ends superseded with its reason, neither met nor
    breached, and the ladders that would have started at it never text anyone (R-ESC-4)."""
    env = fresh_env
    quick = policy.model_copy(update={"clocks": policy.clocks.model_copy(
        update={"loss_confirmation": Duration.parse("20 hours")})})
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        today = (await env.get_current_time()).astimezone(SH).date()
        handle = await open_ticket(env, queue, quick, kind=Kind.LOSS, station_province="shanghai", opened_on=today,
                                   shipment=ShipmentFacts(ship_date=today - timedelta(days=2)),
                                   claim_details=ClaimDetails(contents="books", declared_value=Decimal("120"),
                                                              packaging="envelope", freight=Decimal("12"),
                                                              insured=False))
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        coordination = view.pending(DeadlineKind.COORDINATION)
        assert coordination.due_at - coordination.started_at > timedelta(hours=20)
        await env.sleep(timedelta(days=10))
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_CLAIM)
    coordination = next(d for d in view.deadlines if d.kind == DeadlineKind.COORDINATION)
    assert coordination.superseded_reason == "the loss is confirmed (R-LOSS-2)"
    assert coordination.met_at is None and coordination.breached_at is None
    assert DeadlineKind.COORDINATION not in [b.kind for b in view.breaches]
    assert _escalations(view) == []
    superseded = next(s for s in view.steps if s.action == Action.DEADLINES_SUPERSEDED)
    assert "R-CLK-4 coordination round 1" in superseded.data["deadlines"]


class _ProviderDown:
    """An SMS provider that answers "not now" until it is back up; what reached it, by phone."""

    def __init__(self) -> None:
        self.up = asyncio.Event()
        self.tried: list[str] = []
        self.sent: list[str] = []

    async def send(self, sms: OutboundSms) -> SendResult:
        if not self.up.is_set():
            self.tried.append(sms.phone)
            raise SmsError("NotConnected", "the provider could not be reached", retryable=True)
        self.sent.append(sms.phone)
        return SendResult(provider_id=f"p-{len(self.sent)}", state=SmsState.SENT)

    async def status(self, sms: OutboundSms) -> SendResult | None:
        return None


async def test_r_esc_4_a_ladder_text_still_on_its_way_when_the_station_answers_is_withdrawn(
    fresh_env, ticket_store, directory, policy, open_ticket
):
    """R-ESC-4 (v8): feedback at any point stops every ladder. The team lead's R-CLK-9 text is due 24 h after
    dispatch while the SMS provider is down; the station answers before the provider is back, so the text
    is withdrawn (cancelled in the outbox, never sent late), and the lead owes no answer for it."""
    env = fresh_env
    provider = _ProviderDown()
    internal = policy.model_copy(update={"ladders": [lad for lad in policy.ladders if lad.name == "internal"]})
    lead_phone = next(phone for role, _, phone in PEOPLE if role == Role.TEAM_LEAD)
    async with running_worker(env, ticket_store, HolidaySource(None), sms=provider) as queue:
        handle = await open_ticket(env, queue, internal, station_province="shanghai")
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        dispatched = next(s.at for s in view.steps if s.action == Action.DISPATCHED)
        await env.sleep(dispatched + timedelta(hours=24, minutes=10) - await env.get_current_time())
        assert lead_phone in provider.tried  # the tier is due and its text is being tried
        await handle.signal(TicketWorkflow.station_replied, StationReply(station=view.station, finding="找到了"))
        view = await until(env, handle, lambda v: any(s.action == Action.ESCALATION_WITHDRAWN for s in v.steps))
        provider.up.set()
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK and not v.pending_messages,
                            limit=600)
        await keep_history(handle, "inquiry_ladder_text_withdrawn")
        await settle_and_terminate(handle, "test over")
    withdrawn = next(s for s in view.steps if s.action == Action.ESCALATION_WITHDRAWN)
    assert withdrawn.data["role"] == Role.TEAM_LEAD and "station fed back" in withdrawn.note
    assert not [s for s in view.steps if s.action == Action.ESCALATED]
    assert not [d for d in view.deadlines if d.kind == DeadlineKind.ESCALATION_ANSWER]
    texts = await MessageStore(ticket_store.engine).for_ticket(view.ticket_id)
    assert [(m.role, m.state) for m in texts if m.role == Role.TEAM_LEAD] == [(Role.TEAM_LEAD, SmsState.CANCELLED)]
    assert lead_phone not in provider.sent and provider.sent  # the customer's message went out, the lead's not
