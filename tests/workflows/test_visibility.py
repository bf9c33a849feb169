"""What ops see (issue 10, ops view): the nearest live deadline, every pending one in +08:00, nothing moot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.deadlines import DeadlineKind
from domain.statuses import Status
from domain.ticket import TicketState
from tests.conftest import make_opening
from workflows.visibility import NEXT_DEADLINE, details, values

T0 = datetime(2026, 11, 23, 2, tzinfo=UTC)  # 10:00 in Shanghai


def _ticket(policy) -> TicketState:
    t = TicketState.from_opening(make_opening(policy), T0)
    measure = policy.clocks.coordination_deadline
    t.start_deadline(DeadlineKind.COORDINATION, 1, measure, T0, T0 + timedelta(hours=30))
    t.start_deadline(DeadlineKind.DISPATCH_ANSWER, 1, measure, T0, T0 + timedelta(hours=2), rule="R-CLK-2")
    t.start_deadline(DeadlineKind.REPLY, 1, policy.clocks.reply_promise, T0, T0 + timedelta(hours=2, minutes=5))
    t.status = Status.AWAITING_STATION
    return t


def test_next_deadline_is_the_nearest_live_one_and_details_list_every_pending_one_in_shanghai_time(policy):
    t = _ticket(policy)
    assert values(t)[NEXT_DEADLINE] == T0 + timedelta(hours=2)
    text = details(t, "station SH-PD-01 to reply")
    assert "Waiting for station SH-PD-01 to reply." in text
    assert "- R-CLK-2 dispatch_answer, round 1: due 2026-11-23T12:00+08:00" in text
    assert "- R-CLK-4 coordination, round 1: due 2026-11-24T16:00+08:00" in text
    assert "- R-CLK-1 reply, round 1: due 2026-11-23T12:05+08:00" in text


def test_a_deadline_the_flow_made_moot_is_never_the_next_one_nor_listed(policy):
    """After the loss is confirmed (or a round replaced), NextDeadline is never a past round's instant."""
    t = _ticket(policy)
    t.supersede({DeadlineKind.COORDINATION, DeadlineKind.DISPATCH_ANSWER}, T0 + timedelta(hours=1), "moot")
    assert values(t)[NEXT_DEADLINE] == T0 + timedelta(hours=2, minutes=5)  # the reply promise, still live
    assert "coordination" not in details(t, "the claims team's decision")


def test_a_closed_ticket_has_no_next_deadline_and_says_how_it_closed(policy):
    t = _ticket(policy)
    t.supersede(None, T0 + timedelta(hours=1), "the ticket is closed")
    t.close(T0 + timedelta(hours=1), "resolved")
    assert values(t)[NEXT_DEADLINE] is None
    text = details(t, "the agent's callback to the customer")
    assert "Closed (resolved)." in text and "Waiting for" not in text and "Pending deadlines" not in text
