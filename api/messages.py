"""Messages: every SMS of a ticket with its state, and the providers' delivery receipts."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from activities.adapters.sms import SmsState
from api.deps import ClientDep, StoreDep
from api.live import ticket_view
from store.messages import MessageRecord, MessageStore

router = APIRouter(tags=["messages"])


class MessageOut(BaseModel):
    key: str
    purpose: str
    role: str
    phone: str | None  # masked: ops see whom, not the number
    text: str
    driver: str
    state: SmsState
    provider_id: str | None
    error: str | None
    attempts: int
    requested_at: datetime
    updated_at: datetime


def _masked(phone: str | None) -> str | None:
    return None if phone is None else (phone[:-8] + "****" + phone[-4:] if len(phone) > 8 else "****")


def _out(record: MessageRecord) -> MessageOut:
    return MessageOut(**record.model_dump(exclude={"phone", "ticket_id", "template", "params"}),
                      phone=_masked(record.phone))


@router.get("/v1/tickets/{ticket_id}/messages", response_model=list[MessageOut])
async def ticket_messages(ticket_id: str, request: Request, client: ClientDep, store: StoreDep) -> list[MessageOut]:
    """Every SMS of the ticket (escalation tiers, urgent notice, customer messages) with its state."""
    await ticket_view(client, store, ticket_id)  # 404 for an unknown ticket
    messages: MessageStore = request.app.state.messages
    return [_out(m) for m in await messages.for_ticket(ticket_id)]


@router.post("/v1/sms/receipts/{provider}")
async def delivery_receipts(provider: str, request: Request) -> dict:
    """Delivery reports pushed by Aliyun (SmsReport) or Tencent (status callback), matched by key or id."""
    if provider == "aliyun":
        from activities.adapters.sms_aliyun import ALIYUN_RECEIPT_ACK as ack
        from activities.adapters.sms_aliyun import parse_aliyun_receipts as parse
    elif provider == "tencent":
        from activities.adapters.sms_tencent import TENCENT_RECEIPT_ACK as ack
        from activities.adapters.sms_tencent import parse_tencent_receipts as parse
    else:
        raise HTTPException(404, f"unknown SMS provider {provider!r}; use aliyun or tencent")
    try:
        receipts = parse(await request.body())
    except ValueError as exc:
        raise HTTPException(422, f"not a {provider} delivery report: {exc}") from exc
    messages: MessageStore = request.app.state.messages
    now = datetime.now(UTC)
    for receipt in receipts:
        await messages.apply_receipt(receipt, now)
    return ack
