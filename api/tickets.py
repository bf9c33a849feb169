"""/v1/tickets: open, read, list, and the answers that become workflow signals."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import AccessDep, masked, shown
from api.deps import ClientDep, PolicyDep, SettingsDep, StoreDep
from api.errors import conflict, invalid, problem
from api.live import handle_for, ticket_view
from api.schemas import (
    Accepted,
    CallbackReportIn,
    ClaimDecisionIn,
    CustomerContactIn,
    HandOverIn,
    Instant,
    Limit,
    NoteIn,
    OfferAnswerIn,
    Offset,
    OpenTicket,
    PenaltyDecisionIn,
    ReviewResultIn,
    SenderDecisionIn,
    StationAckIn,
    StationReplyIn,
    TicketId,
    TicketOut,
    TicketPage,
    TicketPatch,
    TicketSummary,
    errors,
)
from domain.claims import ClaimDetails
from domain.customer import Customer
from domain.flow import refusal, resolution_at_intake
from domain.ids import request_fingerprint, ticket_id_for_key, workflow_id
from domain.intake import (
    IntakeError,
    IntakeRejected,
    accept_intake,
    accept_parties,
    ascii_width,
    check_amendment,
    normalise_phone,
)
from domain.kinds import Kind
from domain.messages import (
    Amendment,
    Assignment,
    InternalNote,
    Message,
)
from domain.parties import Party
from domain.statuses import Status
from domain.ticket import ChangeRequest, TicketOpening, TicketState
from domain.urgency import assess_urgency
from security.access import Access, Role
from store.repository import TicketFilter
from workflows.ticket import TicketWorkflow
from workflows.visibility import at_open, static_summary

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])
log = logging.getLogger("parcelcare.api")

# OpenAPI links: what a client (and schemathesis' stateful phase) does next with an opened ticket.
_TICKET_LINKS = {
    name: {"operationId": operation, "parameters": {"ticket_id": "$response.body#/ticket_id"}}
    for name, operation in [("GetTicket", "get_ticket"), ("AmendTicket", "amend_ticket"),
                            ("StationReply", "station_replied"), ("StationAck", "station_acknowledged"),
                            ("Callback", "callback_done"), ("CustomerContact", "customer_contacted"),
                            ("UrgentReview", "urgent_reviewed"), ("OfferAnswer", "offer_answered"),
                            ("SenderDecision", "sender_decided"), ("PenaltyDecision", "penalty_decided"),
                            ("ClaimDecision", "claim_decided"), ("Messages", "ticket_messages"),
                            ("Claim", "claim")]
}
_ANSWER_ERRORS = errors(404, 409)

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200,
           description="a retried open with the same key returns the same ticket"),
]


@router.post("", status_code=201, response_model=TicketOut,
             responses={201: {"description": "the ticket, opened", "links": _TICKET_LINKS},
                        200: {"description": "an earlier open with the same Idempotency-Key", "model": TicketOut,
                              "links": _TICKET_LINKS}})
async def open_ticket(body: OpenTicket, request: Request, response: Response, client: ClientDep, store: StoreDep,
                      settings: SettingsDep, policy: PolicyDep, access: AccessDep,
                      idempotency_key: IdempotencyKey = None) -> TicketOut:
    """Open a ticket and start its workflow (R-WB-1, R-REC-1), for a carrier the caller serves."""
    if not access.sees_carrier(body.carrier):
        raise HTTPException(403, [problem(["body", "carrier"], f"{access.actor} does not open tickets for carrier "
                                          f"{body.carrier!r}", "forbidden")])
    opening = _validated_opening(body, policy, idempotency_key).model_copy(update={"opened_by": access.actor})
    for _ in range(3):  # a random id that collides gets a new one
        try:
            await client.start_workflow(
                TicketWorkflow.run, opening,
                id=workflow_id(opening.ticket_id), task_queue=settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=at_open(opening),
                static_summary=static_summary(opening.kind, opening.waybill, opening.station, opening.urgency.urgent),
                static_details=f"policy {opening.policy.version}",
            )
        except WorkflowAlreadyStartedError:
            if idempotency_key is None:
                opening = opening.model_copy(update={"ticket_id": _new_ticket_id()})
                continue
            existing = await _existing(client, store, opening.ticket_id, access)
            if existing is None or existing.fingerprint != opening.fingerprint:
                raise invalid(["header", "Idempotency-Key"],
                              "this Idempotency-Key was already used for a different ticket request",
                              "idempotency_key_reused") from None
            response.status_code = 200
            return await shown(request, access, existing)
        log.info("ticket %s opened by %s", opening.ticket_id, access.actor)
        # The ticket as opened, without waiting for its worker: what it decides next is a GET away, and that
        # GET reads the record, which has it from now on.
        state = TicketState.from_opening(opening, datetime.now(UTC))
        try:
            await store.opened(state)
        except SQLAlchemyError:  # the workflow records it anyway at its first step; reads ask it until then
            log.warning("ticket %s: record not written at opening; its workflow will write it", opening.ticket_id)
        return await shown(request, access, _as_decided(TicketOut(**state.model_dump(), source="opening"), opening))
    raise HTTPException(503, "could not allocate a ticket id; try again")


def _as_decided(view: TicketOut, opening: TicketOpening) -> TicketOut:
    """A ticket the rules close at intake (a consult, a front-desk answer accepted, a refused loss or damage)
    is answered closed, with its resolution, even while its workflow is still recording the steps."""
    decided = resolution_at_intake(opening.kind, opening.shipment, opening.front_desk_resolved)
    if decided is None or view.status == Status.CLOSED:
        return view
    resolution, why = decided
    return view.model_copy(update={"status": Status.CLOSED, "resolution": resolution, "not_accepted_reason": (
        why if resolution == "not_accepted" else view.not_accepted_reason)})


async def _existing(client, store, ticket_id: str, access: Access) -> TicketOut | None:
    """The ticket an Idempotency-Key already opened, or None when it is outside the caller's scope (then the
    key counts as used for another request, and nothing of that ticket is told)."""
    try:
        return await ticket_view(client, store, ticket_id, access)
    except HTTPException as exc:
        if exc.status_code == 404:
            return None
        raise


def _validated_opening(body: OpenTicket, policy, idempotency_key: str | None) -> TicketOpening:
    c = body.customer
    today = local_today(policy)
    shipment = body.shipment.facts()
    errors: list = []
    try:
        waybill, customer = accept_intake(
            policy, body.kind, body.carrier, body.waybill, c.name, c.phone, c.role, shipment, today,
            has_change=body.change is not None, has_answer=bool((body.consult_answer or "").strip()),
            written_claim_on=body.claim_details.details().written_claim_on if body.claim_details else None,
        )
    except IntakeRejected as rejected:
        errors.extend(rejected.errors)
        waybill, customer = None, Customer(name=c.name, phone=c.phone, role=c.role)
    try:  # every reason at once: the parties' too (R-REC-1, R-LOSS-5, R-CHG, R-LOSS-2)
        sender, recipient = accept_parties(
            body.kind, customer, body.sender.party() if body.sender else Party(),
            body.recipient.party() if body.recipient else Party(), body.origin_station)
    except IntakeRejected as rejected:
        errors.extend(rejected.errors)
    if errors:
        raise IntakeRejected(errors)
    return TicketOpening(
        ticket_id=ticket_id_for_key(idempotency_key) if idempotency_key else _new_ticket_id(),
        kind=body.kind, carrier=body.carrier, waybill=waybill, station=body.station, customer=customer,
        sender=sender, recipient=recipient, origin_station=body.origin_station,
        delivery_station=body.delivery_station,
        description=body.description.strip(), policy=policy,
        fingerprint=request_fingerprint(body.model_dump(mode="json")),
        shipment=shipment, urgency=assess_urgency(shipment),  # R-URG-1, whatever the client says
        claim_details=body.claim_details.details() if body.claim_details else ClaimDetails(),
        change=ChangeRequest.model_validate(body.change.model_dump()) if body.change else None,
        service_target=body.service_target,
        opened_on=today, front_desk_resolved=body.front_desk_resolved, consult_answer=body.consult_answer,
        station_province=body.station_province or shipment.destination_province,
        dispatch_route=body.dispatch_route,
    )


def local_today(policy) -> date:
    """The carrier's calendar date now, for day-counted intake rules (R-WB-2)."""
    return local_date(datetime.now(UTC), policy)


