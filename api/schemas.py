"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from domain.ticket import CustomerRole, DispatchOrder, Kind, Status, TicketState


class CustomerIn(BaseModel):
    name: str = Field(max_length=200, examples=["张三"])
    phone: str = Field(max_length=40, examples=["13812345678"])
    role: CustomerRole = Field(examples=["recipient"])


class OpenTicket(BaseModel):
    kind: Kind = Field(examples=["inquiry"])
    carrier: str = Field(max_length=32, examples=["best"], description="carrier code from the policy file")
    waybill: str = Field(max_length=64, examples=["123456789012"])
    station: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", examples=["SH-PD-01"],
        description="the responsible station's code, as the carrier's tracking names it",
    )
    customer: CustomerIn
    description: str = Field(min_length=1, max_length=4000, examples=["parcel not delivered after 5 days"])


class TicketOut(TicketState):
    source: Literal["workflow", "record"] = Field(
        description="workflow: the live state; record: from the database (the workflow is past retention or unreachable)"
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
