"""The pure rules of quality management (issue 15): liability rulings (R-LIA), the indicators (R-KPI), the
scorecard (SPEC §9, seed 001) and the reports' periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.indicators import Counted, indicator
from domain.kinds import Kind
from domain.liability import (
    Arbitration,
    LiabilityDetail,
    Link,
    RulingAnswer,
    RulingState,
    answer_refusal,
    responsible_unit,
)
from domain.policy import IndicatorTarget, Quality, parse_policy
from domain.reports import report_period
from domain.scorecard import ImportedInput, parse_inputs, period_bounds, previous_month, previous_week, score_stations
from domain.statuses import Status
from tests.conftest import ROOT

SPEC = Quality().scorecard
HEADER = "period,station,component,numerator,denominator\n"


def test_r_lia_1_only_a_closed_dispatched_ticket_has_a_responsible_unit():
    assert responsible_unit(Kind.LOSS, Status.CLOSED, "SH-PD-01", "shanghai", 1).station == "SH-PD-01"
    assert responsible_unit(Kind.LOSS, Status.AWAITING_STATION, "SH-PD-01", None, 1) is None  # not closed
    assert responsible_unit(Kind.INQUIRY, Status.CLOSED, "SH-PD-01", None, 0) is None  # resolved at the front desk
    assert responsible_unit(Kind.CONSULT, Status.CLOSED, "SH-PD-01", None, 0) is None


@pytest.mark.parametrize(("state", "answer", "taken"), [
    (RulingState.AWAITING_UNIT, RulingAnswer.ACCEPT, True),
    (RulingState.AWAITING_UNIT, RulingAnswer.APPEAL, True),
    (RulingState.AWAITING_UNIT, RulingAnswer.ARBITRATE, False),  # R-LIA-3: only an appeal is arbitrated
    (RulingState.STOOD, RulingAnswer.ACCEPT, False),  # R-LIA-5: silence past the deadline: the ruling stands
    (RulingState.IN_ARBITRATION, RulingAnswer.ACCEPT, False),
    (RulingState.IN_ARBITRATION, RulingAnswer.ARBITRATE, True),
    (RulingState.UPHELD, RulingAnswer.ARBITRATE, False),
])
def test_r_lia_2_to_5_what_each_state_takes(state, answer, taken):
    assert (answer_refusal(state, answer) is None) == taken


def test_r_lia_4_liability_upheld_is_detailed_and_no_liability_has_no_detail():
    detail = LiabilityDetail(city="上海市", link=Link.SORTING, unit="分拨中心")
    assert Arbitration(liable=True, detail=detail).detail == detail
    with pytest.raises(ValueError, match="detailed down"):
        Arbitration(liable=True)
    with pytest.raises(ValueError, match="cancelled"):
        Arbitration(liable=False, detail=detail)


def test_r_clk_8_the_policy_file_counts_rulings_in_office_working_days():
    policy = parse_policy((ROOT / "policy" / "default.toml").read_text())
    assert str(policy.clocks.liability_ruling) == "5 working days on office"
    assert str(policy.clocks.liability_arbitration) == "5 working days on office"
    friday = datetime(2026, 11, 20, 2, tzinfo=UTC)  # Friday 10:00 +08:00; no holiday that week
    assert policy.deadline(friday, policy.clocks.liability_ruling) == friday + timedelta(days=7)


def test_r_kpi_a_figure_counts_hits_over_all_and_compares_with_its_target():
    rows = [Counted("t1", "S1", "p", True), Counted("t2", "S1", "p", False), Counted("t3", "S2", None, True)]
    result = indicator("feedback_48h", rows, IndicatorTarget(target=Decimal("0.90")), with_ids=True)
    assert (result.overall.numerator, result.overall.denominator, result.overall.rate) == (2, 3, Decimal("0.6667"))
    assert result.overall.meets_target is False and result.overall.missed_ids == ["t2"]
    assert result.provinces[""].denominator == 1 and result.stations["S1"].numerator == 1
    low = indicator("escalation", [Counted("t1", "S1", None, False)], IndicatorTarget(target=Decimal(0), at_most=True))
    assert low.overall.rate == 0 and low.overall.meets_target is True and low.overall.numerator_ids is None
    assert indicator("escalation", [], IndicatorTarget(target=Decimal(0))).overall.rate is None  # nothing: no rate


def test_r_kpi_periods_in_shanghai_time():
    assert period_bounds("2026-11", "Asia/Shanghai") == (datetime(2026, 10, 31, 16, tzinfo=UTC),
                                                          datetime(2026, 11, 30, 16, tzinfo=UTC))
    assert period_bounds("2026-W01", "Asia/Shanghai")[0] == datetime(2025, 12, 28, 16, tzinfo=UTC)
    monday = datetime(2026, 11, 22, 23, tzinfo=UTC)  # Monday 23 November 07:00 +08:00
    assert previous_week(monday, "Asia/Shanghai") == "2026-W47"
    assert previous_month(datetime(2026, 11, 30, 23, tzinfo=UTC), "Asia/Shanghai") == "2026-11"  # 1 Dec +08:00
    assert report_period("monthly", datetime(2026, 12, 5, 23, tzinfo=UTC), "Asia/Shanghai") == (
        "2026-11", "monthly-2026-11-d06", True)  # the 6th's edition is final
    assert report_period("monthly", datetime(2026, 12, 1, 23, tzinfo=UTC), "Asia/Shanghai")[2] is False


def test_r_kpi_8_the_csv_takes_every_row_or_none_and_names_each_problem():
    found, problems = parse_inputs(HEADER + "2026-11,S1,perfect_pod,9,10\n2026-W47,S2,order_response,1,1\n", SPEC)
    assert problems == [] and [(i.station, i.numerator, i.denominator) for i in found] == [("S1", 9, 10), ("S2", 1, 1)]
    found, problems = parse_inputs(HEADER + "2026-11,S1,perfect_pod,9,10\n2026-11,S1,perfect_pod,8,10\n"
                                   "2026-11,S1,trace_speed,1,2\n2026-11,S1,on_time_departure,3,2\n", SPEC)
    assert found == [] and [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5"]
    assert parse_inputs("station,period\n", SPEC)[1] == ["line 1: the header must be " + HEADER.strip()]


def test_r_kpi_7_a_station_score_reweights_over_the_groups_with_data_and_says_what_is_missing():
    imports = [ImportedInput(period="2026-11", station="S1", component=c, numerator=n, denominator=100)
               for c, n in [("order_response", 100), ("perfect_pod", 100), ("on_time_departure", 50),
                            ("quantity_accuracy", 50), ("courier_attitude", 80)]]
    tickets = {"trace_speed": [Counted("t1", "S1", "p", True)], "exception_response": [Counted("t1", "S1", "p", True)],
               "claims_promises": [Counted("t1", "S1", "p", False), Counted("t2", "S1", "p", True)]}
    [s1] = score_stations(SPEC, tickets, imports, {})
    # customer service 100, delivery 50, complaints (50 + 80) / 2 = 65: 0.3 x 100 + 0.4 x 50 + 0.3 x 65 = 69.5
    assert s1.score == Decimal("69.50") and s1.complete and s1.rank == 1
    partial = score_stations(SPEC, {}, imports[:2], {"S1": "p"})[0]  # customer service alone
    assert partial.score == Decimal("100.00") and not partial.complete and "on_time_departure" in partial.missing
