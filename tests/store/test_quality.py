"""Quality management in the record (issue 15), on SQLite and PostgreSQL: the indicators of SPEC §9 counted
from recorded tickets with their numerators, denominators and ticket ids; rulings; scorecard inputs; reports."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text

from domain.deadlines import DeadlineKind
from domain.dispatch import DispatchRoute
from domain.kinds import Kind
from domain.liability import (
    Acceptance,
    Appeal,
    Arbitration,
    LiabilityDetail,
    Link,
    Ruling,
    RulingOpening,
    RulingState,
    Unit,
)
from domain.scorecard import ImportedInput, period_bounds
from domain.statuses import Status
from domain.steps import Action
from domain.ticket import TicketState
from store.db import sync_url
from store.migrate import upgrade
from store.quality import QualityStore, RulingFilter
from store.reports import build_report, indicators, scorecard
from tests.conftest import make_opening

# November 2026 in Shanghai; every instant below falls in it.
T0 = datetime(2026, 11, 2, 2, tzinfo=UTC)  # Monday 10:00 +08:00
NOV = period_bounds("2026-11", "Asia/Shanghai")
DETAIL = LiabilityDetail(city="上海市", link=Link.DELIVERY, unit="张江投递部")


@pytest.fixture
def quality(engine) -> QualityStore:
    return QualityStore(engine)


def _ticket(policy, n: int, station="SH-PD-01", province="shanghai", opened_at=T0) -> TicketState:
    t = TicketState.from_opening(make_opening(policy, f"t{n:015d}", station, station_province=province), opened_at)
    return t


async def _save(store, t: TicketState) -> None:
    step = t.add_step(t.opened_at + timedelta(seconds=len(t.steps)), Action.OPENED)
    await store.record(t.ticket_id, step, t.model_dump(mode="json", exclude={"steps", "breaches"}))


def _deadline(policy, t: TicketState, kind: DeadlineKind, outcome: str, due: datetime, rule: str | None = None):
    d = t.start_deadline(kind, 1 + sum(x.kind == kind for x in t.deadlines), policy.clocks.coordination_deadline,
                         due - timedelta(hours=20), due, rule=rule)
    if outcome == "met":
        d.met_at = due - timedelta(hours=1)
    elif outcome == "breached":
        d.breached_at = due
    elif outcome == "breached, late answer stamped met":  # how versions before the fix recorded a late ack
        d.breached_at, d.met_at = due, due + timedelta(hours=1)
    elif outcome == "superseded":
        d.superseded_at = due - timedelta(hours=2)
    return d


async def _seed(store, policy) -> None:
    """Five tickets whose every figure can be counted by hand:

    t1 SH-PD-01: R-CLK-4 met, R-CLK-2 met; closed after 1 dispatch
    t2 SH-PD-01: R-CLK-4 breached, R-CLK-2 breached (then acknowledged late: still a miss); escalated;
       closed after 2 dispatches
    t3 SH-PD-01: R-CLK-4 superseded (counts neither way), R-CLK-3 met; open
    t4 HZ-XH-02 (浙江省): R-CLK-4 met, R-CLK-3 breached; closed after 1 dispatch
    t5 HZ-XH-02: R-CLK-4 still running (counts neither way); opened in October: not in November's escalation count
    """
    day = timedelta(days=1)
    t1 = _ticket(policy, 1)
    _deadline(policy, t1, DeadlineKind.COORDINATION, "met", T0 + day)
    _deadline(policy, t1, DeadlineKind.DISPATCH_ANSWER, "met", T0 + day, "R-CLK-2")
    t1.dispatch_round, t1.status, t1.closed_at = 1, Status.CLOSED, T0 + 2 * day
    t2 = _ticket(policy, 2)
    _deadline(policy, t2, DeadlineKind.COORDINATION, "breached", T0 + day)
    _deadline(policy, t2, DeadlineKind.DISPATCH_ANSWER, "breached, late answer stamped met", T0 + day, "R-CLK-2")
    t2.dispatch_round, t2.escalation_tier, t2.status, t2.closed_at = 2, 1, Status.CLOSED, T0 + 3 * day
    t3 = _ticket(policy, 3)
    _deadline(policy, t3, DeadlineKind.COORDINATION, "superseded", T0 + day)
    _deadline(policy, t3, DeadlineKind.DISPATCH_ANSWER, "met", T0 + day, "R-CLK-3")
    t3.dispatch_round, t3.dispatch_route = 1, DispatchRoute.ASSOCIATED
    t4 = _ticket(policy, 4, "HZ-XH-02", "zhejiang")
    _deadline(policy, t4, DeadlineKind.COORDINATION, "met", T0 + day)
    _deadline(policy, t4, DeadlineKind.DISPATCH_ANSWER, "breached", T0 + day, "R-CLK-3")
    t4.dispatch_round, t4.status, t4.closed_at = 1, Status.CLOSED, T0 + 2 * day
    t5 = _ticket(policy, 5, "HZ-XH-02", "zhejiang", opened_at=T0 - 5 * day)
    _deadline(policy, t5, DeadlineKind.COORDINATION, "running", T0 + 3 * day)
    t5.opened_at = datetime(2026, 10, 30, 2, tzinfo=UTC)
    for t in (t1, t2, t3, t4, t5):
        await _save(store, t)


async def _rulings(quality, policy) -> None:
    """Three rulings in November: one accepted, one appeal upheld (invalid), one appeal cancelled."""
    for n, (station, province) in enumerate([("SH-PD-01", "shanghai"), ("SH-PD-01", "shanghai"), ("HZ-XH-02", "zhejiang")],
                                            start=1):
        opening = RulingOpening(ticket_id=f"t{n:015d}", carrier="best", kind=Kind.INQUIRY,
                                unit=Unit(station=station, province=province), closed_at=T0, policy=policy)
        r = Ruling.issued(opening, T0 + timedelta(days=3))
        r.unit_due_at, r.seq = T0 + timedelta(days=10), 1
        await quality.record_ruling(r, "issued", "", "system", r.issued_at)
        at = r.issued_at + timedelta(days=1)
        if n == 1:
            r.accept(Acceptance(detail=DETAIL), at)
        else:
            r.appeal_to_hq(Appeal(reasons="not us"), at, at + timedelta(days=7))
            r.arbitrated(Arbitration(liable=n == 2, detail=DETAIL if n == 2 else None), at + timedelta(days=2))
        r.seq = 2
        await quality.record_ruling(r, r.state.value, "", "user:x", at)


async def test_r_kpi_1_to_6_figures_with_numerators_denominators_and_ids(store, quality, policy):
    await _seed(store, policy)
    await _rulings(quality, policy)
    found = {i.name: i for i in await indicators(quality, policy, *NOV, with_ids=True)}
    f = found["feedback_48h"].overall  # R-KPI-1: t3 superseded and t5 running count neither way
    assert (f.numerator, f.denominator, f.rate) == (2, 3, Decimal("0.6667"))
    assert f.numerator_ids == ["t000000000000001", "t000000000000004"] and f.missed_ids == ["t000000000000002"]
    assert f.meets_target is False
    f = found["first_time_resolution"].overall  # R-KPI-2: closed and dispatched: t1, t2, t4; t2 re-dispatched
    assert (f.numerator, f.denominator) == (2, 3) and f.missed_ids == ["t000000000000002"]
    f = found["escalation"].overall  # R-KPI-3: opened in November: t1..t4; t2 escalated
    assert (f.numerator, f.denominator, f.rate) == (1, 4, Decimal("0.2500")) and f.numerator_ids == ["t000000000000002"]
    f = found["direct_dispatch_2h"].overall  # R-KPI-4: t2's late acknowledgement does not make it timely
    assert (f.numerator, f.denominator) == (1, 2) and f.missed_ids == ["t000000000000002"]
    f = found["associated_dispatch_4h"].overall  # R-KPI-5
    assert (f.numerator, f.denominator) == (1, 2) and f.missed_ids == ["t000000000000004"]
    f = found["appeal_invalid"].overall  # R-KPI-6: upheld against the unit / rulings issued
    assert (f.numerator, f.denominator) == (1, 3) and f.numerator_ids == ["t000000000000002"]
    # Per station and province, adding up to the overall figure.
    fb = found["feedback_48h"]
    assert (fb.stations["SH-PD-01"].numerator, fb.stations["SH-PD-01"].denominator) == (1, 2)
    assert (fb.provinces["zhejiang"].numerator, fb.provinces["zhejiang"].denominator) == (1, 1)
    assert sum(s.denominator for s in fb.stations.values()) == fb.overall.denominator


async def test_r_kpi_figures_narrow_to_a_station_and_a_period(store, quality, policy):
    await _seed(store, policy)
    found = {i.name: i for i in await indicators(quality, policy, *NOV, stations=frozenset({"HZ-XH-02"}))}
    assert (found["feedback_48h"].overall.numerator, found["feedback_48h"].overall.denominator) == (1, 1)
    assert found["feedback_48h"].overall.numerator_ids is None  # ids only on request
    october = period_bounds("2026-10", "Asia/Shanghai")
    found = {i.name: i for i in await indicators(quality, policy, *october)}
    assert found["escalation"].overall.denominator == 1 and found["feedback_48h"].overall.rate is None


async def test_r_kpi_7_8_scorecard_from_tickets_and_imports(store, quality, policy):
    await _seed(store, policy)
    await quality.import_inputs([ImportedInput(period="2026-11", station="SH-PD-01", component=c, numerator=n,
                                               denominator=100)
                                 for c, n in [("order_response", 90), ("perfect_pod", 80), ("on_time_departure", 95),
                                              ("quantity_accuracy", 99), ("courier_attitude", 100)]],
                                T0, "key:ops")
    cards = {s.station: s for s in await scorecard(quality, policy, "2026-11")}
    sh = cards["SH-PD-01"]
    parts = {c.name: c.score for c in sh.components}
    # trace speed: t1 R-CLK-2 met, t2 breached, t3 R-CLK-3 met -> 2/3; exception response: t1 met, t2 breached -> 1/2
    assert parts["trace_speed"] == Decimal("66.67") and parts["exception_response"] == Decimal("50.00")
    assert parts["claims_promises"] is None and sh.missing == ["claims_promises"] and not sh.complete
    # customer service (90 + 66.67 + 50 + 80) / 4 = 71.67; delivery 97; complaints 100 (attitude alone)
    assert [g.score for g in sh.groups] == [Decimal("71.67"), Decimal("97.00"), Decimal("100.00")]
    # 0.30 x 71.67 + 0.40 x 97.00 + 0.30 x 100.00 = 90.301, to two places
    assert sh.score == Decimal("90.30")
    assert sh.rank == 1 and cards["HZ-XH-02"].rank == 2
    # A second import of the same period, station and component replaces the first.
    await quality.import_inputs([ImportedInput(period="2026-11", station="SH-PD-01", component="perfect_pod",
                                               numerator=100, denominator=100)], T0, "key:ops")
    assert [i.numerator for i in await quality.inputs("2026-11") if i.component == "perfect_pod"] == [100]


async def test_rulings_are_recorded_once_filtered_and_never_moved_back(quality, policy):
    await _rulings(quality, policy)
    items, total = await quality.rulings(RulingFilter(station="SH-PD-01"), 10, 0)
    assert total == 2 and {r.state.value for r in items} == {"accepted", "upheld"}
    ruling, events = await quality.ruling("t000000000000003")
    assert ruling.state.value == "cancelled" and [e["action"] for e in events] == ["issued", "cancelled"]
    older = ruling.model_copy(update={"seq": 1, "state": RulingState.AWAITING_UNIT})
    assert await quality.record_ruling(older, "issued", "", "system", T0) is False  # a late retry changes nothing
    assert (await quality.ruling("t000000000000003"))[0].state.value == "cancelled"
    _, total = await quality.rulings(RulingFilter(province="zhejiang", state="open"), 10, 0)
    assert total == 0


async def test_a_report_is_stored_once_and_pins_the_policy(store, quality, policy):
    await _seed(store, policy)
    as_of = datetime(2026, 12, 1, 7, tzinfo=UTC)  # 1 December 15:00 +08:00: November's first edition
    report_id, period, body = await build_report(quality, policy, "monthly", as_of)
    assert (report_id, period, body["final"]) == ("monthly-2026-11-d01", "2026-11", False)
    assert await quality.store_report(report_id, "monthly", period, as_of, policy.version, body) is True
    changed = {**body, "indicators": []}
    assert await quality.store_report(report_id, "monthly", period, as_of, policy.version, changed) is False
    stored = await quality.report(report_id)
    assert stored["body"]["indicators"] == body["indicators"] and stored["policy_version"] == policy.version
    assert stored["body"]["scorecard_spec"][1]["weight"] == "0.40"
    # The exception summary: t2 breached R-CLK-4 and R-CLK-2 and was escalated; t4 breached R-CLK-3.
    assert stored["body"]["exceptions"] == [
        {"ticket_id": "t000000000000002", "what": ["R-CLK-4 breached", "escalated", "R-CLK-2 breached"]},
        {"ticket_id": "t000000000000004", "what": ["R-CLK-3 breached"]}]


async def test_the_migration_fills_the_indicator_tables_from_tickets_recorded_before_it(database_url, policy):
    """0011_quality backfills kpi_tickets and kpi_deadlines from the tickets already in the record."""
    from alembic import command

    from store.migrate import alembic_config

    command.upgrade(alembic_config(database_url), "0009_access")
    t = _ticket(policy, 9)
    _deadline(policy, t, DeadlineKind.COORDINATION, "met", T0 + timedelta(days=1))
    snapshot = t.model_dump_json(exclude={"steps", "breaches"})
    engine = create_engine(sync_url(database_url))
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO tickets (id, kind, carrier, station, status, urgent, customer_name, customer_phone, "
            "customer_role, description, policy_version, fingerprint, opened_at, dispatch_round, callback_attempts, "
            "deadlines, last_seq, snapshot) VALUES (:id, 'inquiry', 'best', 'SH-PD-01', 'open', false, 'x', 'y', "
            "'recipient', 'd', 'p', 'f', :at, 0, 0, '[]', 1, :snap)"), {"id": t.ticket_id, "at": T0.replace(tzinfo=None),
                                                                       "snap": snapshot})
    upgrade(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT rule, station FROM kpi_deadlines WHERE ticket_id = :id"),
                            {"id": t.ticket_id}).all()
        province = conn.execute(text("SELECT province FROM kpi_tickets")).scalar_one()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("R-CLK-4", "SH-PD-01")] and province == "shanghai"
