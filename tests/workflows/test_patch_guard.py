"""The upgrade guard works: a change to a flow's commands breaks running tickets unless it is patched.

Two deliberately changed copies of the service flow tell the customer one
more thing before the apology. Without `workflow.patched` the saved histories
of service tickets no longer replay (a running ticket would fail on the new
code); with it they replay, and a new ticket takes the new path.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from domain.kinds import Kind
from domain.steps import Action
from domain.ticket import TicketOpening, TicketState
from tests.workflows.corpus import on_disk
from tests.workflows.test_replay import load
from workflows.flows.service import ServiceFlow
from workflows.ticket import Flow, TicketWorkflow

SERVICE_HISTORIES = sorted(name for name in on_disk() if name.split("/")[1].startswith("service_"))
PATCH = "test-service-reassurance"


class ReassuringServiceFlow(ServiceFlow):
    """The changed flow, as a careless change would write it."""

    async def run(self) -> None:
        await self.rt.step(Action.CUSTOMER_TOLD, "your complaint is in good hands")
        await super().run()


class PatchedReassuringServiceFlow(ServiceFlow):
    """The same change, gated as README "Changing a workflow" says."""

    async def run(self) -> None:
        if workflow.patched(PATCH):
            await self.rt.step(Action.CUSTOMER_TOLD, "your complaint is in good hands")
        await super().run()


@workflow.defn(name="TicketWorkflow")
class UnpatchedChange(TicketWorkflow):
    def flow_for(self, kind: Kind) -> Flow | None:
        if kind == Kind.SERVICE:
            return ReassuringServiceFlow(self.rt, self.stations, self.messenger)
        return super().flow_for(kind)

    @workflow.run
    async def run(self, opening: TicketOpening) -> TicketState:
        return await super().run(opening)


@workflow.defn(name="TicketWorkflow")
class PatchedChange(TicketWorkflow):
    def flow_for(self, kind: Kind) -> Flow | None:
        if kind == Kind.SERVICE:
            return PatchedReassuringServiceFlow(self.rt, self.stations, self.messenger)
        return super().flow_for(kind)

    @workflow.run
    async def run(self, opening: TicketOpening) -> TicketState:
        return await super().run(opening)


async def _replay_all(workflow_class) -> dict[str, object]:
    replayer = Replayer(workflows=[workflow_class], data_converter=pydantic_data_converter,
                        workflow_runner=UnsandboxedWorkflowRunner())
    failures = {}
    for name in SERVICE_HISTORIES:
        result = await replayer.replay_workflow(load(name), raise_on_replay_failure=False)
        failures[name] = result.replay_failure
    return failures


def test_there_are_service_histories_of_every_released_version():
    assert {name.split("/")[0] for name in SERVICE_HISTORIES} >= {"v1"}


async def test_an_unpatched_change_to_a_flow_fails_replay_of_the_saved_histories():
    failures = await _replay_all(UnpatchedChange)
    assert failures and all(failures.values()), f"replayed though the flow changed: {failures}"
    assert all("TMPRL1100" in str(f) or "ondeterminism" in str(f) for f in failures.values())


async def test_the_same_change_behind_workflow_patched_replays_every_saved_history():
    failures = await _replay_all(PatchedChange)
    assert failures and not any(failures.values()), failures