def local_date(instant: datetime, policy) -> date:
    """The carrier's calendar date at an instant."""
    return instant.astimezone(ZoneInfo(policy.calendars["default"].timezone)).date()


def _new_ticket_id() -> str:
    return uuid.uuid4().hex[:16]


@router.get("/{ticket_id}", response_model=TicketOut, responses=errors(404))
async def get_ticket(
    ticket_id: TicketId, request: Request, client: ClientDep, store: StoreDep, access: AccessDep,
    live: bool = Query(False, description="ask the ticket's workflow instead of the record (the state between "
                                          "two recorded steps; slower, and work for the worker)"),
) -> TicketOut:
    """The ticket: status, deadlines as absolute instants, breaches, and every step with its actor, as
    recorded at its last step (`source: record`), or its workflow's live state (`live=true`, `source:
    workflow`). The customer's phone is shown in full to agents (each read recorded), masked to others."""
    return await shown(request, access, await ticket_view(client, store, ticket_id, access, live=live))


@router.get("", response_model=TicketPage)
async def list_tickets(
    store: StoreDep,
    access: AccessDep,
    status: Status | None = None,
    kind: Kind | None = None,
    station: str | None = Query(None, max_length=64),
    opened_from: Instant | None = Query(None, description="inclusive, ISO 8601 with its offset"),
    opened_to: Instant | None = Query(None, description="exclusive, ISO 8601 with its offset"),
    urgent: bool | None = None,
    waybill: str | None = Query(None, min_length=1, max_length=64,
                                description="the waybill, exactly (full-width digits are read as ASCII)"),
    phone: str | None = Query(None, min_length=1, max_length=40,
                              description="any party's phone (customer, sender, recipient), written any way the "
                                          "intake takes it (13812345678, +86 138 1234 5678); matched by its keyed "
                                          "hash, never stored in clear for this"),
    breached: bool | None = Query(None, description="a deadline of the ticket was breached (or none was)"),
    overdue: bool | None = Query(None, description="an open ticket owing a promise already past: a deadline "
                                                   "running past its due instant, or breached and still owed"),
    due_before: Instant | None = Query(None, description="owes a promise due before this instant (ISO 8601 with "
                                                         "its offset)"),
    owner: str | None = Query(None, min_length=1, max_length=200,
                              description="`me` (the caller), `none` (nobody has taken it) or an actor id"),
    closed: bool | None = Query(None, description="closed tickets only (true) or open ones only (false)"),
    sort: Literal["opened", "deadline"] = Query("opened", description="opened: newest first; deadline: the "
                                                "earliest promise still owed first, overdue ones leading, tickets "
                                                "owing none last"),
    limit: Limit = 50,
    offset: Offset = 0,
) -> TicketPage:
    """Tickets from the record, newest first (or by deadline), of the carriers the caller serves; GET one
    ticket for its steps. Phones are masked in lists, whoever asks."""
    visible = access.visible()
    if phone is not None:
        try:
            phone = normalise_phone(phone)
        except IntakeError as exc:
            raise invalid(["query", "phone"], exc.message, "intake_rule") from None
    if waybill is not None:  # as the ticket stores it: full-width digits read as ASCII (R-WB-1)
        waybill = ascii_width(waybill).strip()
    who = {"me": access.actor, "none": ""}.get(owner, owner) if owner is not None else None
    flt = TicketFilter(status, kind, station, opened_from, opened_to, urgent,
                       visible_carriers=visible.carriers, visible_stations=visible.stations,
                       waybill=waybill, phone=phone, breached=breached, overdue=overdue, due_before=due_before,
                       owner=who, closed=closed, now=datetime.now(UTC), sort=sort)
    items, total = await store.list(flt, limit, offset)
    return TicketPage(items=[masked(TicketSummary.of(t)) for t in items], total=total, limit=limit, offset=offset)


