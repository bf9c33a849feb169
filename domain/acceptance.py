"""Whether a damage, shortage or loss ticket is accepted, by how the parcel was signed for
(R-DMG-1, R-DMG-2, R-LOSS-4)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from domain.shipment import ShipmentFacts, Signing


class Acceptance(BaseModel):
    """The decision, the SPEC rule that made it, and a sentence for the record and the customer."""

    model_config = ConfigDict(frozen=True)

    accepted: bool
    rule: str
    reason: str


# R-DMG-1 (not accepted) and R-DMG-2 (accepted); damage and shortage alike.
_DAMAGE = {
    Signing.IN_PERSON_UNINSPECTED: Acceptance(
        accepted=False,
        rule="R-DMG-1",
        reason="The recipient signed in person without inspecting the parcel on the spot, "
        "so damage or shortage can no longer be claimed.",
    ),
    Signing.OTHER_WITH_CONSENT: Acceptance(
        accepted=False,
        rule="R-DMG-1",
        reason="Another person signed with the recipient's consent, "
        "so damage or shortage can no longer be claimed.",
    ),
    Signing.OTHER_WITHOUT_CONSENT: Acceptance(
        accepted=True,
        rule="R-DMG-2",
        reason="Someone else signed without the recipient's consent; the claim is accepted.",
    ),
    Signing.IN_PERSON_INSPECTED: Acceptance(
        accepted=True,
        rule="R-DMG-2",
        reason="The recipient signed in person after inspecting the parcel on the spot; the claim is accepted.",
    ),
}


def damage_acceptance(signing: Signing | None) -> Acceptance:
    """R-DMG-1 / R-DMG-2: used for both damage and shortage tickets (intake refuses them without a signing)."""
    if signing is None:
        raise ValueError("a damage or shortage ticket needs how the parcel was signed for")
    return _DAMAGE[signing]


_LOSS_BY_SIGNING = {
    Signing.OTHER_WITH_CONSENT: Acceptance(
        accepted=False,
        rule="R-LOSS-4",
        reason="Another person signed with the recipient's consent; the parcel was delivered, not lost.",
    ),
    # A recipient who signed in person received the parcel, whether or not they inspected it.
    Signing.IN_PERSON_UNINSPECTED: Acceptance(
        accepted=False,
        rule="R-LOSS-4",
        reason="The recipient signed for the parcel in person; it was delivered, not lost.",
    ),
    Signing.IN_PERSON_INSPECTED: Acceptance(
        accepted=False,
        rule="R-LOSS-4",
        reason="The recipient signed for the parcel in person; it was delivered, not lost.",
    ),
    Signing.OTHER_WITHOUT_CONSENT: Acceptance(
        accepted=True,
        rule="R-LOSS-4",
        reason="Someone signed without the recipient's consent; the loss report is accepted.",
    ),
}

_LOST_IN_TRANSIT = Acceptance(
    accepted=True,
    rule="R-LOSS-4",
    reason="The parcel was never signed for; it is treated as lost in transit and the loss report is accepted.",
)

# Signed, but nobody yet knows by whom: no ticket is dropped (R-REC-2), so accept and let verification (R-LOSS-1) tell.
_SIGNER_UNKNOWN = Acceptance(
    accepted=True,
    rule="R-LOSS-4",
    reason="The parcel shows as signed but who signed is not known; "
    "the loss report is accepted for verification with the station.",
)


def loss_acceptance(facts: ShipmentFacts) -> Acceptance:
    """R-LOSS-4: delivered to the recipient or with their consent is not a loss; otherwise accepted."""
    if not facts.signed:
        return _LOST_IN_TRANSIT
    if facts.signing is None:
        return _SIGNER_UNKNOWN
    return _LOSS_BY_SIGNING[facts.signing]
