"""Intake rules: what a ticket must carry before it may be opened (R-WB-1, R-WB-2, R-REC-1).

Input is normalised before a rule reads it, the way an agent's keyboard and a caller's
spelling actually arrive: full-width digits from a Chinese input method, decomposed accents,
the several middle dots of 阿卜杜·热合曼, invisible bidi marks pasted from a chat window.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any

import phonenumbers

from domain.claims import SENDER_IS_CLAIMANT
from domain.customer import Customer, CustomerRole
from domain.kinds import Kind
from domain.parties import Party
from domain.policy import CarrierSpec, Policy
from domain.shipment import ShipmentFacts, inquiry_still_valid
from domain.ticket import WAYBILL_OPTIONAL

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


# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space are what an input method in
# full-width mode types for plain digits and letters: read them as the ASCII they stand for.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def ascii_width(text: str) -> str:
    """Full-width forms as ASCII (１２３ -> 123); every other character unchanged."""
    return text.translate(_FULL_WIDTH)


def check_waybill(carrier_code: str, carrier: CarrierSpec, waybill: str) -> str:
    """R-WB-1: the waybill must match the carrier's format, else it is not our waybill.

    Waybills are printed in ASCII. Full-width digits are read as ASCII (an input method typed
    them); any other non-ASCII character, Arabic-Indic or Devanagari digits included, makes
    it not ours, although the format's `\\d` would match those digits.
    """
    number = ascii_width(waybill).strip()
    if not number.isascii() or not re.fullmatch(carrier.waybill, number, re.ASCII):
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
    """R-REC-1: a complete, real mainland Chinese mobile or landline number, returned in E.164.

    A number abroad (+1 212 555 0100) is refused: the SMS and the callbacks go through
    mainland providers and desks. Full-width digits are fine (the parser reads them).
    """
    text = raw.strip()
    if not text or re.search(r"[*#xX?]", text):
        raise IntakeError("phone", "the phone number must be complete: no placeholders or masked digits")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise IntakeError("phone", f"{raw!r} is not a phone number") from exc
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in _PHONE_TYPES:
        raise IntakeError("phone", f"{raw!r} is not a real mobile or landline number")
    if phonenumbers.region_code_for_number(number) != "CN":
        raise IntakeError("phone", f"{raw!r} is not a mainland Chinese number: give a mobile or landline in China")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Letters of any script, with the separators real names use (Zhang San, O'Neil, 阿卜杜·热合曼).
_NAME_JOINERS = set(" ·.'-")
# The middle dots people type between the parts of a transcribed name (bullet, katakana and
# half-width katakana middle dots, hyphenation point, operators): all mean the name's `·`.
_MIDDLE_DOTS = "\u2022\u30fb\uff65\u2027\u2219\u22c5\u2e31"
# Direction marks, embeddings, isolates, zero-width space and BOM: invisible, pasted along
# from chat windows and forms, and never part of a name.
_INVISIBLE = "\u200b\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_NAME_FOLD = {ord(dot): "·" for dot in _MIDDLE_DOTS} | {ord(mark): None for mark in _INVISIBLE}


def normalise_name(raw: str) -> str:
    """R-REC-1: a name in full: letters of any script, never empty, symbols or a placeholder.

    Normalised first: composed (NFC, so a decomposed Ngô Bảo Châu is letters), every middle
    dot as `·`, invisible direction marks dropped, runs of spaces as one. Combining marks
    that remain after a letter (Devanagari vowel signs) belong to it.
    """
    name = " ".join(unicodedata.normalize("NFC", raw).translate(_NAME_FOLD).split())
    if not name:
        raise IntakeError("name", "the customer's name is required")
    previous = ""
    for ch in name:
        category = unicodedata.category(ch)
        mark_on_letter = category.startswith("M") and (previous.startswith("L") or previous.startswith("M"))
        if ch not in _NAME_JOINERS and not category.startswith("L") and not mark_on_letter:
            raise IntakeError("name", f"the customer's name may hold only letters, not {ch!r}")
        previous = category
    if not any(unicodedata.category(ch).startswith("L") for ch in name):
        raise IntakeError("name", "the customer's name must contain letters")
    return name


def refuse_future_ship_date(ship_date: date, today: date, field: str = "shipment.ship_date") -> None:
    """A parcel is not shipped after today (the carrier's date): such a date is a typing error."""
    if ship_date > today:
        raise IntakeError(field, f"shipped on {ship_date.isoformat()}: that is after today ({today.isoformat()}, "
                                 "the carrier's date); give the date the parcel was shipped")


def check_ship_date(ship_date: date, today: date, asked_on: date | None = None) -> None:
    """A ship date is not after today, and R-WB-2: the inquiry, made on `asked_on` (today at
    open, the ticket's opening date when amended), is within 1 year of it."""
    refuse_future_ship_date(ship_date, today)
    if not inquiry_still_valid(ship_date, asked_on or today):  # R-WB-2
        raise IntakeError("shipment.ship_date",
                          f"shipped on {ship_date.isoformat()}: shipment inquiries are valid for 1 year from the "
                          "ship date")


def _shipment_errors(kind: Kind, shipment: ShipmentFacts, today: date,
                     asked_on: date | None = None) -> list[IntakeError]:
    errors = []
    if shipment.ship_date is not None:
        try:
            check_ship_date(shipment.ship_date, today, asked_on)
        except IntakeError as exc:
            errors.append(exc)
    if kind in (Kind.DAMAGE, Kind.SHORTAGE) and shipment.signing is None:  # R-DMG-1/2 decide on it
        errors.append(IntakeError("shipment.signing", f"a {kind.value} ticket needs how the parcel was signed for"))
    return errors


def _written_claim_errors(written_on: date | None, today: date, ship_date: date | None,
                          field: str = "claim_details.written_claim_on") -> list[IntakeError]:
    """R-CLK-6 counts to the day the written claim was received: a real day, not after today (in the
    carrier's zone) and not before the parcel was shipped. A typo here would refuse the claim."""
    if written_on is None:
        return []
    if written_on > today:
        return [IntakeError(field, f"the written claim received on {written_on.isoformat()}: that is after today "
                                   f"({today.isoformat()}, carrier's time zone)")]
    if ship_date is not None and written_on < ship_date:
        return [IntakeError(field, f"the written claim received on {written_on.isoformat()}: that is before the "
                                   f"parcel was shipped ({ship_date.isoformat()})")]
    return []


def check_amendment(kind: Kind, phone: str | None, shipment: ShipmentFacts | None, today: date,
                    opened_on: date, written_claim_on: date | None = None,
                    ship_date: date | None = None) -> str | None:
    """A PATCH meets the rules an open does: the phone normalised (R-REC-1), the new shipment
    facts' ship date and signing (R-WB-2, R-DMG-1/2). Returns the E.164 phone, or raises every
    reason at once, with the fields named as the PATCH body names them."""
    errors: list[IntakeError] = []
    clean = None
    if phone is not None:
        try:
            clean = normalise_phone(phone)
        except IntakeError as exc:
            errors.append(exc)
    if shipment is not None:
        errors.extend(_shipment_errors(kind, shipment, today, opened_on))
    errors.extend(_written_claim_errors(written_claim_on, today, ship_date))
    if errors:
        raise IntakeRejected(errors)
    return clean


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
    written_claim_on: date | None = None,
) -> tuple[str | None, Customer]:
    """All intake rules together: the normalised waybill and customer, or every reason to refuse.

    Each reason names its field as the open request does (`customer.phone`, `shipment.ship_date`).
    """
    errors: list[IntakeError] = []

    def attempt(check: Callable[..., Any], *args: Any) -> Any:
        try:
            return check(*args)
        except IntakeError as exc:
            errors.append(exc)
            return None

    spec = policy.carriers.get(carrier)
    number = None
    if spec is None:
        known = ", ".join(sorted(policy.carriers))
        errors.append(IntakeError("carrier", f"unknown carrier {carrier!r}; known: {known}"))
    elif waybill is not None and waybill.strip():
        number = attempt(check_waybill, carrier, spec, waybill)
    elif kind not in WAYBILL_OPTIONAL:  # R-WB-1: without a waybill no shipment ticket can be opened
        errors.append(IntakeError("waybill", f"a {kind.value} ticket needs the waybill number"))
    errors.extend(_shipment_errors(kind, shipment, today))
    errors.extend(_written_claim_errors(written_claim_on, today, shipment.ship_date))
    if kind == Kind.CHANGE and not has_change:
        errors.append(IntakeError(
            "change", "a change ticket needs the change asked for (redirect, return, recipient data)"))
    if kind == Kind.CONSULT and not has_answer:
        errors.append(IntakeError("consult_answer", "a consult is answered at once: give the answer to record"))
    clean_name = attempt(_as_customer(normalise_name), name)
    clean_phone = attempt(_as_customer(normalise_phone), phone)
    if errors:
        raise IntakeRejected(errors)
    return number, Customer(name=clean_name, phone=clean_phone, role=role)


