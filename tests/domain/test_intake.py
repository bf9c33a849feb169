"""Intake rules: R-WB-1 (waybill format per carrier) and R-REC-1 (complete name and phone)."""

from pathlib import Path

import pytest

from domain.intake import IntakeError, IntakeRejected, accept_intake, check_waybill, normalise_name, normalise_phone
from domain.policy import CarrierSpec, parse_policy
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


def test_accept_intake_returns_normalised_waybill_and_customer():
    waybill, customer = accept_intake(POLICY, Kind.INQUIRY, "best", "123456789012", "张三", "13812345678", CustomerRole.SENDER)
    assert waybill == "123456789012"
    assert customer.phone == "+8613812345678" and customer.role == CustomerRole.SENDER


def test_accept_intake_reports_every_reason_at_once():
    with pytest.raises(IntakeRejected) as err:
        accept_intake(POLICY, Kind.LOSS, "nobody", "1", "*", "1", CustomerRole.SENDER)
    assert [e.field for e in err.value.errors] == ["kind", "carrier", "name", "phone"]
    assert "not handled yet" in err.value.errors[0].message
    assert "unknown carrier 'nobody'" in err.value.errors[1].message