@router.post("/{ticket_id}/station-replies", status_code=202, response_model=Accepted, responses=_ANSWER_ERRORS)
async def station_replied(ticket_id: TicketId, reply: StationReplyIn, client: ClientDep, store: StoreDep,
                          access: AccessDep) -> Accepted:
    """What the station found: a signal to the ticket's workflow."""
    return await _send(client, store, access, ticket_id, Message.STATION_REPLY, TicketWorkflow.station_replied,
                       reply, "station reply received", station=reply.station)


@router.post("/{ticket_id}/station-acks", status_code=202, response_model=Accepted, responses=_ANSWER_ERRORS)
async def station_acknowledged(ticket_id: TicketId, ack: StationAckIn, client: ClientDep, store: StoreDep,
                               access: AccessDep) -> Accepted:
    """The station took the dispatch on (R-CLK-2 direct: 2 working hours; R-CLK-3 associated: 4)."""
    return await _send(client, store, access, ticket_id, Message.STATION_ACK, TicketWorkflow.station_acknowledged,
                       ack, "dispatch acknowledged", station=ack.station)


@router.post("/{ticket_id}/callbacks", status_code=202, response_model=Accepted, responses=_ANSWER_ERRORS)
async def callback_done(ticket_id: TicketId, report: CallbackReportIn, client: ClientDep, store: StoreDep,
                        access: AccessDep) -> Accepted:
    """The agent called the customer back: resolved, disputed or unreachable (R-INQ-4); for delay
    complaints, `compensation_needed` sends a resolved ticket to claims (R-INQ-5)."""
    return await _send(client, store, access, ticket_id, Message.CALLBACK, TicketWorkflow.callback_done,
                       report, f"callback {report.outcome.value} received")


