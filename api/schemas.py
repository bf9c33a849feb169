"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field, field_validator

from domain.claims import ClaimDetails
from domain.shipment import InquiryAnswer, ShipmentFacts, province_key
from domain.ticket import ChangeRequest, DispatchRoute, CustomerRole, DispatchOrder, Kind, ServiceTarget, Status, TicketState


class CustomerIn(BaseModel):
    name: str = Field(max_length=200, examples=["张三"])
    phone: str = Field(max_length=40, examples=["13812345678"])
    role: CustomerRole = Field(examples=["recipient"])


class OpenTicket(BaseModel):
    kind: Kind = Field(examples=["inquiry"])
    carrier: str = Field(max_length=32, examples=["best"], description="carrier code from the policy file")
    waybill: str | None = Field(default=None, max_length=64, examples=["123456789012"],
                                description="required except for consult and service tickets")
    station: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", examples=["SH-PD-01"],
        description="the responsible station's code, as the carrier's tracking names it",
    )
    customer: CustomerIn
    description: str = Field(min_length=1, max_length=4000, examples=["parcel not delivered after 5 days"])
    shipment: ShipmentFacts = Field(default_factory=ShipmentFacts,
                                    description="what is known of the shipment: decides urgency, acceptance, status check")
    claim_details: ClaimDetails | None = Field(default=None, description="loss, damage, shortage: what is known so far")
    change: ChangeRequest | None = Field(default=None, description="change tickets: what to change")
    service_target: ServiceTarget | None = Field(default=None, description="service tickets: whose attitude")
    front_desk_resolved: bool = Field(default=False, description="inquiry/delay: the customer accepted the front desk's answer")
    consult_answer: str | None = Field(default=None, max_length=4000, description="consult: the answer given")
    station_province: str | None = Field(
        default=None, examples=["shanghai"],
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


class TicketPatch(BaseModel):
    """What an API client may change on an open ticket."""

    phone: str | None = Field(default=None, max_length=40, description="the customer's contact phone")
    description: str | None = Field(default=None, min_length=1, max_length=4000)
    claim_details: ClaimDetails | None = Field(default=None, description="merged field by field")
    shipment: ShipmentFacts | None = Field(default=None, description="replaces the shipment facts")


class StatusCheck(BaseModel):
    """The front desk's answer for a shipment (R-INQ-1..3), before or without a ticket."""

    answer: InquiryAnswer
    script: str
    transit_days: tuple[int, int] | None = None


class TicketOut(TicketState):
    source: Literal["workflow", "record", "opening"] = Field(
        description="workflow: the live state; record: from the database (the workflow is past retention or "
                    "unreachable); opening: just opened, its worker has not answered yet"
    )


class Accepted(BaseModel):
    ticket_id: str
    status: Status
    message: str


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


TicketPage = Page[TicketState]
DispatchPage = Page[DispatchOrder]
