"""/v1/tickets: open, read, list, and the answers that become workflow signals."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Response
from pydantic import AwareDatetime
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import ClientDep, PolicyDep, SettingsDep, StoreDep
from api.errors import conflict
from api.live import handle_for, ticket_view
from api.schemas import Accepted, OpenTicket, TicketOut, TicketPage, TicketPatch
from domain.flow import refusal
from domain.claims import ClaimDecision, ClaimDetails
from domain.intake import IntakeError, IntakeRejected, accept_intake, normalise_phone
from domain.urgency import assess_urgency
from domain.ticket import (
    Amendment,
    CallbackReport,
    CustomerContact,
    OfferAnswer,
    PenaltyDecision,
    ReviewResult,
    SenderDecision,
    StationAck,
    Kind,
    StationReply,
    Status,
    TicketOpening,
    TicketState,
    request_fingerprint,
    static_summary,
    ticket_id_for_key,
    workflow_id,
)
from store.repository import TicketFilter
from workflows.ticket import (
    BREACHED,
    CARRIER,
    ESCALATION_TIER,
    PROVINCE,
    STATION,
    TICKET_KIND,
    TICKET_STATUS,
    URGENT,
    TicketWorkflow,
)

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200,
           description="a retried open with the same key returns the same ticket"),
]


@router.post("", status_code=201, response_model=TicketOut, response_model_exclude={"fingerprint"},
             responses={200: {"description": "an earlier open with the same Idempotency-Key"}})
async def open_ticket(body: OpenTicket, response: Response, client: ClientDep, store: StoreDep,
                      settings: SettingsDep, policy: PolicyDep, idempotency_key: IdempotencyKey = None) -> TicketOut:
    """Open a ticket and start its workflow (R-WB-1, R-REC-1)."""
    opening = _validated_opening(body, policy, idempotency_key)
    for _ in range(3):  # a random id that collides gets a new one
        try:
            await client.start_workflow(
                TicketWorkflow.run, opening,
                id=workflow_id(opening.ticket_id), task_queue=settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=TypedSearchAttributes([
                    SearchAttributePair(TICKET_KIND, opening.kind.value),
                    SearchAttributePair(TICKET_STATUS, Status.OPEN.value),
                    SearchAttributePair(CARRIER, opening.carrier),
                    SearchAttributePair(STATION, opening.station),
                    SearchAttributePair(URGENT, opening.urgency.urgent),
                    SearchAttributePair(BREACHED, False),
                    SearchAttributePair(ESCALATION_TIER, 0),
                    *([SearchAttributePair(PROVINCE, opening.station_province)] if opening.station_province else []),
                ]),
                static_summary=static_summary(opening.kind, opening.waybill, opening.station, opening.urgency.urgent),
                static_details=f"policy {opening.policy.version}",
            )
        except WorkflowAlreadyStartedError:
            if idempotency_key is None:
                opening = opening.model_copy(update={"ticket_id": _new_ticket_id()})
                continue
            existing = await ticket_view(client, store, opening.ticket_id)
            if existing.fingerprint != opening.fingerprint:
                raise HTTPException(422, "this Idempotency-Key was already used for a different ticket request")
            response.status_code = 200
            return existing
        try:
            return await ticket_view(client, store, opening.ticket_id)
        except RPCError:  # opened, but no worker answers yet: the ticket as opened, never a second one
            state = TicketState.from_opening(opening, datetime.now(UTC))
            return TicketOut(**state.model_dump(), source="opening")
    raise HTTPException(503, "could not allocate a ticket id; try again")


def _validated_opening(body: OpenTicket, policy, idempotency_key: str | None) -> TicketOpening:
    c = body.customer
    today = local_today(policy)
    waybill, customer = accept_intake(
        policy, body.kind, body.carrier, body.waybill, c.name, c.phone, c.role, body.shipment, today,
        has_change=body.change is not None, has_answer=bool(body.consult_answer),
    )
    return TicketOpening(
        ticket_id=ticket_id_for_key(idempotency_key) if idempotency_key else _new_ticket_id(),
        kind=body.kind, carrier=body.carrier, waybill=waybill, station=body.station, customer=customer,
        description=body.description.strip(), policy=policy,
        fingerprint=request_fingerprint(body.model_dump(mode="json")),
        shipment=body.shipment, urgency=assess_urgency(body.shipment),  # R-URG-1, whatever the client says
        claim_details=body.claim_details or ClaimDetails(), change=body.change, service_target=body.service_target,
        opened_on=today, front_desk_resolved=body.front_desk_resolved, consult_answer=body.consult_answer,
        station_province=body.station_province or body.shipment.destination_province,
        dispatch_route=body.dispatch_route,
    )


def local_today(policy) -> date:
    """The carrier's calendar date now, for day-counted intake rules (R-WB-2)."""
    return datetime.now(ZoneInfo(policy.calendars["default"].timezone)).date()


