"""Acceptance of damage, shortage and loss tickets by how the parcel was signed for (R-DMG-1, R-DMG-2, R-LOSS-4)."""

import pytest
from pydantic import ValidationError

from domain.acceptance import Acceptance, damage_acceptance, loss_acceptance
from domain.shipment import ShipmentFacts, Signing


@pytest.mark.parametrize(
    "signing, accepted, rule, words",
    [
        (Signing.IN_PERSON_UNINSPECTED, False, "R-DMG-1", "without inspecting"),
        (Signing.OTHER_WITH_CONSENT, False, "R-DMG-1", "with the recipient's consent"),
        (Signing.OTHER_WITHOUT_CONSENT, True, "R-DMG-2", "without the recipient's consent"),
        (Signing.IN_PERSON_INSPECTED, True, "R-DMG-2", "after inspecting"),
    ],
)
def test_r_dmg_1_and_r_dmg_2_each_signing_circumstance(signing, accepted, rule, words):
    decision = damage_acceptance(signing)
    assert decision.accepted is accepted
    assert decision.rule == rule
    assert words in decision.reason


def test_r_dmg_1_reason_is_recorded_and_told_to_the_customer():
    """R-DMG-1: the refusal carries a sentence, not just a flag."""
    for signing in (Signing.IN_PERSON_UNINSPECTED, Signing.OTHER_WITH_CONSENT):
        reason = damage_acceptance(signing).reason
        assert reason.endswith(".") and "can no longer be claimed" in reason


def test_r_dmg_every_signing_has_a_decision():
    assert {s: damage_acceptance(s).accepted for s in Signing} == {
        Signing.IN_PERSON_UNINSPECTED: False,
        Signing.IN_PERSON_INSPECTED: True,
        Signing.OTHER_WITH_CONSENT: False,
        Signing.OTHER_WITHOUT_CONSENT: True,
    }


@pytest.mark.parametrize(
    "signing, accepted, words",
    [
        (Signing.OTHER_WITH_CONSENT, False, "with the recipient's consent"),
        (Signing.IN_PERSON_UNINSPECTED, False, "signed for the parcel in person"),
        (Signing.IN_PERSON_INSPECTED, False, "signed for the parcel in person"),
        (Signing.OTHER_WITHOUT_CONSENT, True, "without the recipient's consent"),
    ],
)
def test_r_loss_4_each_signing_circumstance(signing, accepted, words):
    decision = loss_acceptance(ShipmentFacts(signed=True, signing=signing))
    assert decision.accepted is accepted
    assert decision.rule == "R-LOSS-4"
    assert words in decision.reason


def test_r_loss_4_not_signed_is_lost_in_transit_and_accepted():
    decision = loss_acceptance(ShipmentFacts(signed=False))
    assert decision.accepted is True
    assert decision.rule == "R-LOSS-4"
    assert "lost in transit" in decision.reason


def test_r_loss_4_not_signed_is_accepted_whatever_else_is_known():
    facts = ShipmentFacts(arrived_at_destination=True, transport_normal=False, origin_province="hebei")
    assert loss_acceptance(facts).accepted is True


def test_r_loss_4_signed_by_an_unknown_signer_is_accepted_for_verification():
    """Decision: no ticket is dropped (R-REC-2); verification with the station (R-LOSS-1) tells who signed."""
    decision = loss_acceptance(ShipmentFacts(signed=True))
    assert decision.accepted is True
    assert decision.rule == "R-LOSS-4"
    assert "verification" in decision.reason


def test_acceptance_is_frozen():
    decision = damage_acceptance(Signing.IN_PERSON_INSPECTED)
    assert isinstance(decision, Acceptance)
    with pytest.raises(ValidationError):
        decision.accepted = False  # type: ignore[misc]
