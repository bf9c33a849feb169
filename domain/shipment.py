"""What we know about the shipment, and the front desk's status answer (R-TT-1, R-INQ-1..3, R-WB-2)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Signing(StrEnum):
    """How a delivered parcel was signed for (R-DMG-1, R-DMG-2, R-LOSS-4)."""

    IN_PERSON_UNINSPECTED = "in_person_uninspected"
    IN_PERSON_INSPECTED = "in_person_inspected"
    OTHER_WITH_CONSENT = "other_with_consent"
    OTHER_WITHOUT_CONSENT = "other_without_consent"


class Contents(StrEnum):
    """What the parcel holds, as far as R-URG-1 cares."""

    ORDINARY = "ordinary"
    # urgent documents
    AIR_TICKET = "air_ticket"
    ID_CARD = "id_card"
    HOUSEHOLD_REGISTER = "household_register"
    PASSPORT = "passport"
    CONTRACT = "contract"
    TENDER_DOCUMENT = "tender_document"
    # time-critical papers valid within a week
    INVOICE = "invoice"
    ACCEPTANCE_BILL = "acceptance_bill"
    BILL_OF_LADING = "bill_of_lading"
    WITHDRAWAL_SLIP = "withdrawal_slip"
    TAX_CERTIFICATE = "tax_certificate"
    LEGAL_DOCUMENT = "legal_document"
    # items of serious consequence
    DIPLOMA = "diploma"
    DEGREE_CERTIFICATE = "degree_certificate"
    EMERGENCY_MEDICINE = "emergency_medicine"
    VALUABLES = "valuables"


# The 31 mainland province-level divisions, pinyin without tones or spaces (shanxi 山西 and shaanxi 陕西 differ).
PROVINCES: frozenset[str] = frozenset({
    "beijing", "tianjin", "hebei", "shanxi", "neimenggu", "liaoning", "jilin", "heilongjiang",
    "shanghai", "jiangsu", "zhejiang", "anhui", "fujian", "jiangxi", "shandong", "henan", "hubei",
    "hunan", "guangdong", "guangxi", "hainan", "chongqing", "sichuan", "guizhou", "yunnan", "xizang",
    "shaanxi", "gansu", "qinghai", "ningxia", "xinjiang",
})

EAST_CHINA_NEXT_DAY = frozenset({"jiangsu", "zhejiang", "shanghai", "anhui"})  # R-TT-1


def province_key(raw: str) -> str:
    """The province's key: case and spaces do not matter ("Nei Menggu" is neimenggu)."""
    key = "".join(raw.split()).lower()
    if key not in PROVINCES:
        raise ValueError(f"unknown province {raw!r}; use pinyin such as jiangsu")
    return key


class ShipmentFacts(BaseModel):
    """What the API client tells us about the shipment; anything not given is None or the default."""

    # The API docs' example: a valid body (placeholders would give the provinces "string").
    model_config = ConfigDict(frozen=True, json_schema_extra={
        "examples": [{"origin_province": "zhejiang", "destination_province": "sichuan"}]})

    ship_date: date | None = None
    origin_province: str | None = None
    destination_province: str | None = None
    signed: bool = False
    signing: Signing | None = None  # only when signed; None when signed but the circumstance is not known
    arrived_at_destination: bool = False
    transport_normal: bool = True
    contents: Contents = Contents.ORDINARY
    declared_value: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)  # yuan
    fresh_or_food: bool = False  # R-CHG: handled first
    external_complaint_threat: bool = False  # R-URG-1

    @field_validator("origin_province", "destination_province")
    @classmethod
    def _known_province(cls, value: str | None) -> str | None:
        return None if value is None else province_key(value)

    @model_validator(mode="after")
    def _signing_needs_signed(self) -> ShipmentFacts:
        if self.signing is not None and not self.signed:
            raise ValueError("signing is only given for a signed parcel; set signed to true or leave signing out")
        return self


def transit_days(origin: str, destination: str) -> tuple[int, int]:
    """R-TT-1: (fewest, most) days from origin to destination province."""
    a, b = province_key(origin), province_key(destination)
    if a == b or (a in EAST_CHINA_NEXT_DAY and b in EAST_CHINA_NEXT_DAY):
        return (1, 1)
    return (3, 4)


class InquiryAnswer(StrEnum):
    """R-INQ-1..3: what the front desk tells the customer."""

    SIGNED = "signed"  # tell the signing result
    MAY_BE_LATE = "may_be_late"  # beyond the transit standard: may be 1-2 days late
    DELIVERY_SOON = "delivery_soon"  # arrived at the destination
    TRANSPORT_ABNORMAL = "transport_abnormal"  # abnormal transport: possible 1-2 day delay
    NORMAL_TRANSIT = "normal_transit"  # tell the normal transit time


def _beyond_transit_standard(facts: ShipmentFacts, today: date) -> bool:
    # Without the ship date or both provinces the standard is unknown: we do not tell a customer "late" on a guess.
    if facts.ship_date is None or facts.origin_province is None or facts.destination_province is None:
        return False
    _, most = transit_days(facts.origin_province, facts.destination_province)
    return (today - facts.ship_date).days > most


def check_status(facts: ShipmentFacts, today: date) -> InquiryAnswer:
    """R-INQ-1..3, in the order of SPEC §6 step 1-3: signed, transit standard, arrived, transport."""
    if facts.signed:
        return InquiryAnswer.SIGNED
    if _beyond_transit_standard(facts, today):
        return InquiryAnswer.MAY_BE_LATE
    if facts.arrived_at_destination:
        return InquiryAnswer.DELIVERY_SOON
    if not facts.transport_normal:
        return InquiryAnswer.TRANSPORT_ABNORMAL
    return InquiryAnswer.NORMAL_TRANSIT


def _anniversary(ship_date: date) -> date:
    if ship_date.year == date.max.year:  # the calendar ends first: still valid on its last day
        return date.max
    try:
        return ship_date.replace(year=ship_date.year + 1)
    except ValueError:  # 29 Feb: the next year has none, so the year ends on 28 Feb
        return date(ship_date.year + 1, 2, 28)


def inquiry_still_valid(ship_date: date, today: date) -> bool:
    """R-WB-2: valid for 1 year from the ship date, up to and including the anniversary.

    The anniversary is the same month and day next year, or 28 Feb for a 29 Feb ship date.
    A `today` before the ship date is not an expired inquiry, so it is valid here.
    """
    return today <= _anniversary(ship_date)
