"""Saved histories of closed tickets, recorded on the real dev server, replay on today's workflow code.

A change to the workflow that running tickets would trip over fails here.
Refresh them with `make histories` (it runs the end-to-end tests with saving on).
"""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from activities.calendar import HolidaySource
from domain.ticket import TicketOpening, TicketState
from workflows.ticket import TicketWorkflow

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "histories").glob("*.json"))


def test_there_are_saved_histories_to_replay():
    assert len(HISTORIES) >= 3


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_saved_history_replays_on_current_code(path):
    history = WorkflowHistory.from_json(f"ticket-{path.stem}", path.read_text())
    result = await Replayer(workflows=[TicketWorkflow], data_converter=pydantic_data_converter).replay_workflow(
        history, raise_on_replay_failure=True
    )
    assert result.replay_failure is None


def _decode(payloads, type_):
    return pydantic_data_converter.payload_converter.from_payloads(list(payloads), [type_])[0]


async def test_a_deadline_recorded_before_an_override_was_added_stays_on_replay(tmp_path):
    """R-CAL-1 replay safety: the history was recorded before the company closed more days. Computed
    afresh the deadline would move; replaying reads the recorded instant and the code agrees with it."""
    path = next(p for p in HISTORIES if p.stem == "inquiry_national_day_eve")
    history = WorkflowHistory.from_json(f"ticket-{path.stem}", path.read_text())
    events = history.events
    opening = _decode(events[0].workflow_execution_started_event_attributes.input.payloads, TicketOpening)
    final = _decode(events[-1].workflow_execution_completed_event_attributes.result.payloads, TicketState)
    deadline = final.deadlines[0]
    year = deadline.due_at.year

    override = tmp_path / "holidays.toml"
    override.write_text(f'known_years = [{year}]\nclosed = ["{year}-10-01..{year}-10-09"]\n')
    measure = opening.policy.clocks.coordination_deadline
    afresh = opening.policy.deadline(deadline.started_at, measure, HolidaySource(override).rules())
    assert afresh > deadline.due_at  # the added closure would push a new deadline later

    result = await Replayer(workflows=[TicketWorkflow], data_converter=pydantic_data_converter).replay_workflow(
        history, raise_on_replay_failure=True
    )
    assert result.replay_failure is None
    dispatched = next(s for s in final.steps if s.action == "dispatched")
    assert dispatched.data["due_at"] == deadline.due_at.isoformat()  # what ran is what was recorded