@router.post("/{ticket_id}/customer-contacts", status_code=202, response_model=Accepted, responses=_ANSWER_ERRORS)
async def customer_contacted(ticket_id: TicketId, contact: CustomerContactIn, client: ClientDep, store: StoreDep,
                             access: AccessDep) -> Accepted:
    """The customer got in touch after being unreachable: the paused reply promise resumes (R-CLK-1)."""
    return await _send(client, store, access, ticket_id, Message.CUSTOMER_CONTACT, TicketWorkflow.customer_contacted,
                       contact, "customer contact received")


@router.post("/{ticket_id}/urgent-reviews", status_code=202, response_model=Accepted, responses=_ANSWER_ERRORS)
async def urgent_reviewed(ticket_id: TicketId, review: ReviewResultIn, client: ClientDep, store: StoreDep,
                          access: AccessDep) -> Accepted:
    """The urgent-handling group reviewed an urgent ticket; dispatch follows (R-URG-2)."""
    return await _send(client, store, access, ticket_id, Message.URGENT_REVIEW, TicketWorkflow.urgent_reviewed,
                       review, "review received")


@router.post("/{ticket_id}/offer-answers", status_code=202, response_model=Accepted, responses=_ANSWER_ERRORS)
async def offer_answered(ticket_id: TicketId, answer: OfferAnswerIn, client: ClientDep, store: StoreDep,
                         access: AccessDep) -> Accepted:
    """The customer's answer to the free re-shipment offer (R-DMG-4); a refusal goes to claims."""
    return await _send(client, store, access, ticket_id, Message.OFFER_ANSWER, TicketWorkflow.offer_answered,
                       answer, "offer answer received")


@router.post("/{ticket_id}/sender-decisions", status_code=202, response_model=Accepted, responses=_ANSWER_ERRORS)
async def sender_decided(ticket_id: TicketId, decision: SenderDecisionIn, client: ClientDep, store: StoreDep,
                         access: AccessDep) -> Accepted:
    """The sender agreed to or refused a change asked by the recipient (R-CHG)."""
    return await _send(client, store, access, ticket_id, Message.SENDER_DECISION, TicketWorkflow.sender_decided,
                       decision, "sender decision received")


