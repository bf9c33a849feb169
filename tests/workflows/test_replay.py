"""Saved histories of closed tickets, recorded on the real dev server, replay on today's workflow code.

A change to the workflow that running tickets would trip over fails here.
Refresh them with `make histories` (it runs the end-to-end tests with saving on).
"""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.ticket import TicketWorkflow

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "histories").glob("*.json"))


def test_there_are_saved_histories_to_replay():
    assert len(HISTORIES) >= 2


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_saved_history_replays_on_current_code(path):
    history = WorkflowHistory.from_json(f"ticket-{path.stem}", path.read_text())
    result = await Replayer(workflows=[TicketWorkflow], data_converter=pydantic_data_converter).replay_workflow(
        history, raise_on_replay_failure=True
    )
    assert result.replay_failure is None
