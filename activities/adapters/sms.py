"""SMS: one Protocol, a local outbox default, and real providers (Aliyun, Tencent) behind it.

Exactly once (R-ESC-5) is kept by the caller (activities/messages.py): every
message has a deterministic key reserved in the database before any provider
is called, and only the attempt holding its attempt token calls the provider;
the key travels as the provider's OutId / SessionContext, so after a timeout
the driver can ask the provider whether the message went out. How long that
answer takes to be trustworthy, and whether the provider's silence means
"never got it", is each driver's `status_grace` / `status_denies`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel


class OutboundSms(BaseModel):
    key: str  # deterministic per (ticket, ladder, tier[, recipient]); the provider's OutId / SessionContext
    phone: str  # E.164, e.g. +8613812345678; never logged in clear
    template: str  # our template name (policy), mapped to the provider's template code in settings
    params: dict[str, str]  # template parameters, in the template's order
    text: str  # the rendered text, for the local outbox and the record
    requested_at: datetime  # when the workflow asked for it: providers' status queries need the date


class SmsState(StrEnum):
    RESERVED = "reserved"  # key taken, no provider called yet
    SENDING = "sending"  # the attempt holding the row's token may call, or has called, the provider
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the handset got it (delivery receipt)
    UNDELIVERED = "undelivered"  # the provider reported failure to deliver
    FAILED = "failed"  # refused for good (bad template, sign name, blacklisted number, nobody in the role)
    UNKNOWN = "unknown"  # the provider neither confirms nor denies it after the grace: not resent, ops decide
    RELEASED = "released"  # ops said send it (once more): a new attempt takes it under a new token
    CANCELLED = "cancelled"  # ops said never send it


class SendResult(BaseModel):
    provider_id: str | None  # Aliyun BizId / Tencent SerialNo
    state: SmsState  # SENT, or DELIVERED / UNDELIVERED when a status query already knows


class Receipt(BaseModel):
    """A delivery report pushed by a provider, matched to our message by key or provider id."""

    key: str | None
    provider_id: str | None
    delivered: bool
    error: str | None = None
    at: datetime | None = None


class SmsError(Exception):
    """A provider refused or failed. `retryable` False means retrying cannot fix it."""

    def __init__(self, code: str, message: str, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after  # seconds, for rate limits


# Failures of the connection itself, before a byte of the request left: the provider cannot have the message.
_NEVER_CONNECTED = {"ConnectionRefusedError", "gaierror", "NewConnectionError", "NameResolutionError",
                    "ConnectTimeout", "ConnectTimeoutError", "ClientConnectorError", "ConnectionTimeoutError"}


def never_connected(exc: BaseException | None) -> bool:
    """Whether a transport failure happened before the request was sent (refused, no such host, the connect
    timed out): then nothing went out, unlike a timeout or a reset after sending, whose outcome is unknown."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if {cls.__name__ for cls in type(exc).__mro__} & _NEVER_CONNECTED:
            return True
        reason = getattr(exc, "reason", None)  # urllib3's MaxRetryError carries the connect error here
        if isinstance(reason, BaseException) and never_connected(reason):
            return True
        args = [a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)]  # requests wraps it
        if any(never_connected(a) for a in args):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def not_connected(provider: str, exc: BaseException) -> SmsError:
    """A send that never reached the provider: retryable, with nothing to clear up afterwards."""
    return SmsError("NotConnected", f"{provider} could not be reached, nothing was sent: {exc}"[:500], retryable=True)


class SmsGateway(Protocol):
    # How long after a send call the status query can be trusted to list a message the provider accepted, and
    # whether its silence after that is a denial ("never got it"). Each driver documents both from its
    # provider's own documentation; PARCELCARE_SMS_STATUS_GRACE_SECONDS overrides the grace.
    status_grace: timedelta
    status_denies: bool

    async def send(self, sms: OutboundSms) -> SendResult:
        """Send once; raise SmsError (retryable or not), or a timeout/connection error."""

    async def status(self, sms: OutboundSms) -> SendResult | None:
        """What the provider knows of the message with this key; None if it never got it."""


class LocalSmsGateway:
    """The default: the outbox table is the channel, so a message is out once it is recorded there.

    No grace: nothing leaves the machine, so a send whose answer was lost is simply made again (the
    row is the message; sending twice writes the same row)."""

    status_grace = timedelta(0)
    status_denies = True

    async def send(self, sms: OutboundSms) -> SendResult:
        return SendResult(provider_id=None, state=SmsState.SENT)

    async def status(self, sms: OutboundSms) -> SendResult | None:
        return None  # nothing left the machine; sending again changes nothing


def sms_gateway(settings) -> SmsGateway:
    """The driver named in settings (`PARCELCARE_SMS_DRIVER`); switching needs no code change."""
    gateway: SmsGateway
    if settings.sms_driver == "aliyun":
        from activities.adapters.sms_aliyun import AliyunSmsGateway

        gateway = AliyunSmsGateway(settings)
    elif settings.sms_driver == "tencent":
        from activities.adapters.sms_tencent import TencentSmsGateway

        gateway = TencentSmsGateway(settings)
    else:
        gateway = LocalSmsGateway()
    if settings.sms_status_grace_seconds is not None:
        # Never shorter than the driver's own timeout: a send still in flight must not look like a denial.
        gateway.status_grace = timedelta(seconds=max(settings.sms_status_grace_seconds,
                                                     settings.sms_timeout_seconds if settings.sms_driver != "local"
                                                     else 0))
    return gateway