@router.post("/{ticket_id}/penalty-decisions", status_code=202, response_model=Accepted, responses=_ANSWER_ERRORS)
async def penalty_decided(ticket_id: TicketId, decision: PenaltyDecisionIn, client: ClientDep, store: StoreDep,
                          access: AccessDep) -> Accepted:
    """The responsible station's head decided on a service complaint (R-SVC)."""
    return await _send(client, store, access, ticket_id, Message.PENALTY_DECISION, TicketWorkflow.penalty_decided,
                       decision, "penalty decision received")


@router.post("/{ticket_id}/claim-decisions", status_code=202, response_model=Accepted, responses=_ANSWER_ERRORS)
async def claim_decided(ticket_id: TicketId, decision: ClaimDecisionIn, client: ClientDep, store: StoreDep,
                        access: AccessDep) -> Accepted:
    """The claims team's decision: paid with amount, or rejected with reason; it closes the ticket (SPEC §7)."""
    return await _send(client, store, access, ticket_id, Message.CLAIM_DECISION, TicketWorkflow.claim_decided,
                       decision, f"claim {decision.outcome.value} received")


@router.patch("/{ticket_id}", response_model=TicketOut, responses=errors(404, 409))
async def amend_ticket(ticket_id: TicketId, patch: TicketPatch, request: Request, client: ClientDep,
                       store: StoreDep, policy: PolicyDep, access: AccessDep) -> TicketOut:
    """Change contact phone, description, claim details or shipment facts, under the rules of an
    open (R-REC-1, R-WB-2, R-DMG-1/2). The workflow's update validator refuses what the flow can
    no longer take (409); a refusal changes nothing."""
    if not patch.changes():
        raise invalid(["body"], f"nothing to change: a PATCH changes {', '.join(TicketPatch.model_fields)}",
                      "nothing_to_change")
    view = await ticket_view(client, store, ticket_id, access)
    if view.status == Status.CLOSED:
        raise conflict(ticket_id, "the ticket is closed")
    shipment = patch.shipment.facts() if patch.shipment else None
    written = patch.claim_details.details().written_claim_on if patch.claim_details else None
    phone = check_amendment(view.kind, patch.phone, shipment, local_today(policy), local_date(view.opened_at, policy),
                            written, (shipment or view.shipment).ship_date)
    amendment = Amendment(phone=phone, description=patch.description.strip() if patch.description else None,
                          claim_details=patch.claim_details.details() if patch.claim_details else None,
                          shipment=shipment, actor=access.actor)
    state = await _update(client, ticket_id, TicketWorkflow.amend, amendment)
    log.info("ticket %s amended by %s (%s)", ticket_id, access.actor, ", ".join(sorted(patch.changes())))
    return await shown(request, access, TicketOut(**state.model_dump(), source="workflow"))


# --- the desk (issue 14): who has the ticket, and internal notes ---------------------------------

_DESK_ERRORS = errors(404, 409)


@router.post("/{ticket_id}/take", response_model=TicketOut, responses=_DESK_ERRORS)
async def take_ticket(ticket_id: TicketId, request: Request, client: ClientDep, store: StoreDep,
                      access: AccessDep) -> TicketOut:
    """The caller takes the ticket: its owner is whoever the credential names. An agent takes a ticket nobody
    has; a team lead any. A closed ticket is a 409."""
    view = await ticket_view(client, store, ticket_id, access)
    _may_move(access, ticket_id, view)
    state = await _desk_update(client, store, access, ticket_id, TicketWorkflow.take,
                               Assignment(owner=access.actor, actor=access.actor), view=view)
    log.info("ticket %s taken by %s", ticket_id, access.actor)
    return await shown(request, access, TicketOut(**state.model_dump(), source="workflow"))


