"""Request and response bodies of the HTTP API, and the parameters routes share.

Request bodies refuse fields they do not know (`extra="forbid"`): a misspelt or made-up field
(`"urgent": true`) is a 422 naming it, never silently dropped. The domain's own models (signal
payloads, shipment facts, claim details) stay as they are, since histories and the record
hold them; here they are wrapped in subclasses that only add the refusal.

Response bodies are what is sent: fields the API keeps to itself (the open request's
fingerprint, a list item's steps) are left out of the schema too, so the OpenAPI contract
and the answers agree.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from fastapi import Path, Query
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from domain.claims import ClaimDecision, ClaimDetails
from domain.customer import CustomerRole
from domain.dispatch import DispatchOrder, DispatchRoute
from domain.kinds import Kind
from domain.messages import (
    CallbackReport,
    CustomerContact,
    OfferAnswer,
    PenaltyDecision,
    ReviewResult,
    SenderDecision,
    StationAck,
    StationReply,
)
from domain.parties import Address, Party
from domain.shipment import InquiryAnswer, ShipmentFacts, province_key
from domain.statuses import Status
from domain.steps import Step
from domain.ticket import ChangeRequest, Note, ServiceTarget, TicketState
from store.messages import MessageRecord

STRICT = ConfigDict(extra="forbid")
STATION_CODE = r"^[A-Za-z0-9_-]+$"
# Who sent an answer, an amendment or a decision comes from the caller's credential (issue 12): a body
# that names one (the domain's older `agent`, `reviewer`, `decided_by`, or `actor`) is refused.
CREDENTIAL_FIELDS = frozenset({"actor", "agent", "reviewer", "decided_by"})
FromCredential = SkipJsonSchema[str | None]


class Strict(BaseModel):
    """A request body as the schema writes it: unknown fields refused, a boolean true or false
    (never 0, 1 or "yes"), a date an ISO 8601 string (never 0, which pydantic reads as 1970)."""

    model_config = STRICT

    @field_validator("*", mode="before")
    @classmethod
    def _as_the_schema_writes_it(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name in CREDENTIAL_FIELDS:
            raise PydanticCustomError("from_credential", "who sends this comes from the credential the request is "
                                                         "made with; a body cannot name anyone")
        if value is None:
            return value
        kind = _field_kinds(cls).get(info.field_name)
        if kind is bool and not isinstance(value, bool):
            raise PydanticCustomError("bool_type", "Input should be true or false")
        if kind is date and not (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
            raise PydanticCustomError("date_format", "Input should be a date written as YYYY-MM-DD")
        return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


@functools.cache
def _field_kinds(model: type[BaseModel]) -> dict[str, type]:
    """The fields that are a boolean or a date (optional or not), by name."""
    return {name: kind for name, field in model.model_fields.items()
            for kind in (bool, date) if field.annotation in (kind, kind | None)}


# --- shared parameters ----------------------------------------------------------------

# OFFSET beyond a signed 32-bit integer pages past any record we will hold; beyond 64 bits the
# databases overflow (a 500, before this bound).
MAX_OFFSET = 2**31 - 1
Limit = Annotated[int, Query(ge=1, le=500, description="at most this many items")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="skip this many items")]
# Ticket ids are 16 hex digits; anything that cannot be one is refused as such (422) rather
# than looked up (a Temporal workflow id has limits of its own).
TicketId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                               examples=["94f95954d4fa41e7"])]

_ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})", re.ASCII)


def _iso_text(value: Any) -> Any:
    # pydantic would take "0.5" or "1700000000" as seconds since 1970: an instant is written out.
    if isinstance(value, str) and not _ISO_INSTANT.fullmatch(value):
        raise PydanticCustomError("datetime_format", "an ISO 8601 date and time with its offset, such as "
                                                     "2026-11-01T00:00:00+08:00")
    return value


def _within_utc(value: datetime) -> datetime:
    try:  # 0001-01-01T00:00:00+14:00 is before the first instant a computer's calendar holds
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_range", "outside the calendar once converted to UTC "
                                                    "(years 1 to 9999)") from None


Instant = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_within_utc)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must say something: it is empty or only spaces")
    return value


# The JSON schema says it too (`pattern: \S`), for clients that check before sending.
Text = Annotated[str, AfterValidator(_not_blank)]


def text_field(max_length: int, **kw) -> Any:
    return Field(min_length=1, max_length=max_length, json_schema_extra={"pattern": r"\S"}, **kw)


# --- request bodies -------------------------------------------------------------------

class CustomerIn(Strict):
    name: str = Field(max_length=200, examples=["张三"])
    phone: str = Field(max_length=40, examples=["13812345678"])
    role: CustomerRole = Field(examples=["recipient"])


class AddressIn(Strict, Address):
    """Kept verbatim, as the caller gave it (R-REC-1)."""


class PartyIn(Strict):
    name: str | None = Field(default=None, max_length=200, examples=["李四"])
    phone: str | None = Field(default=None, max_length=40, examples=["13987654321"])
    address: AddressIn | None = None

    def party(self) -> Party:
        return Party(name=self.name, phone=self.phone,
                     address=Address.model_validate(self.address.model_dump()) if self.address else None)


class ShipmentIn(Strict, ShipmentFacts):
    def facts(self) -> ShipmentFacts:
        return ShipmentFacts.model_validate(self.model_dump())


class ClaimDetailsIn(Strict, ClaimDetails):
    def details(self) -> ClaimDetails:
        return ClaimDetails.model_validate(self.model_dump())


class ChangeIn(Strict, ChangeRequest):
    pass


class OpenTicket(Strict):
    # The body /docs fills in for "Try it out": a whole valid request, not one made of every field's placeholder.
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "kind": "inquiry", "carrier": "best", "waybill": "123456789012", "station": "SH-PD-01",
        "origin_station": "HZ-XH-02", "delivery_station": "SH-PD-01",
        "customer": {"name": "张三", "phone": "13812345678", "role": "recipient"},
        "sender": {"name": "李四", "phone": "13987654321",
                   "address": {"province": "浙江省", "city": "杭州市", "district": "西湖区", "detail": "文三路 90 号"}},
        "recipient": {"address": {"province": "上海市", "city": "上海市", "district": "浦东新区",
                                  "detail": "张江路 88 弄 6 号 1202 室"}},
        "description": "parcel not delivered after five days",
        "shipment": {"origin_province": "zhejiang", "destination_province": "shanghai"},
    }]})

    kind: Kind = Field(examples=["inquiry"])
    carrier: str = Field(max_length=32, examples=["best"], description="carrier code from the policy file")
    waybill: str | None = Field(default=None, max_length=64, examples=["123456789012"],
                                description="required except for consult and service tickets; full-width "
                                            "digits are read as ASCII")
    station: str = Field(
        min_length=1, max_length=64, pattern=STATION_CODE, examples=["SH-PD-01"],
        description="the responsible station's code, as the carrier's tracking names it",
    )
    customer: CustomerIn = Field(description="the caller, as the sender or the recipient (R-REC-1)")
    sender: PartyIn | None = Field(default=None, description="the sender: name, phone, address; a loss, damage "
                                   "or shortage needs the sender's name and phone (R-LOSS-5, R-DMG-3), a change "
                                   "the sender's phone (R-CHG); the caller's own details fill their party")
    recipient: PartyIn | None = Field(default=None, description="the recipient: name, phone, address")
    origin_station: str | None = Field(default=None, min_length=1, max_length=64, pattern=STATION_CODE,
                                       examples=["HZ-XH-02"],
                                       description="the origin station's code; a loss needs it: it declares a "
                                                   "confirmed loss (R-LOSS-2)")
    delivery_station: str | None = Field(default=None, min_length=1, max_length=64, pattern=STATION_CODE,
                                         examples=["SH-PD-01"], description="the delivery station's code")
    description: Text = text_field(4000, examples=["parcel not delivered after 5 days"])
    shipment: ShipmentIn = Field(default_factory=ShipmentIn,
                                 description="what is known of the shipment: decides urgency, acceptance, status check")
    claim_details: ClaimDetailsIn | None = Field(default=None,
                                                 description="loss, damage, shortage: what is known so far")
    change: ChangeIn | None = Field(default=None, description="change tickets: what to change")
    service_target: ServiceTarget | None = Field(default=None, description="service tickets: whose attitude")
    front_desk_resolved: bool = Field(default=False,
                                      description="inquiry/delay: the customer accepted the front desk's answer")
    consult_answer: str | None = Field(default=None, max_length=4000, description="consult: the answer given")
    station_province: str | None = Field(
        default=None, max_length=40, examples=["shanghai"],
        description="the responsible station's province (pinyin), whose CS director and VP the escalation "
                    "ladder texts (R-ESC); defaults to the shipment's destination province",
    )

    dispatch_route: DispatchRoute = Field(
        default=DispatchRoute.DIRECT,
        description="direct to the station (answered within 2 working hours, R-CLK-2) or associated through "
                    "regional customer service (4 working hours, R-CLK-3)",
    )

    @field_validator("station_province")
    @classmethod
    def _province(cls, v: str | None) -> str | None:
        return None if v is None else province_key(v)


class TicketPatch(Strict):
    """What an API client may change on an open ticket; the rules of an open apply to it."""

    unknown_field_message: ClassVar[str] = "{field!r} cannot be changed; a PATCH changes only: {fields}"

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "phone": "13912345678", "description": "parcel not delivered after five days; call the new number"}]})

    phone: str | None = Field(default=None, max_length=40, description="the customer's contact phone")
    description: Text | None = text_field(4000, default=None)
    claim_details: ClaimDetailsIn | None = Field(default=None, description="merged field by field")
    shipment: ShipmentIn | None = Field(default=None, description="replaces the shipment facts")

    def changes(self) -> set[str]:
        return {name for name in TicketPatch.model_fields if getattr(self, name) is not None}


# The answers that become workflow signals: the domain's payloads, refusing unknown fields; a text
# the flow needs (a finding, a decision, a reason) is never blank, as a description is not.
class StationReplyIn(Strict, StationReply):
    station: str = Field(min_length=1, max_length=64, pattern=STATION_CODE, examples=["SH-PD-01"])
    finding: Text = text_field(4000, examples=["at the station, out for delivery tomorrow"])
    actor: FromCredential = None


class StationAckIn(Strict, StationAck):
    station: str = Field(min_length=1, max_length=64, pattern=STATION_CODE, examples=["SH-PD-01"])
    actor: FromCredential = None


class CallbackReportIn(Strict, CallbackReport):
    agent: FromCredential = None
    actor: FromCredential = None


class CustomerContactIn(Strict, CustomerContact):
    actor: FromCredential = None


class ReviewResultIn(Strict, ReviewResult):
    reviewer: FromCredential = None
    actor: FromCredential = None


class OfferAnswerIn(Strict, OfferAnswer):
    actor: FromCredential = None


class SenderDecisionIn(Strict, SenderDecision):
    actor: FromCredential = None


class PenaltyDecisionIn(Strict, PenaltyDecision):
    decision: Text = text_field(4000)
    decided_by: FromCredential = None
    actor: FromCredential = None


class ClaimDecisionIn(Strict, ClaimDecision):
    reason: Text | None = text_field(2000, default=None, description="when rejected")
    decided_by: FromCredential = None
    actor: FromCredential = None


# The desk (issue 14): whom a ticket goes to, and an internal note. The caller is the credential's.
ACTOR_ID = r"^(user|key):\S{1,190}$"


class HandOverIn(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"to": "user:agent-7"}]})

    to: str = Field(min_length=6, max_length=200, pattern=ACTOR_ID, examples=["user:agent-7"],
                    description="the colleague's actor id, as their steps name them: user:<subject> or key:<name>")


class NoteIn(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "customer prefers calls after 18:00"}]})

    text: Text = text_field(4000, examples=["customer prefers calls after 18:00"],
                            description="for colleagues only: never sent to the customer or a station")


# --- response bodies ------------------------------------------------------------------

class StatusCheck(BaseModel):
    """The front desk's answer for a shipment (R-INQ-1..3), before or without a ticket."""

    answer: InquiryAnswer
    script: str
    transit_days: tuple[int, int] | None = None


