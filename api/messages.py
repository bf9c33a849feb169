"""Messages: every SMS of a ticket with its state, the providers' delivery receipts, and ops' release or
cancel of a message whose fate stayed unknown (R-ESC-5)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.adapters.sms import SmsState
from api.auth import AccessDep
from api.deps import ClientDep, SettingsDep, StoreDep
from api.errors import invalid
from api.live import ticket_view
from api.schemas import MessageOut, TicketId, errors
from domain.escalation import masked_phone
from store.messages import MessageRecord, MessageStore
from workflows.resend import ResendMessageWorkflow, release_workflow_id

router = APIRouter(tags=["messages"])
log = logging.getLogger("parcelcare.api")

MessageKey = Annotated[str, Path(min_length=1, max_length=200, description="the message's key, as the ticket's "
                                 "messages show it; or the key its message_unknown step names")]

# A provider pushes reports in batches (Aliyun: up to 100 by default); more than this in one
# push is not a provider's, and each report costs a write.
MAX_RECEIPTS = 1000

_RECEIPTS_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {
        "description": "Aliyun SmsReport or Tencent status callback: one report or an array of them",
        "anyOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}, "maxItems": MAX_RECEIPTS}],
    }}},
}


@router.get("/v1/tickets/{ticket_id}/messages", response_model=list[MessageOut], responses=errors(404))
async def ticket_messages(ticket_id: TicketId, request: Request, client: ClientDep, store: StoreDep,
                          access: AccessDep) -> list[MessageOut]:
    """Every SMS of the ticket (escalation tiers, urgent notice, customer messages) with its state;
    phones masked: ops see whom, not the number."""
    await ticket_view(client, store, ticket_id, access)  # 404 for an unknown ticket, or one outside the scope
    messages: MessageStore = request.app.state.messages
    return [_out(m) for m in await messages.for_ticket(ticket_id)]


def _out(record: MessageRecord) -> MessageOut:
    return MessageOut.model_validate(record.model_dump() | {"phone": masked_phone(record.phone)})


async def _named(messages: MessageStore, key: str) -> str:
    """The one message `key` names: its own, or the one recipient's message under a step's key that waits for
    ops; 404 for none, 409 when the key names several (ops name one)."""
    found = await messages.named(key)
    if not found:
        raise HTTPException(404, f"no message {key}")
    if len(found) == 1:
        return found[0].key
    waiting = [m for m in found if m.state == SmsState.UNKNOWN]
    if len(waiting) == 1:
        return waiting[0].key
    raise HTTPException(409, f"{key} names {len(found)} messages, one per recipient: name one of "
                             f"{', '.join(m.key for m in found)}")


def _not_unknown(record: MessageRecord, verb: str) -> HTTPException:
    why = {
        SmsState.RELEASED: f"it was released already by {record.released_by}",
        SmsState.CANCELLED: f"it was cancelled by {record.cancelled_by}",
        SmsState.SENDING: "an attempt holds it now",
    }.get(record.state, f"it is {record.state.value}")
    return HTTPException(409, f"message {record.key} cannot be {verb}: {why}; only a message whose fate is "
                              "unknown can be released or cancelled")


@router.post("/v1/messages/{key}/release", status_code=202, response_model=MessageOut, responses=errors(404, 409))
async def release_message(key: MessageKey, request: Request, client: ClientDep, settings: SettingsDep,
                          access: AccessDep) -> MessageOut:
    """Send a message whose fate stayed unknown, now, once: it moves unknown -> released (a second release is
    a 409) and a short workflow on the worker sends it under a new attempt token, so this answers without
    waiting on the provider. The outbox (GET /v1/tickets/{ticket_id}/messages) shows how it went."""
    messages: MessageStore = request.app.state.messages
    key = await _named(messages, key)
    record, released = await messages.release(key, access.actor, datetime.now(UTC))
    if record is None:
        raise HTTPException(404, f"no message {key}")
    if not released:
        raise _not_unknown(record, "released")
    try:
        await client.start_workflow(ResendMessageWorkflow.run, key, id=release_workflow_id(key, record.attempts),
                                    task_queue=settings.task_queue)
    except WorkflowAlreadyStartedError:
        pass  # a resend of this very release is on its way already; its compare-and-set sends once
    except RPCError:
        await messages.unrelease(key, datetime.now(UTC))  # still unknown: ops may release it again
        raise
    log.info("message %s of ticket %s released by %s", key, record.ticket_id, access.actor)
    return _out(record)


@router.post("/v1/messages/{key}/cancel", response_model=MessageOut, responses=errors(404, 409))
async def cancel_message(key: MessageKey, request: Request, access: AccessDep) -> MessageOut:
    """Never send a message whose fate stayed unknown; who cancelled it is recorded on the message."""
    messages: MessageStore = request.app.state.messages
    key = await _named(messages, key)
    record, cancelled = await messages.cancel(key, access.actor, datetime.now(UTC))
    if record is None:
        raise HTTPException(404, f"no message {key}")
    if not cancelled:
        raise _not_unknown(record, "cancelled")
    log.info("message %s of ticket %s cancelled by %s", key, record.ticket_id, access.actor)
    return _out(record)


@router.post("/v1/sms/receipts/{provider}", openapi_extra={"requestBody": _RECEIPTS_BODY})
async def delivery_receipts(
    provider: Literal["aliyun", "tencent"], request: Request,
    key: str | None = Query(None, max_length=100, description="the provider's API key (role sms_provider), in the "
                            "receipt URL configured at the provider; or send it as Authorization: Bearer"),
) -> dict:
    """Delivery reports pushed by Aliyun (SmsReport) or Tencent (status callback), matched by key or id.

    Only the provider may push them: the receipt URL carries an API key of role sms_provider held for
    that provider (api/auth.py checks it before the body is read). Neither provider signs these pushes
    (Aliyun's SmsReport HTTP batch push and Tencent's SMS status callback carry no signature; Aliyun
    signs only its MNS queue deliveries, which this API does not use), so the key is the proof. A
    forged push is refused with a 401 or 403 and changes nothing."""
    if provider == "aliyun":
        from activities.adapters.sms_aliyun import ALIYUN_RECEIPT_ACK as ack
        from activities.adapters.sms_aliyun import parse_aliyun_receipts as parse
    else:
        from activities.adapters.sms_tencent import TENCENT_RECEIPT_ACK as ack
        from activities.adapters.sms_tencent import parse_tencent_receipts as parse
    body = await request.body()  # the door has read it: strict JSON, capped in size and depth
    _check_reports(provider, json.loads(body) if body else None)
    try:
        receipts = parse(body)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        # The exception's text may quote the report (a phone): say what is wrong, not what it held.
        raise invalid(["body"], f"not a {provider} delivery report: a field holds the wrong kind of value "
                                "(ids, codes, messages and times are text)", "receipt_invalid") from exc
    messages: MessageStore = request.app.state.messages
    now = datetime.now(UTC)
    for receipt in receipts:
        await messages.apply_receipt(receipt, now)
    return ack


def _check_reports(provider: str, data) -> None:
    """One report (an object) or an array of at most MAX_RECEIPTS of them; each named where it fails."""
    reports = [data] if isinstance(data, dict) else data
    if not isinstance(reports, list):
        raise invalid(["body"], f"a {provider} delivery report is a JSON object, or an array of them",
                      "receipt_invalid")
    if len(reports) > MAX_RECEIPTS:
        raise invalid(["body"], f"at most {MAX_RECEIPTS} reports in one push, not {len(reports)}", "receipt_invalid")
    for i, report in enumerate(reports):
        if not isinstance(report, dict):
            raise invalid(["body", i], f"each {provider} delivery report is a JSON object, not {_kind(report)}",
                          "receipt_invalid")


def _kind(value) -> str:
    """A JSON value's kind, as JSON names it."""
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}[type(value)]
