"""Intake rules: what a ticket must carry before it may be opened (R-WB-1, R-REC-1)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import phonenumbers

from domain.policy import CarrierSpec, Policy
from domain.shipment import ShipmentFacts, inquiry_still_valid
from domain.ticket import WAYBILL_OPTIONAL, Customer, CustomerRole, Kind

NOT_OUR_WAYBILL_SCRIPT = "该单号非本公司单号,建议凭本公司单号来电查询或与始发站点联系。"  # SPEC §10


class IntakeError(ValueError):
    """One reason the ticket cannot be opened; the message is meant for the caller."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class IntakeRejected(ValueError):
    """Every reason at once, so the caller fixes the request in one go."""

    def __init__(self, errors: list[IntakeError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


def check_waybill(carrier_code: str, carrier: CarrierSpec, waybill: str) -> str:
    """R-WB-1: the waybill must match the carrier's format, else it is not our waybill."""
    number = waybill.strip()
    if not re.fullmatch(carrier.waybill, number):
        raise IntakeError(
            "waybill",
            f"not our waybill: {number!r} does not match the {carrier.name} format "
            f"({carrier.waybill}); the customer should contact the origin station. {NOT_OUR_WAYBILL_SCRIPT}",
        )
    return number


_PHONE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


def normalise_phone(raw: str, region: str = "CN") -> str:
    """R-REC-1: a complete, real mobile or landline number, returned in E.164."""
    text = raw.strip()
    if not text or re.search(r"[*#xX?]", text):
        raise IntakeError("phone", "the phone number must be complete: no placeholders or masked digits")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise IntakeError("phone", f"{raw!r} is not a phone number") from exc
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in _PHONE_TYPES:
        raise IntakeError("phone", f"{raw!r} is not a real mobile or landline number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Letters of any script, with the separators real names use (Zhang San, O'Neil, 阿卜杜·热合曼).
_NAME_JOINERS = set(" ·.'-")


def normalise_name(raw: str) -> str:
    """R-REC-1: a name in full: letters of any script, never empty, symbols or a placeholder."""
    name = " ".join(raw.split())
    if not name:
        raise IntakeError("name", "the customer's name is required")
    for ch in name:
        if ch in _NAME_JOINERS:
            continue
        if not unicodedata.category(ch).startswith("L"):
            raise IntakeError("name", f"the customer's name may hold only letters, not {ch!r}")
    if not any(unicodedata.category(ch).startswith("L") for ch in name):
        raise IntakeError("name", "the customer's name must contain letters")
    return name


def accept_intake(
    policy: Policy,
    kind: Kind,
    carrier: str,
    waybill: str | None,
    name: str,
    phone: str,
    role: CustomerRole,
    shipment: ShipmentFacts,
    today: date,
    has_change: bool = False,
    has_answer: bool = False,
) -> tuple[str | None, Customer]:
    """All intake rules together: the normalised waybill and customer, or every reason to refuse."""
    errors: list[IntakeError] = []

    def attempt(check, *args):
        try:
            return check(*args)
        except IntakeError as exc:
            errors.append(exc)
            return None

    spec = policy.carriers.get(carrier)
    number = None
    if spec is None:
        errors.append(IntakeError("carrier", f"unknown carrier {carrier!r}; known: {', '.join(sorted(policy.carriers))}"))
    elif waybill is not None and waybill.strip():
        number = attempt(check_waybill, carrier, spec, waybill)
    elif kind not in WAYBILL_OPTIONAL:  # R-WB-1: without a waybill no shipment ticket can be opened
        errors.append(IntakeError("waybill", f"a {kind.value} ticket needs the waybill number"))
    if shipment.ship_date is not None and not inquiry_still_valid(shipment.ship_date, today):
        errors.append(IntakeError(  # R-WB-2
            "shipment.ship_date",
            f"shipped on {shipment.ship_date.isoformat()}: shipment inquiries are valid for 1 year from the ship date",
        ))
    if kind in (Kind.DAMAGE, Kind.SHORTAGE) and shipment.signing is None:  # R-DMG-1/2 decide on it
        errors.append(IntakeError("shipment.signing", f"a {kind.value} ticket needs how the parcel was signed for"))
    if kind == Kind.CHANGE and not has_change:
        errors.append(IntakeError("change", "a change ticket needs the change asked for (redirect, return, recipient data)"))
    if kind == Kind.CONSULT and not has_answer:
        errors.append(IntakeError("consult_answer", "a consult is answered at once: give the answer to record"))
    clean_name = attempt(normalise_name, name)
    clean_phone = attempt(normalise_phone, phone)
    if errors:
        raise IntakeRejected(errors)
    return number, Customer(name=clean_name, phone=clean_phone, role=role)