def _kept_back(**kw) -> Any:
    """A field the API keeps to itself: neither sent nor in the schema."""
    return Field(exclude=True, **kw)


class TicketOut(TicketState):
    fingerprint: SkipJsonSchema[str] = _kept_back(default="")  # to recognise a retried open; not the client's business
    source: Literal["workflow", "record", "opening"] = Field(
        description="record: as recorded at the ticket's last step (the default); workflow: its workflow's live "
                    "state (live=true, or a ticket whose first step is not recorded yet); opening: the answer to "
                    "an open, the ticket as opened and what the rules decide at intake"
    )


class TicketSummary(TicketState):
    """A ticket in a list: GET the ticket for its steps."""

    fingerprint: SkipJsonSchema[str] = _kept_back(default="")
    steps: SkipJsonSchema[list[Step]] = _kept_back(default_factory=list)
    notes: SkipJsonSchema[list[Note]] = _kept_back(default_factory=list)

    @classmethod
    def of(cls, state: TicketState) -> TicketSummary:
        return cls.model_validate(state.model_dump(exclude={"steps", "breaches"}))


class MessageOut(MessageRecord):
    """An SMS as ops see it: whom, what state; the phone masked, the template's parameters kept back."""

    ticket_id: SkipJsonSchema[str] = _kept_back(default="")
    template: SkipJsonSchema[str] = _kept_back(default="")
    params: SkipJsonSchema[dict[str, str]] = _kept_back(default_factory=dict)


