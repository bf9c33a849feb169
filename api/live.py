"""Reading a ticket: live from its workflow, or from the record when the workflow is gone."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from api.errors import not_found
from api.schemas import TicketOut
from domain.ticket import TicketState, workflow_id
from store.repository import TicketStore
from workflows.ticket import TicketWorkflow

# A new workflow answers queries once its first task has run: milliseconds with a worker up.
_NOT_READY_RETRIES = 50
_NOT_READY_PAUSE = 0.1
_QUERY_TIMEOUT = timedelta(seconds=5)


def handle_for(client: Client, ticket_id: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(TicketWorkflow.run, workflow_id(ticket_id))


async def query_view(handle: WorkflowHandle) -> TicketState:
    """The workflow's live state; raises RPCError NOT_FOUND for an unknown workflow."""
    for _ in range(_NOT_READY_RETRIES):
        try:
            return await handle.query(TicketWorkflow.view, rpc_timeout=_QUERY_TIMEOUT)
        except RPCError as exc:
            if exc.status != RPCStatusCode.FAILED_PRECONDITION:
                raise
        await asyncio.sleep(_NOT_READY_PAUSE)
    return await handle.query(TicketWorkflow.view, rpc_timeout=_QUERY_TIMEOUT)


async def ticket_view(client: Client, store: TicketStore, ticket_id: str) -> TicketOut:
    """Live state when the workflow answers; otherwise the recorded one; 404 if neither knows it."""
    try:
        state = await query_view(handle_for(client, ticket_id))
        return TicketOut(**state.model_dump(), source="workflow")
    except RPCError as exc:
        recorded = await store.get(ticket_id)
        if recorded is not None:
            return TicketOut(**recorded.model_dump(), source="record")
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise not_found(ticket_id) from exc
        raise
