"""A bare ticket-shaped workflow for bench/stack.py: 4 no-op activities, 2 signals, 2 timed waits.

Its own module so that the workflow sandbox imports nothing but Temporal with it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def noop(step: str) -> str:
    return step


@workflow.defn
class BareTicket:
    def __init__(self) -> None:
        self.replied = self.called_back = False

    @workflow.signal
    def reply(self) -> None:
        self.replied = True

    @workflow.signal
    def callback(self) -> None:
        self.called_back = True

    @workflow.run
    async def run(self) -> str:
        opts = {"start_to_close_timeout": timedelta(seconds=30)}
        await workflow.execute_activity(noop, "open", **opts)
        await workflow.execute_activity(noop, "dispatch", **opts)
        await workflow.wait_condition(lambda: self.replied, timeout=timedelta(hours=48))
        await workflow.execute_activity(noop, "replied", **opts)
        await workflow.wait_condition(lambda: self.called_back, timeout=timedelta(hours=2))
        await workflow.execute_activity(noop, "closed", **opts)
        return "closed"
