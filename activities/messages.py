"""Sending a message exactly once (R-ESC-5), whatever retries, restarts, replays or provider quirks happen.

Each recipient's message has a deterministic key, reserved in the database under a unique constraint
before any provider is called. Then:

- An attempt takes the message by compare-and-set under a fresh attempt token (reserved -> sending);
  only the holder of the token calls the provider, and only it writes the result (sending under its
  token -> sent / failed / reserved). An attempt that lost the token (it timed out and its retry runs,
  or a receipt came first) writes nothing.
- A message found "sending" under another token may have reached the provider. Its provider is asked,
  for as long as the provider's status grace (a driver property, documented from the provider's own
  documentation in activities/adapters/sms_*.py). Listed: settled with what the provider says. Not
  listed once the grace has passed: where the provider's silence denies (Aliyun, the local outbox),
  a new attempt takes the token and sends; where it cannot (Tencent lists a message only once its
  receipt is in), the message is marked `unknown` and is not sent again: ops release or cancel it
  (POST /v1/messages/{key}/release or /cancel), the metric parcelcare_sms_unknown alerts them.
- The activity heartbeats before and after the provider call, while the call is in flight and while it
  waits for the grace, so a worker killed mid-send is noticed within the heartbeat timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.adapters.sms import OutboundSms, SendResult, SmsError, SmsGateway, SmsState
from domain.directory import Role
from domain.escalation import masked_phone
from store.directory import DirectoryStore
from store.messages import MessageRecord, MessageStore

log = logging.getLogger("parcelcare.sms")
T = TypeVar("T")

_BEAT_EVERY = 2.0  # seconds between heartbeats while waiting: well inside the workflows' 10 s heartbeat timeout
_MAX_WAIT = timedelta(seconds=30)  # a longer wait for the grace is a retry later, not a 60 s activity held open
_RACES = 5  # compare-and-set races lost in a row before the attempt gives up and is retried


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
    unknown: int = 0  # recipients whose fate stays unknown: marked so, not resent; ops release or cancel


class Withdrawal(BaseModel):
    key: str  # the request's key, as MessageRequest.key
    reason: str  # why the flow no longer wants it, for ops reading the outbox


class Withdrawn(BaseModel):
    cancelled: int  # recipients' messages that had not reached the provider: never sent now
    unknown: int  # cut off during the provider call: it may have gone out; ops release or cancel
    sent: int  # went out before the flow withdrew them


class Fate(StrEnum):
    SENT = "sent"  # the provider has it (sent, delivered or not)
    UNKNOWN = "unknown"  # neither confirmed nor denied: left to ops
    CANCELLED = "cancelled"  # ops said never send it
    REFUSED = "refused"  # refused for good


class MessageActivities:
    def __init__(self, store: MessageStore, directory: DirectoryStore, gateway: SmsGateway, driver: str,
                 grace: timedelta | None = None, poll: timedelta = timedelta(seconds=1)) -> None:
        self._store = store
        self._directory = directory
        self._gateway = gateway
        self._driver = driver
        # The provider's own grace (its driver says why); `grace` overrides it (settings, tests).
        self._grace = grace if grace is not None else getattr(gateway, "status_grace", timedelta(seconds=60))
        # A gateway that does not say whether its silence denies is taken not to: unknown, never a duplicate.
        self._denies = bool(getattr(gateway, "status_denies", False))
        self._poll = poll

    @activity.defn
    async def send_message(self, request: MessageRequest) -> MessageOutcome:
        # A message to a person of the ticket (the caller, the sender, the recipient) carries its phone;
        # one to a role is addressed through the directory.
        phones = [request.phone] if request.phone else await self._recipients(request)
        if not phones:
            await self._store.reserve(self._record(request, request.key, None, SmsState.FAILED,
                                                   f"nobody in role {request.role} for {request.scope}"))
            raise ApplicationError(f"nobody in role {request.role} for {request.scope}: add one with "
                                   f"PUT /v1/directory/{request.role}/{request.scope}", type="NobodyInRole",
                                   non_retryable=True)
        refused: list[str] = []
        fates: list[Fate] = []
        for phone in phones:
            # One key per recipient, stable across retries and free of the number itself.
            key = f"{request.key}:{hashlib.sha256(phone.encode()).hexdigest()[:10]}"
            record = await self._store.reserve(self._record(request, key, phone, SmsState.RESERVED, None))
            sms = OutboundSms(key=key, phone=phone, template=request.template, params=request.params,
                              text=request.text, requested_at=request.requested_at)
            fate, error = await self._deliver(record, sms, released=False)
            fates.append(fate)
            if error:
                refused.append(error)
        if refused:
            raise ApplicationError("; ".join(refused), type="MessageRefused", non_retryable=True)
        return MessageOutcome(sent=fates.count(Fate.SENT), unknown=fates.count(Fate.UNKNOWN))

    @activity.defn
    async def withdraw_message(self, withdrawal: Withdrawal) -> Withdrawn:
        """v8: the flow stopped wanting a message still on its way (R-ESC-4: the station answered while the
        provider was down), once its send has ended. Whatever has not reached the provider is cancelled;
        nothing is called at the provider."""
        states = await self._store.withdraw(withdrawal.key, f"withdrawn by the workflow: {withdrawal.reason}",
                                            datetime.now(UTC))
        went = sum(states.get(s, 0) for s in (SmsState.SENT, SmsState.DELIVERED, SmsState.UNDELIVERED))
        return Withdrawn(cancelled=states.get(SmsState.CANCELLED, 0), unknown=states.get(SmsState.UNKNOWN, 0),
                         sent=went)

    @activity.defn
    async def send_released(self, key: str) -> MessageOutcome:
        """Send a message ops released (POST /v1/messages/{key}/release): once, under a new attempt token."""
        record = await self._store.get(key)
        if record is None or record.phone is None:
            raise ApplicationError(f"no message {key} to send", type="NoSuchMessage", non_retryable=True)
        sms = OutboundSms(key=key, phone=record.phone, template=record.template, params=record.params,
                          text=record.text, requested_at=record.requested_at)
        fate, error = await self._deliver(record, sms, released=True)
        if error:
            raise ApplicationError(error, type="MessageRefused", non_retryable=True)
        return MessageOutcome(sent=int(fate == Fate.SENT), unknown=int(fate == Fate.UNKNOWN))

    async def _recipients(self, request: MessageRequest) -> list[str]:
        try:
            role = Role(request.role)
        except ValueError:
            return []
        return [c.phone for c in await self._directory.contacts(role, request.scope)]

    # --- one message -------------------------------------------------------------------------------

    async def _deliver(self, record: MessageRecord, sms: OutboundSms, released: bool) -> tuple[Fate, str | None]:
        """Bring the message to a settled fate, calling the provider only under a token this attempt holds;
        (its fate, the refusal's text if refused for good)."""
        for _ in range(_RACES):
            state = record.state
            if state in (SmsState.SENT, SmsState.DELIVERED, SmsState.UNDELIVERED):
                return Fate.SENT, None
            if state == SmsState.FAILED:
                return Fate.REFUSED, f"{masked_phone(sms.phone)}: {record.error}"
            if state == SmsState.CANCELLED:
                return Fate.CANCELLED, None
            if state == SmsState.UNKNOWN or (state == SmsState.RELEASED and not released):
                return Fate.UNKNOWN, None  # ops decide; a release sends it through send_released
            if state in (SmsState.RESERVED, SmsState.RELEASED):
                fate = await self._attempt(record, sms, expect=state)
                if fate is not None:
                    return fate
            else:  # sending under another attempt's token: it may have reached the provider
                fate = await self._resolve(record, sms)
                if fate is not None:
                    return fate
            # Another attempt (or a receipt) moved the message first: see where it stands now.
            found = await self._store.get(sms.key)
            if found is None:
                raise ApplicationError(f"message {sms.key} vanished from the record", type="NoSuchMessage")
            record = found
        raise ApplicationError(f"message {sms.key}: other attempts kept moving it; trying again",
                               type="SmsContended")

    async def _attempt(self, record: MessageRecord, sms: OutboundSms,
                       expect: SmsState) -> tuple[Fate, str | None] | None:
        """Take the message under a new token and call the provider; None if another attempt took it first."""
        token = str(uuid.uuid4())
        claimed_at = datetime.now(UTC)
        _beat("claiming")
        if not await self._store.claim(sms.key, expect, record.attempt_token, token, claimed_at):
            return None
        _beat("claimed")
        # The token is a lease as long as half the grace: a holder delayed past it (a stalled commit, a
        # paused process) hands the message back instead of calling, since a retry may already be asking.
        if self._grace > timedelta(0) and datetime.now(UTC) - claimed_at > self._grace / 2:
            await self._store.settle(sms.key, token, SmsState.RESERVED, datetime.now(UTC))
            raise ApplicationError(f"message {sms.key}: held too long before the provider call; trying again",
                                   type="SmsLeaseLost")
        try:
            result = await self._beating(self._gateway.send(sms), "sending")
        except SmsError as exc:
            if exc.retryable:  # the provider answered "not now": nothing went out, no doubt to clear later
                await self._store.settle(sms.key, token, SmsState.RESERVED, datetime.now(UTC), error=str(exc))
                raise ApplicationError(str(exc), type="SmsRetryable",
                                       next_retry_delay=timedelta(seconds=exc.retry_after) if exc.retry_after else None
                                       ) from exc
            await self._store.settle(sms.key, token, SmsState.FAILED, datetime.now(UTC), error=str(exc))
            activity.logger.warning("message %s refused for good: %s", sms.key, exc.code)
            return Fate.REFUSED, f"{masked_phone(sms.phone)}: {exc}"
        # Anything else (a timeout, a lost answer, a cancel) leaves the message sending under our token:
        # the provider may have it, so the next attempt asks before anything is sent again.
        _beat("sent")
        if not await self._store.settle(sms.key, token, result.state, datetime.now(UTC),
                                        provider_id=result.provider_id):
            log.info("message %s: settled before this attempt's answer (a receipt, or a newer attempt)", sms.key)
        return Fate.SENT, None

    async def _resolve(self, record: MessageRecord, sms: OutboundSms) -> tuple[Fate, str | None] | None:
        """A message another attempt left sending: settle it from what the provider knows, send it again where
        the provider's silence denies, or mark it unknown. None if another attempt moved it first."""
        known = await self._ask(record, sms)
        now = datetime.now(UTC)
        if known is not None:
            # The provider's own word, written by compare-and-set on the token found: it ends that attempt's hold,
            # so a stale holder answering late writes nothing over it.
            if await self._store.settle(sms.key, record.attempt_token, known.state, now,
                                        provider_id=known.provider_id):
                return Fate.SENT, None
            return None
        if self._denies:
            return await self._attempt(record, sms, expect=SmsState.SENDING)
        reason = (f"{self._driver} neither lists nor denies it {self._grace.total_seconds():g} s after the last "
                  "send (its status lists a message only once the handset's receipt is in): not sent again; "
                  "ops release or cancel it")
        if not await self._store.settle(sms.key, record.attempt_token, SmsState.UNKNOWN, now, error=reason):
            return None
        # What ops act on: this line, the outbox row, the parcelcare_sms_unknown gauge, the ticket's step.
        log.warning("message %s of ticket %s (%s, to %s): fate unknown; %s", sms.key, record.ticket_id,
                    record.role, masked_phone(sms.phone), reason)
        return Fate.UNKNOWN, None

    async def _ask(self, record: MessageRecord, sms: OutboundSms) -> SendResult | None:
        """The provider's word on the message, asked until the grace after the last send has passed."""
        since = record.attempt_at or record.updated_at
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        trusted_from = since + self._grace
        while True:
            known = await self._beating(self._gateway.status(sms), "asking")
            if known is not None:
                return known
            wait = trusted_from - datetime.now(UTC)
            if wait <= timedelta(0):
                return None
            if wait > _MAX_WAIT:
                raise ApplicationError(f"message {sms.key}: fate of the last attempt not known yet; asking again "
                                       "later", type="SmsFateUnknown", next_retry_delay=wait)
            await self._beating(asyncio.sleep(min(self._poll, wait).total_seconds()), "waiting")

    async def _beating(self, work: Awaitable[T], doing: str) -> T:
        """Await `work`, heartbeating meanwhile: a call in flight on a live worker is not taken for a dead one."""
        task = asyncio.ensure_future(work)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=_BEAT_EVERY)
                if done:
                    return task.result()
                _beat(doing)
        finally:
            if not task.done():
                task.cancel()

    def _record(self, request: MessageRequest, key: str, phone: str | None, state: SmsState,
                error: str | None) -> MessageRecord:
        now = datetime.now(UTC)
        return MessageRecord(
            key=key, ticket_id=request.ticket_id, purpose=request.purpose, role=request.role, phone=phone,
            template=request.template, params=request.params, text=request.text, driver=self._driver,
            state=state, provider_id=None, error=error, attempts=0, requested_at=request.requested_at,
            updated_at=now,
        )


def _beat(doing: str) -> None:
    """A heartbeat when running as an activity (never a phone in its details)."""
    if activity.in_activity():
        activity.heartbeat(doing)
