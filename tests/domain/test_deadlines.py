"""A deadline ends in exactly one way (issue 10): met, breached or superseded; an answer after a breach is
recorded as paid late and leaves the breach standing."""

from datetime import UTC, datetime, timedelta

from domain.deadlines import Deadline, DeadlineKind
from domain.policy import Duration

T0 = datetime(2026, 11, 23, 2, tzinfo=UTC)
H = timedelta(hours=1)


def _deadline() -> Deadline:
    return Deadline(kind=DeadlineKind.DISPATCH_ANSWER, rule="R-CLK-2", round=1, measure=Duration.parse("2h"),
                    started_at=T0, due_at=T0 + 2 * H)


def test_r_clk_2_an_answer_in_time_meets_the_deadline():
    d = _deadline()
    d.answered(T0 + H)
    assert (d.met_at, d.breached_at, d.answered_late_at) == (T0 + H, None, None) and d.ended


def test_r_clk_2_an_answer_after_the_breach_is_paid_late_and_the_breach_stands():
    d = _deadline()
    d.breached_at = d.due_at
    d.answered(T0 + 3 * H)
    d.answered(T0 + 4 * H)  # a second answer changes nothing
    assert (d.met_at, d.breached_at, d.answered_late_at) == (None, T0 + 2 * H, T0 + 3 * H)


def test_an_answer_to_a_superseded_deadline_leaves_it_superseded():
    d = _deadline()
    d.superseded_at, d.superseded_reason = T0 + H, "the loss was confirmed"
    d.answered(T0 + 3 * H)
    assert (d.met_at, d.breached_at, d.answered_late_at) == (None, None, None)
