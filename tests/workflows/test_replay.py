"""Every saved history of every released version replays on today's workflow code.

tests/histories/<version>/ holds real runs (time-skipping and dev servers) of
each released version: what tickets still running on it look like. A change
that one of them would trip over fails here. The corpus is append-only: the
manifest pins every file, so a history deleted, edited or re-recorded fails too.
"""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from activities.calendar import HolidaySource
from domain.kinds import Kind
from domain.ticket import TicketOpening, TicketState
from tests.workflows import corpus
from workflows import versions
from workflows.resend import ResendMessageWorkflow
from workflows.ruling import RulingWorkflow
from workflows.ticket import TicketWorkflow

HISTORIES = corpus.on_disk()


def load(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"ticket-{name}", HISTORIES[name].read_text())


async def replay(history: WorkflowHistory, workflow=TicketWorkflow):
    return await Replayer(workflows=[workflow], data_converter=pydantic_data_converter).replay_workflow(
        history, raise_on_replay_failure=False)


@pytest.mark.parametrize("name", sorted(HISTORIES))
async def test_saved_history_replays_on_current_code(name):
    """Tickets of every version, liability rulings (tests/histories/ruling-<version>/, R-LIA) and released
    SMS (tests/histories/resend-<version>/, R-ESC-5)."""
    workflow = (RulingWorkflow if name.startswith("ruling-") else ResendMessageWorkflow if name.startswith("resend-")
                else TicketWorkflow)
    result = await replay(load(name), workflow)
    assert result.replay_failure is None, f"{name}: {result.replay_failure}"


def test_every_sealed_history_is_there_unchanged():
    """Append-only: a history in the manifest is never deleted or rewritten (re-recording proves nothing)."""
    sealed = corpus.manifest()
    missing = sorted(set(sealed) - set(HISTORIES))
    changed = sorted(n for n, sha in sealed.items() if n in HISTORIES and corpus.digest(HISTORIES[n]) != sha)
    assert not missing, f"sealed histories deleted: {missing}"
    assert not changed, f"sealed histories rewritten: {changed}"


def test_every_saved_history_is_sealed():
    """A history recorded but not sealed would not be protected: `make histories` seals what it adds."""
    assert sorted(set(HISTORIES) - set(corpus.manifest())) == []


@pytest.mark.parametrize("version", versions.RELEASED)
def test_each_released_version_has_a_run_of_every_kind(version):
    kinds = set()
    for name in HISTORIES:
        if name.startswith(f"{version}/"):
            started = load(name).events[0].workflow_execution_started_event_attributes
            kinds.add(_decode(started.input.payloads, TicketOpening).kind)
    assert kinds == set(Kind), f"{version} lacks {sorted(set(Kind) - kinds)}"


@pytest.mark.parametrize("version", versions.RULING_RELEASED)
def test_each_released_ruling_version_has_its_accept_appeal_and_silence_runs(version):
    """R-LIA-2..5: the ruling corpus holds an accepted, a stood, an upheld and a cancelled ruling."""
    names = {n.split("/", 1)[1] for n in HISTORIES if n.startswith(f"ruling-{version}/")}
    assert {"ruling_accepted.json", "ruling_stood_after_silence.json", "ruling_appeal_upheld.json",
            "ruling_appeal_cancelled.json"} <= names


def test_the_v1_corpus_has_a_ticket_that_continued_as_new():
    last = load("v1/inquiry_continued_as_new_run1.json").events[-1]
    assert last.HasField("workflow_execution_continued_as_new_event_attributes")


def _decode(payloads, type_):
    return pydantic_data_converter.payload_converter.from_payloads(list(payloads), [type_])[0]


async def test_a_deadline_recorded_before_an_override_was_added_stays_on_replay(tmp_path):
    """R-CAL-1 replay safety: the history was recorded before the company closed more days. Computed
    afresh the deadline would move; replaying reads the recorded instant and the code agrees with it."""
    history = load("v1/inquiry_national_day_eve.json")
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

    result = await replay(history)
    assert result.replay_failure is None
    dispatched = next(s for s in final.steps if s.action == "dispatched")
    assert dispatched.data["due_at"] == deadline.due_at.isoformat()  # what ran is what was recorded


@pytest.mark.parametrize("version", versions.RESEND_RELEASED)
def test_each_released_resend_version_has_its_sent_unknown_and_failed_runs(version):
    """R-ESC-5: the released-SMS corpus holds a message sent, one whose fate stayed unknown, one refused."""
    names = {n.split("/", 1)[1] for n in HISTORIES if n.startswith(f"resend-{version}/")}
    assert {"resend_sent.json", "resend_unknown_again.json", "resend_refused.json"} <= names
