"""Urgent tickets (R-URG-1): by the contents, by value thresholds, by the customer's threat."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.shipment import Contents, ShipmentFacts
from domain.urgency import INVOICE_THRESHOLD, VALUABLES_THRESHOLD, assess_urgency

FEN = Decimal("0.01")


@pytest.mark.parametrize(
    "contents, reason",
    [
        (Contents.AIR_TICKET, "urgent document: air ticket"),
        (Contents.ID_CARD, "urgent document: id card"),
        (Contents.HOUSEHOLD_REGISTER, "urgent document: household register"),
        (Contents.PASSPORT, "urgent document: passport"),
        (Contents.CONTRACT, "urgent document: contract"),
        (Contents.TENDER_DOCUMENT, "urgent document: tender document"),
        (Contents.ACCEPTANCE_BILL, "time-critical paper: acceptance bill"),
        (Contents.BILL_OF_LADING, "time-critical paper: bill of lading"),
        (Contents.WITHDRAWAL_SLIP, "time-critical paper: withdrawal slip"),
        (Contents.TAX_CERTIFICATE, "time-critical paper: tax certificate"),
        (Contents.LEGAL_DOCUMENT, "time-critical paper: legal document"),
        (Contents.DIPLOMA, "item of serious consequence: diploma"),
        (Contents.DEGREE_CERTIFICATE, "item of serious consequence: degree certificate"),
        (Contents.EMERGENCY_MEDICINE, "item of serious consequence: emergency medicine"),
    ],
)
def test_r_urg_1_urgent_by_contents_whatever_the_value(contents, reason):
    for value in (None, Decimal("0"), Decimal("5")):
        urgency = assess_urgency(ShipmentFacts(contents=contents, declared_value=value))
        assert urgency.urgent is True
        assert urgency.reasons == [reason]


def test_r_urg_1_ordinary_parcel_is_not_urgent_even_if_valuable():
    urgency = assess_urgency(ShipmentFacts(contents=Contents.ORDINARY, declared_value=Decimal("999999")))
    assert urgency.urgent is False
    assert urgency.reasons == []


@pytest.mark.parametrize(
    "contents, threshold, reason",
    [
        (Contents.INVOICE, INVOICE_THRESHOLD, "invoice of ¥100,000 or more"),
        (Contents.VALUABLES, VALUABLES_THRESHOLD, "valuables of ¥20,000 or more"),
    ],
)
def test_r_urg_1_thresholds_are_inclusive_the_amount_itself_is_urgent_one_fen_below_is_not(contents, threshold, reason):
    """以上 includes the amount itself: ¥100,000 and ¥20,000 qualify."""
    at = assess_urgency(ShipmentFacts(contents=contents, declared_value=threshold))
    below = assess_urgency(ShipmentFacts(contents=contents, declared_value=threshold - FEN))
    assert (at.urgent, at.reasons) == (True, [reason])
    assert (below.urgent, below.reasons) == (False, [])


def test_r_urg_1_threshold_defaults_are_the_spec_numbers():
    assert INVOICE_THRESHOLD == Decimal("100000")
    assert VALUABLES_THRESHOLD == Decimal("20000")


@pytest.mark.parametrize("contents", [Contents.INVOICE, Contents.VALUABLES])
def test_r_urg_1_invoice_or_valuables_without_a_declared_value_are_not_urgent(contents):
    assert assess_urgency(ShipmentFacts(contents=contents)).urgent is False


def test_r_urg_1_the_invoice_threshold_does_not_apply_to_valuables_nor_the_other_way():
    between = Decimal("50000")  # over the valuables threshold, under the invoice threshold
    assert assess_urgency(ShipmentFacts(contents=Contents.VALUABLES, declared_value=between)).urgent is True
    assert assess_urgency(ShipmentFacts(contents=Contents.INVOICE, declared_value=between)).urgent is False


def test_r_urg_1_external_complaint_or_media_threat_alone_is_urgent():
    urgency = assess_urgency(ShipmentFacts(external_complaint_threat=True))
    assert urgency.urgent is True
    assert urgency.reasons == ["external complaint or media threat"]


def test_r_urg_1_several_reasons_at_once_contents_first():
    urgency = assess_urgency(ShipmentFacts(contents=Contents.PASSPORT, external_complaint_threat=True))
    assert urgency.urgent is True
    assert urgency.reasons == ["urgent document: passport", "external complaint or media threat"]
    valuables = ShipmentFacts(contents=Contents.VALUABLES, declared_value=Decimal("20000.01"), external_complaint_threat=True)
    assert assess_urgency(valuables).reasons == ["valuables of ¥20,000 or more", "external complaint or media threat"]


def test_r_urg_1_other_facts_do_not_make_a_ticket_urgent():
    facts = ShipmentFacts(fresh_or_food=True, signed=True, transport_normal=False, declared_value=Decimal("1000000"))
    assert assess_urgency(facts).urgent is False


@given(
    contents=st.sampled_from(list(Contents)),
    value=st.one_of(st.none(), st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2)),
    threat=st.booleans(),
)
def test_r_urg_1_property_urgent_exactly_when_there_is_a_reason(contents, value, threat):
    urgency = assess_urgency(ShipmentFacts(contents=contents, declared_value=value, external_complaint_threat=threat))
    assert urgency.urgent == bool(urgency.reasons)
    assert ("external complaint or media threat" in urgency.reasons) == threat
    if contents == Contents.ORDINARY:
        assert urgency.urgent == threat
