"""Sending a message exactly once (R-ESC-5), whatever retries, restarts or replays happen.

Each recipient's message has a deterministic key, reserved in the database
under a unique constraint before any provider is called. A retry finds the
reservation: sent already, nothing more; a call that may have gone through
(timeout, killed worker) is first asked of the provider by key; only a
message the provider never got is sent again.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.adapters.sms import OutboundSms, SmsError, SmsGateway, SmsState
from domain.directory import Role
from domain.escalation import CUSTOMER, masked_phone
from store.directory import DirectoryStore
from store.messages import MessageRecord, MessageStore


class MessageRequest(BaseModel):
    key: str  # per ticket, ladder/notice, round, tier
    ticket_id: str
    purpose: str  # what ops read: "ems round 1 tier 2 (R-ESC-2)"
    role: str  # a directory role, or "customer"
    scope: str  # whose role: a province, "hq", a carrier desk
    phone: str | None = None  # the customer's, for customer messages
    template: str
    params: dict[str, str]
    text: str
    requested_at: datetime


class MessageOutcome(BaseModel):
    sent: int


class MessageActivities:
    def __init__(self, store: MessageStore, directory: DirectoryStore, gateway: SmsGateway, driver: str,
                 unknown_grace: timedelta = timedelta(minutes=2)) -> None:
        self._store = store
        self._directory = directory
        self._gateway = gateway
        self._driver = driver
        # A provider may list an accepted message only later (Tencent lists it once the receipt is in):
        # an attempt this recent whose fate is unknown is asked again later, not sent again.
        self._unknown_grace = unknown_grace

    @activity.defn
    async def send_message(self, request: MessageRequest) -> MessageOutcome:
        phones = [request.phone] if request.role == CUSTOMER and request.phone else await self._recipients(request)
        if not phones:
            await self._store.reserve(self._record(request, request.key, None, SmsState.FAILED,
                                                   f"nobody in role {request.role} for {request.scope}"))
            raise ApplicationError(f"nobody in role {request.role} for {request.scope}: add one with "
                                   f"PUT /v1/directory/{request.role}/{request.scope}", type="NobodyInRole",
                                   non_retryable=True)
        refused: list[str] = []
        for phone in phones:
            # One key per recipient, stable across retries and free of the number itself.
            key = f"{request.key}:{hashlib.sha256(phone.encode()).hexdigest()[:10]}"
            error = await self._send_once(request, key, phone)
            if error:
                refused.append(error)
        if refused:
            raise ApplicationError("; ".join(refused), type="MessageRefused", non_retryable=True)
        return MessageOutcome(sent=len(phones))

    async def _recipients(self, request: MessageRequest) -> list[str]:
        try:
            role = Role(request.role)
        except ValueError:
            return []
        return [c.phone for c in await self._directory.contacts(role, request.scope)]

    async def _send_once(self, request: MessageRequest, key: str, phone: str) -> str | None:
        """Send the message under `key` unless it went already; the refusal's text if refused for good."""
        now = datetime.now(UTC)
        record = await self._store.reserve(self._record(request, key, phone, SmsState.RESERVED, None))
        if record.state in (SmsState.SENT, SmsState.DELIVERED, SmsState.UNDELIVERED):
            return None
        if record.state == SmsState.FAILED:
            return f"{masked_phone(phone)}: {record.error}"
        sms = OutboundSms(key=key, phone=phone, template=request.template, params=request.params,
                          text=request.text, requested_at=request.requested_at)
        if record.state == SmsState.SENDING:  # an earlier attempt may have reached the provider
            known = await self._gateway.status(sms)
            if known is not None:
                await self._store.mark(key, known.state, now, provider_id=known.provider_id)
                return None
            waited = now - record.updated_at
            if waited < self._unknown_grace:
                raise ApplicationError(f"message {key}: fate of the last attempt unknown; asking again later",
                                       type="SmsFateUnknown", next_retry_delay=self._unknown_grace - waited)
        await self._store.mark(key, SmsState.SENDING, now, attempt=True)
        try:
            result = await self._gateway.send(sms)
        except SmsError as exc:
            if exc.retryable:  # the provider answered "not now": nothing went out, no doubt to clear later
                await self._store.mark(key, SmsState.RESERVED, datetime.now(UTC), error=str(exc))
                raise ApplicationError(str(exc), type="SmsRetryable",
                                       next_retry_delay=timedelta(seconds=exc.retry_after) if exc.retry_after else None
                                       ) from exc
            await self._store.mark(key, SmsState.FAILED, datetime.now(UTC), error=str(exc))
            activity.logger.warning("message %s refused for good: %s", key, exc.code)
            return f"{masked_phone(phone)}: {exc}"
        await self._store.mark(key, result.state, datetime.now(UTC), provider_id=result.provider_id,
                               only_from=(SmsState.SENDING,))  # a delivery receipt may have come first
        return None

    def _record(self, request: MessageRequest, key: str, phone: str | None, state: SmsState,
                error: str | None) -> MessageRecord:
        now = datetime.now(UTC)
        return MessageRecord(
            key=key, ticket_id=request.ticket_id, purpose=request.purpose, role=request.role, phone=phone,
            template=request.template, params=request.params, text=request.text, driver=self._driver,
            state=state, provider_id=None, error=error, attempts=0, requested_at=request.requested_at,
            updated_at=now,
        )
