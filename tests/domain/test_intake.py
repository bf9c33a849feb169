"""Intake rules: R-WB-1 (waybill format per carrier) and R-REC-1 (complete name and phone)."""

from datetime import date
from pathlib import Path

import pytest

from domain.intake import IntakeError, IntakeRejected, accept_intake, check_waybill, normalise_name, normalise_phone
from domain.policy import CarrierSpec, parse_policy
from domain.shipment import ShipmentFacts
from domain.ticket import CustomerRole, Kind

BEST = CarrierSpec(name="Best Express", waybill=r"^\d{12}$")
POLICY = parse_policy((Path(__file__).parents[2] / "policy" / "default.toml").read_text())


def test_r_wb_1_best_express_waybill_is_12_digits():
    assert check_waybill("best", BEST, " 123456789012 ") == "123456789012"


@pytest.mark.parametrize("waybill", ["12345678901", "1234567890123", "12345678901A", "", "SF1234567890"])
def test_r_wb_1_any_other_waybill_is_not_ours_and_points_to_the_origin_station(waybill):
    with pytest.raises(IntakeError) as err:
        check_waybill("best", BEST, waybill)
    assert err.value.field == "waybill"
    assert "not our waybill" in err.value.message
    assert "origin station" in err.value.message


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("13812345678", "+8613812345678"),  # mobile
        ("+86 138 1234 5678", "+8613812345678"),
        ("021-62345678", "+862162345678"),  # Shanghai landline
        ("010 6512 3456", "+861065123456"),  # Beijing landline
    ],
)
def test_r_rec_1_real_mobile_and_landline_numbers_are_kept_complete(raw, e164):
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["138****5678", "1381234567x", "138123", "12345678901", "", "hello", "400"])
def test_r_rec_1_placeholders_and_unreal_numbers_are_refused(raw):
    with pytest.raises(IntakeError) as err:
        normalise_phone(raw)
    assert err.value.field == "phone"


@pytest.mark.parametrize("raw, clean", [("张三", "张三"), ("  Li   Na ", "Li Na"), ("阿卜杜·热合曼", "阿卜杜·热合曼"), ("O'Neil", "O'Neil")])
def test_r_rec_1_names_of_any_script_are_accepted(raw, clean):
    assert normalise_name(raw) == clean


@pytest.mark.parametrize("raw", ["", "   ", "张*", "***", "--", "x1", "先生?"])
def test_r_rec_1_empty_symbol_or_placeholder_names_are_refused(raw):
    with pytest.raises(IntakeError) as err:
        normalise_name(raw)
    assert err.value.field == "name"


TODAY = date(2025, 10, 1)


def _intake(kind=Kind.INQUIRY, carrier="best", waybill="123456789012", name="张三", phone="13812345678",
            shipment=ShipmentFacts(), **kw):
    return accept_intake(POLICY, kind, carrier, waybill, name, phone, CustomerRole.SENDER, shipment, TODAY, **kw)


def test_accept_intake_returns_normalised_waybill_and_customer():
    waybill, customer = _intake()
    assert waybill == "123456789012"
    assert customer.phone == "+8613812345678" and customer.role == CustomerRole.SENDER


def test_accept_intake_reports_every_reason_at_once():
    with pytest.raises(IntakeRejected) as err:
        _intake(kind=Kind.DAMAGE, carrier="nobody", name="*", phone="1")
    assert [e.field for e in err.value.errors] == ["carrier", "shipment.signing", "name", "phone"]
    assert "unknown carrier 'nobody'" in err.value.errors[0].message


def test_r_wb_1_without_a_waybill_no_shipment_ticket_opens_but_a_consult_does():
    with pytest.raises(IntakeRejected) as err:
        _intake(kind=Kind.LOSS, waybill=None)
    assert err.value.errors[0].field == "waybill"
    assert _intake(kind=Kind.CONSULT, waybill=None, has_answer=True)[0] is None
    assert _intake(kind=Kind.SERVICE, waybill="")[0] is None


def test_r_wb_2_a_parcel_shipped_more_than_a_year_ago_is_refused_with_the_reason():
    with pytest.raises(IntakeRejected) as err:
        _intake(shipment=ShipmentFacts(ship_date=date(2024, 9, 30)))
    assert err.value.errors[0].field == "shipment.ship_date"
    assert "valid for 1 year" in err.value.errors[0].message
    assert _intake(shipment=ShipmentFacts(ship_date=date(2024, 10, 1)))[0] == "123456789012"


def test_kind_specific_facts_are_required():
    for kind, field, kw in [(Kind.CHANGE, "change", {}), (Kind.CONSULT, "consult_answer", {}),
                            (Kind.SHORTAGE, "shipment.signing", {})]:
        with pytest.raises(IntakeRejected) as err:
            _intake(kind=kind, **kw)
        assert [e.field for e in err.value.errors] == [field]
