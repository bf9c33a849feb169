"""The SMS escalation ladders under the time-skipping server (SPEC §5, R-CLK-9, R-URG-2)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from activities.adapters.sms import OutboundSms, SendResult, SmsError
from activities.calendar import HolidaySource
from domain.directory import Contact, Role
from domain.shipment import Contents, ShipmentFacts
from domain.ticket import Action, DeadlineKind, ReviewResult, StationReply, Status
from domain.urgency import assess_urgency
from store.directory import DirectoryStore
from store.messages import MessageStore
from tests.workflows.conftest import keep_history, running_worker, until
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
    fresh_env, ticket_store, directory, policy, tmp_path, open_ticket
):
    """Opened Friday 19:00 (after hours); 20 working hours (R-CLK-4) are Saturday and Sunday, due Sunday 18:00.
    Monday is a company holiday. R-ESC-1 at Sunday 18:00; R-ESC-2 8 working hours later, Tuesday 16:00;
    R-ESC-3 2 working hours later, Tuesday 18:00; HQ's hour runs out at 19:00 and is recorded as a breach.
    The internal ladder (R-CLK-9) tells the team lead 24 h after dispatch and V-CARE 24 h after that."""
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
        handle = await open_ticket(env, queue, station_province="shanghai")
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        late = view.deadlines[0].started_at - _sh(friday, 19)
        assert view.deadlines[0].due_at == _sh(friday + timedelta(days=2), 18)  # closing time stays (R-CAL-2)

        await _travel_to(env, _sh(tuesday, 20))
        view = await handle.query(TicketWorkflow.view)
        expected = [("internal", "1", _sh(friday + timedelta(days=1), 19) + late),
                    ("ems", "1", _sh(friday + timedelta(days=2), 18)),
                    ("network", "1", _sh(friday + timedelta(days=2), 18)),  # R-ESC-6
                    ("internal", "2", _sh(friday + timedelta(days=2), 19) + late),
                    ("ems", "2", _sh(tuesday, 16)), ("ems", "3", _sh(tuesday, 18))]
        got = sorted(_escalations(view), key=lambda e: (e[2] - timedelta(microseconds=e[2].microsecond), e[0]))
        assert [(lad, tier) for lad, tier, _ in got] == [(lad, tier) for lad, tier, _ in expected]
        for (_, _, at), (_, _, want) in zip(got, expected):
            assert timedelta(0) <= at - want < timedelta(seconds=2)
        hq = next(d for d in view.deadlines if d.kind == DeadlineKind.ESCALATION_ANSWER)
        assert hq.rule == "R-ESC-3" and hq.breached_at == _sh(tuesday, 19)

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
        await _travel_to(env, view.deadlines[0].due_at + timedelta(minutes=5))
        view = await until(env, handle, lambda v: any(s.data.get("ladder") == "ems" for s in v.steps
                                                       if s.action == Action.ESCALATED))
        await handle.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="on its way"))
        await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK)
        await env.sleep(timedelta(days=10))
        view = await handle.query(TicketWorkflow.view)
    assert [(lad, tier) for lad, tier, _ in _escalations(view) if lad == "ems"] == [("ems", "1")]
    keys = [m.key for m in await MessageStore(ticket_store.engine).for_ticket(view.ticket_id)]
    assert not any(":ems:r1:t2" in k or ":ems:r1:t3" in k for k in keys)


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
    sent = [m for m in await MessageStore(ticket_store.engine).for_ticket(view.ticket_id)
            if m.key.startswith(f"{view.ticket_id}:urgent-dispatch")]
    assert [(m.role, m.phone) for m in sent] == [("provincial_cs_director", "+8613900000001")]
    assert view.deadlines[0].due_at > sent[0].requested_at  # at dispatch, long before the deadline


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
    failed = next(s for s in view.steps if s.action == Action.MESSAGE_FAILED)
    assert "SMS_SIGNATURE_ILLEGAL" in failed.note and failed.data["role"] == "customer"
    assert "13812345678" not in failed.note


async def test_nobody_in_a_role_is_recorded_on_the_ticket_not_skipped(fresh_env, ticket_store, open_ticket):
    env = fresh_env  # an empty directory
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle = await open_ticket(env, queue, station_province="zhejiang")
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        await _travel_to(env, view.deadlines[0].due_at + timedelta(minutes=1))
        view = await until(env, handle, lambda v: any(s.action == Action.MESSAGE_FAILED
                                                       and s.data["role"] == "provincial_cs_director" for s in v.steps))
    failed = next(s for s in view.steps if s.action == Action.MESSAGE_FAILED and s.data["role"] == "provincial_cs_director")
    assert "nobody in role provincial_cs_director for zhejiang" in failed.note