def _new_ticket_id() -> str:
    return uuid.uuid4().hex[:16]


@router.get("/{ticket_id}", response_model=TicketOut, response_model_exclude={"fingerprint"})
async def get_ticket(ticket_id: str, client: ClientDep, store: StoreDep) -> TicketOut:
    """The live state: status, deadlines as absolute instants, breaches, and every step."""
    return await ticket_view(client, store, ticket_id)


@router.get("", response_model=TicketPage, response_model_exclude={"items": {"__all__": {"fingerprint", "steps"}}})
async def list_tickets(
    store: StoreDep,
    status: Status | None = None,
    kind: Kind | None = None,
    station: str | None = Query(None, max_length=64),
    opened_from: AwareDatetime | None = Query(None, description="inclusive, with a time zone"),
    opened_to: AwareDatetime | None = Query(None, description="exclusive, with a time zone"),
    urgent: bool | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> TicketPage:
    """Tickets from the record, newest first; GET one ticket for its steps."""
    items, total = await store.list(TicketFilter(status, kind, station, opened_from, opened_to, urgent), limit, offset)
    return TicketPage(items=items, total=total, limit=limit, offset=offset)


@router.post("/{ticket_id}/station-replies", status_code=202, response_model=Accepted)
async def station_replied(ticket_id: str, reply: StationReply, client: ClientDep, store: StoreDep) -> Accepted:
    """What the station found: a signal to the ticket's workflow."""
    return await _send(client, store, ticket_id, "station_reply", TicketWorkflow.station_replied, reply,
                       "station reply received", station=reply.station)


@router.post("/{ticket_id}/station-acks", status_code=202, response_model=Accepted)
async def station_acknowledged(ticket_id: str, ack: StationAck, client: ClientDep, store: StoreDep) -> Accepted:
    """The station took the dispatch on (R-CLK-2 direct: 2 working hours; R-CLK-3 associated: 4)."""
    return await _send(client, store, ticket_id, "station_ack", TicketWorkflow.station_acknowledged, ack,
                       "dispatch acknowledged", station=ack.station)


@router.post("/{ticket_id}/callbacks", status_code=202, response_model=Accepted)
async def callback_done(ticket_id: str, report: CallbackReport, client: ClientDep, store: StoreDep) -> Accepted:
    """The agent called the customer back: resolved, disputed or unreachable (R-INQ-4); for delay
    complaints, `compensation_needed` sends a resolved ticket to claims (R-INQ-5)."""
    return await _send(client, store, ticket_id, "callback", TicketWorkflow.callback_done, report,
                       f"callback {report.outcome.value} received")


@router.post("/{ticket_id}/customer-contacts", status_code=202, response_model=Accepted)
async def customer_contacted(ticket_id: str, contact: CustomerContact, client: ClientDep, store: StoreDep) -> Accepted:
    """The customer got in touch after being unreachable: the paused reply promise resumes (R-CLK-1)."""
    return await _send(client, store, ticket_id, "customer_contact", TicketWorkflow.customer_contacted, contact,
                       "customer contact received")


@router.post("/{ticket_id}/urgent-reviews", status_code=202, response_model=Accepted)
async def urgent_reviewed(ticket_id: str, review: ReviewResult, client: ClientDep, store: StoreDep) -> Accepted:
    """The urgent-handling group reviewed an urgent ticket; dispatch follows (R-URG-2)."""
    return await _send(client, store, ticket_id, "urgent_review", TicketWorkflow.urgent_reviewed, review,
                       "review received")


@router.post("/{ticket_id}/offer-answers", status_code=202, response_model=Accepted)
async def offer_answered(ticket_id: str, answer: OfferAnswer, client: ClientDep, store: StoreDep) -> Accepted:
    """The customer's answer to the free re-shipment offer (R-DMG-4); a refusal goes to claims."""
    return await _send(client, store, ticket_id, "offer_answer", TicketWorkflow.offer_answered, answer,
                       "offer answer received")


@router.post("/{ticket_id}/sender-decisions", status_code=202, response_model=Accepted)
async def sender_decided(ticket_id: str, decision: SenderDecision, client: ClientDep, store: StoreDep) -> Accepted:
    """The sender agreed to or refused a change asked by the recipient (R-CHG)."""
    return await _send(client, store, ticket_id, "sender_decision", TicketWorkflow.sender_decided, decision,
                       "sender decision received")


@router.post("/{ticket_id}/penalty-decisions", status_code=202, response_model=Accepted)
async def penalty_decided(ticket_id: str, decision: PenaltyDecision, client: ClientDep, store: StoreDep) -> Accepted:
    """The responsible station's head decided on a service complaint (R-SVC)."""
    return await _send(client, store, ticket_id, "penalty_decision", TicketWorkflow.penalty_decided, decision,
                       "penalty decision received")


@router.post("/{ticket_id}/claim-decisions", status_code=202, response_model=Accepted)
async def claim_decided(ticket_id: str, decision: ClaimDecision, client: ClientDep, store: StoreDep) -> Accepted:
    """The claims team's decision: paid with amount, or rejected with reason; it closes the ticket (SPEC §7)."""
    return await _send(client, store, ticket_id, "claim_decision", TicketWorkflow.claim_decided, decision,
                       f"claim {decision.outcome.value} received")


@router.patch("/{ticket_id}", response_model=TicketOut, response_model_exclude={"fingerprint"})
async def amend_ticket(ticket_id: str, patch: TicketPatch, client: ClientDep, store: StoreDep) -> TicketOut:
    """Change contact phone, description, claim details or shipment facts. The workflow's update
    validator refuses what the flow can no longer take (409); a refusal changes nothing."""
    view = await ticket_view(client, store, ticket_id)
    if view.status == Status.CLOSED:
        raise conflict(ticket_id, "the ticket is closed")
    phone = None
    if patch.phone is not None:
        try:
            phone = normalise_phone(patch.phone)
        except IntakeError as exc:
            raise IntakeRejected([exc]) from exc
    amendment = Amendment(phone=phone, description=patch.description, claim_details=patch.claim_details,
                          shipment=patch.shipment)
    try:
        state = await handle_for(client, ticket_id).execute_update(TicketWorkflow.amend, amendment)
    except WorkflowUpdateFailedError as exc:
        raise conflict(ticket_id, str(exc.cause.message if hasattr(exc.cause, "message") else exc.cause)) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise HTTPException(503, "the ticket's workflow did not answer in time; nothing was changed, try again") from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise conflict(ticket_id, "the ticket is closed") from exc
        raise
    return TicketOut(**state.model_dump(), source="workflow")


async def _send(client, store, ticket_id: str, message: str, signal, payload, received: str,
                station: str | None = None) -> Accepted:
    """One path for every answer: 404 / 409 checks, the sender's station if it is a station's, the signal."""
    handle, view = await _ready_for(client, store, ticket_id, message)
    if station is not None and station != view.station:
        raise conflict(ticket_id, f"it is with station {view.station}, not {station}")
    await _signal(handle, ticket_id, signal, payload)
    return Accepted(ticket_id=ticket_id, status=view.status, message=received)


async def _ready_for(client, store, ticket_id: str, message: str) -> tuple[WorkflowHandle, TicketOut]:
    """404 for an unknown ticket, 409 with the reason when it is not waiting for `message`."""
    view = await ticket_view(client, store, ticket_id)
    why = refusal(view.status, message)
    if why is not None:
        raise conflict(ticket_id, why)
    return handle_for(client, ticket_id), view


async def _signal(handle: WorkflowHandle, ticket_id: str, signal, arg) -> None:
    try:
        await handle.signal(signal, arg)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # closed between our check and the signal
            raise conflict(ticket_id, "the ticket is closed") from exc
        raise
