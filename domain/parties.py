"""The parties to a shipment: the sender and the recipient, with their addresses (R-REC-1).

The caller is one of them (`Customer`, with the role they called as). Names,
phones and addresses are recorded word for word (逐字核对); names and phones
are personal data: in the record and the encrypted history, never in search
attributes or logs.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.customer import Customer, CustomerRole


class Address(BaseModel):
    """An address as the caller gave it: kept verbatim, never normalised."""

    model_config = ConfigDict(frozen=True)

    province: str | None = Field(default=None, max_length=40, examples=["浙江省"])
    city: str | None = Field(default=None, max_length=60, examples=["杭州市"])
    district: str | None = Field(default=None, max_length=60, examples=["西湖区"])
    detail: str | None = Field(default=None, max_length=500, examples=["文三路 90 号 3 幢 501"])


class Party(BaseModel):
    """The sender or the recipient; each part optional where the ticket's kind allows."""

    model_config = ConfigDict(frozen=True)

    name: str | None = None
    phone: str | None = None  # E.164, complete (R-REC-1)
    address: Address | None = None

    def with_caller(self, caller: Customer) -> Party:
        """This party with the caller's name and phone where it gives none (the caller is this party)."""
        return self.model_copy(update={"name": self.name or caller.name, "phone": self.phone or caller.phone})

    def as_customer(self, role: CustomerRole) -> Customer | None:
        """The party as a person to compensate or text, when both name and phone are known."""
        if not self.name or not self.phone:
            return None
        return Customer(name=self.name, phone=self.phone, role=role)