class Accepted(BaseModel):
    """202: the message reached the ticket's workflow; whether the flow took it shows in the ticket's steps."""

    ticket_id: str
    status: Status = Field(description="the ticket's status when the message was sent")
    message: str


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


TicketPage = Page[TicketSummary]
DispatchPage = Page[DispatchOrder]


# --- errors ---------------------------------------------------------------------------

class ErrorItem(BaseModel):
    loc: list[str | int] = Field(description="where: body, query, path or header, then the field's path; "
                                             "empty for the request as a whole")
    msg: str = Field(description="for a person")
    type: str = Field(description="for a program: intake_rule, extra_forbidden, not_found, conflict, …")
    input: Any = Field(default=None, description="what was given, only when it is short")
    ctx: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer, whatever went wrong."""

    detail: list[ErrorItem]
    correlation_id: str = Field(description="also in the X-Correlation-ID header and the logs")


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, all in the one shape."""
    return {status: {"model": ErrorBody, "description": _ERROR_STATUSES[status]} for status in statuses}


_ERROR_STATUSES = {
    400: "Bad request",
    404: "Not found: the ticket, claim or contact is unknown",
    405: "Method not allowed",
    409: "Conflict: the ticket is not waiting for this (the reason is given)",
    413: "The request body is larger than the API reads",
    422: "The request cannot be taken: every reason, with where",
    500: "An unexpected error; the correlation id finds it in the logs",
    503: "The database, Temporal or the policy file is unavailable; try again (Retry-After)",
}
