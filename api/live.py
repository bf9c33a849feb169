"""Reading a ticket: from the record, which the workflow writes at every step, or live from its workflow.

A read is served by the database (one indexed lookup), not by a query that
makes the ticket's worker replay or wake it: reads scale with the database,
not the workers. `live` asks the workflow itself, for the state between two
steps; a ticket whose first step is not recorded yet is asked too.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from api.errors import not_found
from api.schemas import TicketOut
from domain.ids import workflow_id
from domain.ticket import TicketState
from security.access import Access
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


async def ticket_view(client: Client, store: TicketStore, ticket_id: str, access: Access,
                      live: bool = False) -> TicketOut:
    """The recorded state (or, `live`, the workflow's own); 404 if neither knows the ticket, and 404 alike
    when the caller's roles are not held for its carrier or station (issue 12): a ticket outside the
    caller's scope is indistinguishable from one that does not exist."""
    view = await _view(client, store, ticket_id, live)
    if not access.sees_ticket(view.carrier, view.station):
        raise not_found(ticket_id)
    return view


async def _view(client: Client, store: TicketStore, ticket_id: str, live: bool) -> TicketOut:
    record_down: SQLAlchemyError | None = None
    if not live:
        try:
            recorded = await store.get(ticket_id)
        except SQLAlchemyError as exc:  # the record is down: the workflow still knows (its writes wait and retry)
            recorded, record_down = None, exc
        if recorded is not None:
            return TicketOut(**recorded.model_dump(), source="record")
    try:
        state = await query_view(handle_for(client, ticket_id))
        if state.steps_before:  # continued as new: earlier runs' steps are in the record
            earlier = await store.steps(ticket_id, up_to=state.steps_before)
            state = state.model_copy(update={"steps": earlier + state.steps})
        return TicketOut(**state.model_dump(), source="workflow")
    except RPCError as exc:
        if record_down is not None:  # unknown to Temporal, and the record that outlives it cannot say: 503
            raise record_down from exc
        recorded = await store.get(ticket_id)  # past retention: the record remains
        if recorded is not None:
            return TicketOut(**recorded.model_dump(), source="record")
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise not_found(ticket_id) from exc
        raise
