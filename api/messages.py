"""Messages: every SMS of a ticket with its state, and the providers' delivery receipts."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from api.deps import ClientDep, StoreDep
from api.live import ticket_view
from domain.escalation import masked_phone
from store.messages import MessageRecord, MessageStore

router = APIRouter(tags=["messages"])


@router.get("/v1/tickets/{ticket_id}/messages", response_model=list[MessageRecord],
            response_model_exclude={"__all__": {"ticket_id", "template", "params"}})
async def ticket_messages(ticket_id: str, request: Request, client: ClientDep, store: StoreDep) -> list[MessageRecord]:
    """Every SMS of the ticket (escalation tiers, urgent notice, customer messages) with its state;
    phones masked: ops see whom, not the number."""
    await ticket_view(client, store, ticket_id)  # 404 for an unknown ticket
    messages: MessageStore = request.app.state.messages
    return [m.model_copy(update={"phone": masked_phone(m.phone)}) for m in await messages.for_ticket(ticket_id)]


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
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise HTTPException(422, f"not a {provider} delivery report: {exc}") from exc
    messages: MessageStore = request.app.state.messages
    now = datetime.now(UTC)
    for receipt in receipts:
        await messages.apply_receipt(receipt, now)
    return ack