@router.post("/{ticket_id}/hand-over", response_model=TicketOut, responses=_DESK_ERRORS)
async def hand_over_ticket(ticket_id: TicketId, body: HandOverIn, request: Request, client: ClientDep,
                           store: StoreDep, access: AccessDep) -> TicketOut:
    """The ticket goes to a colleague (`to`: their actor id). An agent hands over a ticket nobody has or
    their own; a team lead any ticket. A closed ticket is a 409."""
    view = await ticket_view(client, store, ticket_id, access)
    _may_move(access, ticket_id, view)
    state = await _desk_update(client, store, access, ticket_id, TicketWorkflow.hand_over,
                               Assignment(owner=body.to, actor=access.actor), view=view)
    log.info("ticket %s handed over by %s to %s", ticket_id, access.actor, body.to)
    return await shown(request, access, TicketOut(**state.model_dump(), source="workflow"))


@router.post("/{ticket_id}/notes", response_model=TicketOut, status_code=201, responses=_DESK_ERRORS)
async def add_note(ticket_id: TicketId, body: NoteIn, request: Request, client: ClientDep, store: StoreDep,
                   access: AccessDep) -> TicketOut:
    """An internal note, for colleagues only: kept on the ticket and as a step, never sent to anyone. A closed
    ticket is a 409 (its workflow, which keeps the step log, is finished)."""
    state = await _desk_update(client, store, access, ticket_id, TicketWorkflow.add_note,
                               InternalNote(text=body.text.strip(), actor=access.actor))
    log.info("ticket %s: internal note by %s", ticket_id, access.actor)  # never the text: it may quote a customer
    return await shown(request, access, TicketOut(**state.model_dump(), source="workflow"))


def _may_move(access: Access, ticket_id: str, view: TicketOut) -> None:
    """A ticket someone else has moves only by their hand or a team lead's (409 otherwise)."""
    if Role.TEAM_LEAD not in access.granted and view.owner not in (None, access.actor):
        raise conflict(ticket_id, f"it is with {view.owner}: only they or a team lead can hand it over")


async def _desk_update(client, store, access: Access, ticket_id: str, update, arg,
                       view: TicketOut | None = None) -> TicketState:
    """404 (unknown, or outside the caller's scope), 409 for a closed ticket, else the workflow's update."""
    view = view or await ticket_view(client, store, ticket_id, access)
    if view.status == Status.CLOSED:
        raise conflict(ticket_id, "the ticket is closed")
    return await _update(client, ticket_id, update, arg)


async def _update(client, ticket_id: str, update, arg) -> TicketState:
    """A Temporal update of the ticket's workflow, its refusals as the API says them: 409 with the
    validator's reason or for a closed ticket (its workflow is gone), 503 when it does not answer in time."""
    try:
        return await handle_for(client, ticket_id).execute_update(update, arg)
    except WorkflowUpdateFailedError as exc:
        raise conflict(ticket_id, str(exc.cause.message if hasattr(exc.cause, "message") else exc.cause)) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise HTTPException(
            503, "the ticket's workflow did not answer in time; nothing was changed, try again") from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise conflict(ticket_id, "the ticket is closed") from exc
        raise


async def _send(client, store, access: Access, ticket_id: str, message: Message, signal, payload, received: str,
                station: str | None = None) -> Accepted:
    """One path for every answer: 404 (unknown, or outside the caller's scope) / 409 checks, the sender's
    station if it is a station's, the signal carrying the actor from the caller's credential."""
    handle, view = await _ready_for(client, store, ticket_id, message, access)
    if station is not None and station != view.station:
        raise conflict(ticket_id, f"it is with station {view.station}, not {station}")
    await _signal(handle, ticket_id, signal, payload.model_copy(update={"actor": access.actor}))
    log.info("ticket %s: %s from %s", ticket_id, message.words, access.actor)
    return Accepted(ticket_id=ticket_id, status=view.status,
                    message=f"{received}: accepted for the ticket's workflow; GET the ticket to see it taken "
                            "(a step of its own) or ignored (a message_ignored step with the reason and the "
                            "message's content)")


async def _ready_for(client, store, ticket_id: str, message: Message,
                     access: Access) -> tuple[WorkflowHandle, TicketOut]:
    """404 for an unknown ticket, 409 with the reason when it is not waiting for `message`."""
    view = await ticket_view(client, store, ticket_id, access)
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
