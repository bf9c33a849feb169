"""Ops released a message whose fate stayed unknown (R-ESC-5): it is sent once more, beside the ticket.

A workflow of its own, started by POST /v1/messages/{key}/release with an id derived from the key, so
the API never waits on a provider and the ticket's workflow schedules nothing new. The send itself is
the same compare-and-set as every send (activities/messages.py): taken under a new attempt token from
"released", so however often this workflow or its activity runs, one provider call at most sends it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.messages import MessageActivities


def release_workflow_id(key: str, attempts: int) -> str:
    """One resend per release: a message can be released again only after another attempt left it unknown."""
    return f"sms-release-{key}-{attempts}"


@workflow.defn
class ResendMessageWorkflow:
    @workflow.run
    async def run(self, key: str) -> str:
        """What became of the message: sent, unknown (again: ops decide again), or why it failed."""
        try:
            outcome = await workflow.execute_activity_method(
                MessageActivities.send_released, key, start_to_close_timeout=timedelta(seconds=60),
                heartbeat_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5)),
                summary="R-ESC-5: released SMS",
            )
        except ActivityError as err:
            return f"failed: {getattr(err.cause, 'message', None) or err.cause or err}"
        return "sent" if outcome.sent else "unknown" if outcome.unknown else "cancelled"
