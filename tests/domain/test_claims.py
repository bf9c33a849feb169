"""Claims (SPEC §7, R-CLM): the details a claim needs, the team's decision, the filing window (R-CLK-6)."""

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.claims import ClaimDecision, ClaimDetails, ClaimOutcome, claim_window_open


def test_r_clm_claim_data_is_contents_value_packaging_freight_insured_and_what_is_missing_is_named():
    assert ClaimDetails().missing() == ["contents", "declared_value", "packaging", "freight", "insured"]
    partial = ClaimDetails(contents="books", insured=False)
    assert partial.missing() == ["declared_value", "packaging", "freight"]


def test_r_clm_details_given_later_merge_field_by_field():
    merged = ClaimDetails(contents="books", freight=Decimal("10")).merged(
        ClaimDetails(freight=Decimal("12.50"), packaging="box"))
    assert merged == ClaimDetails(contents="books", freight=Decimal("12.50"), packaging="box")


def test_r_clm_a_paid_decision_needs_its_amount_and_a_rejection_its_reason():
    assert ClaimDecision(outcome=ClaimOutcome.PAID, amount=Decimal("318.00")).amount == Decimal("318.00")
    with pytest.raises(ValidationError, match="amount"):
        ClaimDecision(outcome=ClaimOutcome.PAID)
    with pytest.raises(ValidationError, match="reason"):
        ClaimDecision(outcome=ClaimOutcome.REJECTED)
    with pytest.raises(ValidationError):
        ClaimDecision(outcome=ClaimOutcome.PAID, amount=Decimal("0"))


@pytest.mark.parametrize("filed_on, open_", [(date(2025, 3, 16), True), (date(2025, 3, 17), False)])
def test_r_clk_6_claims_are_filed_within_15_days_of_the_ship_date(filed_on, open_):
    assert claim_window_open(date(2025, 3, 1), filed_on, 15) is open_
