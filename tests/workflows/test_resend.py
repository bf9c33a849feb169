"""The released-SMS workflow (R-ESC-5): what it answers for each fate of its one send, recorded into the
resend corpus so that a released message still running keeps replaying after a deploy."""

from __future__ import annotations

import uuid

import pytest
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.messages import MessageOutcome
from tests.workflows.conftest import save_ruling_history
from workflows.resend import ResendMessageWorkflow, release_workflow_id

FATES = {
    "k-sent": MessageOutcome(sent=1),
    "k-unknown": MessageOutcome(sent=0, unknown=1),
}


@activity.defn(name="send_released")
async def send_released(key: str) -> MessageOutcome:
    """A test double of MessageActivities.send_released: the provider's answer by key."""
    if key == "k-refused":
        raise ApplicationError("isv.MOBILE_NUMBER_ILLEGAL: refused", type="MessageRefused", non_retryable=True)
    return FATES[key]


@pytest.mark.parametrize("key, answer, name", [
    ("k-sent", "sent", "resend_sent"),
    ("k-unknown", "unknown", "resend_unknown_again"),
    ("k-refused", "failed: isv.MOBILE_NUMBER_ILLEGAL: refused", "resend_refused"),
])
async def test_a_released_message_is_sent_once_and_says_what_became_of_it(time_skipping_env, key, answer, name):
    queue = f"resend-{uuid.uuid4().hex[:8]}"
    async with Worker(time_skipping_env.client, task_queue=queue, workflows=[ResendMessageWorkflow],
                      activities=[send_released]):
        handle = await time_skipping_env.client.start_workflow(
            ResendMessageWorkflow.run, key, id=release_workflow_id(key, 1) + uuid.uuid4().hex[:6], task_queue=queue)
        assert await handle.result() == answer
        await save_ruling_history(handle, name, corpus_name="resend")