def accept_parties(kind: Kind, caller: Customer, sender: Party, recipient: Party,
                   origin_station: str | None) -> tuple[Party, Party]:
    """R-REC-1: both parties with names and phones normalised and addresses kept verbatim, the caller's
    details folded into their own party; refused, every reason at once, where a rule needs a party or a
    station the request does not give (R-LOSS-5, R-DMG-3, R-CHG, R-LOSS-2)."""
    errors: list[IntakeError] = []

    def clean(party: Party, role: str) -> Party:
        update: dict[str, str | None] = {}
        for field, check in (("name", normalise_name), ("phone", normalise_phone)):
            raw = getattr(party, field)
            if raw is None or not raw.strip():
                update[field] = None
                continue
            try:
                update[field] = check(raw)
            except IntakeError as exc:
                errors.append(IntakeError(f"{role}.{field}", exc.message))
        return party.model_copy(update=update)

    sender, recipient = clean(sender, "sender"), clean(recipient, "recipient")
    if caller.role == CustomerRole.SENDER:
        sender = sender.with_caller(caller)
    else:
        recipient = recipient.with_caller(caller)
    if kind in SENDER_IS_CLAIMANT and (not sender.name or not sender.phone):
        errors.append(IntakeError("sender", f"a {kind.value} is compensated to the sender, who is asked for the "
                                            "claim (R-LOSS-5, R-DMG-3): give the sender's name and phone"))
    if kind == Kind.CHANGE and not sender.phone:
        errors.append(IntakeError("sender.phone", "a change asked by the recipient is confirmed with the sender "
                                                  "(R-CHG): give the sender's phone"))
    if kind == Kind.LOSS and not (origin_station or "").strip():
        errors.append(IntakeError("origin_station", "the origin station declares a confirmed loss (R-LOSS-2): "
                                                    "give its code"))
    if errors:
        raise IntakeRejected(errors)
    return sender, recipient


def _as_customer(check: Callable[[str], str]) -> Callable[[str], str]:
    """The check, its reason named under `customer.` as the open request nests it."""
    def checked(raw: str) -> str:
        try:
            return check(raw)
        except IntakeError as exc:
            raise IntakeError(f"customer.{exc.field}", exc.message) from exc
    return checked
