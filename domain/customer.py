"""The customer on whose behalf a ticket is opened (R-REC-1)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class CustomerRole(StrEnum):
    SENDER = "sender"
    RECIPIENT = "recipient"


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    phone: str  # E.164, complete (R-REC-1)
    role: CustomerRole
