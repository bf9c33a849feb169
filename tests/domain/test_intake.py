"""Intake rules: R-WB-1 (waybill format per carrier) and R-REC-1 (complete name and phone)."""

import unicodedata
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.customer import CustomerRole
from domain.intake import (
    IntakeError,
    IntakeRejected,
    accept_intake,
    ascii_width,
    check_amendment,
    check_ship_date,
    check_waybill,
    normalise_name,
    normalise_phone,
)
from domain.kinds import Kind
from domain.policy import CarrierSpec, parse_policy
from domain.shipment import ShipmentFacts

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
    assert [e.field for e in err.value.errors] == ["carrier", "shipment.signing", "customer.name", "customer.phone"]
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


# --- normalised before the rule (issue 11) ---------------------------------------------------

def test_r_wb_1_full_width_digits_from_an_input_method_are_read_as_ascii():
    assert check_waybill("best", BEST, "１２３４５６７８９０１２") == "123456789012"
    assert check_waybill("best", BEST, "\u3000１２３４５６７８９０１２\u3000") == "123456789012"


@pytest.mark.parametrize("waybill", [
    "١٢٣٤٥٦٧٨٩٠١٢",  # Arabic-Indic
    "۱۲۳۴۵۶۷۸۹۰۱۲",  # extended Arabic-Indic (Persian)
    "१२३४५६७८९०१२",  # Devanagari
    "12345678901٢",  # one of them is enough
    "①②③④⑤⑥⑦⑧⑨⑩⑪⑫",  # circled numbers are not digits of a waybill
])
def test_r_wb_1_other_unicode_digits_are_not_our_waybill_although_backslash_d_matches_them(waybill):
    with pytest.raises(IntakeError) as err:
        check_waybill("best", BEST, waybill)
    assert "not our waybill" in err.value.message


_NON_ASCII_DIGITS = st.characters(categories=["Nd"]).filter(lambda c: not c.isascii() and not "０" <= c <= "９")


@given(st.lists(st.one_of(st.sampled_from("0123456789"), _NON_ASCII_DIGITS), min_size=12, max_size=12)
       .filter(lambda ds: any(not d.isascii() for d in ds)))
def test_r_wb_1_property_a_waybill_with_any_non_ascii_digit_but_full_width_is_refused(digits):
    with pytest.raises(IntakeError):
        check_waybill("best", BEST, "".join(digits))


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_r_wb_1_property_full_width_and_ascii_spellings_are_the_same_waybill(number):
    full_width = "".join(chr(ord(d) + 0xFEE0) for d in number)
    assert ascii_width(full_width) == number
    assert check_waybill("best", BEST, full_width) == check_waybill("best", BEST, number) == number


@pytest.mark.parametrize("raw", ["+1 212 555 0100", "+44 20 7946 0958", "+852 2123 4567", "+81 3-1234-5678"])
def test_r_rec_1_a_number_outside_mainland_china_is_refused(raw):
    with pytest.raises(IntakeError) as err:
        normalise_phone(raw)
    assert err.value.field == "phone" and "mainland Chinese" in err.value.message


def test_r_rec_1_full_width_phone_digits_are_read_as_digits():
    assert normalise_phone("１３８１２３４５６７８") == "+8613812345678"


@pytest.mark.parametrize("raw, clean", [
    ("Ngo\u0302 Ba\u0309o Cha\u0302u", "Ngô Bảo Châu"),  # decomposed, as some keyboards send it
    ("阿卜杜•热合曼", "阿卜杜·热合曼"),  # bullet
    ("阿卜杜・热合曼", "阿卜杜·热合曼"),  # katakana middle dot (a Japanese IME)
    ("阿卜杜･热合曼", "阿卜杜·热合曼"),  # half-width katakana middle dot
    ("阿卜杜‧热合曼", "阿卜杜·热合曼"),  # hyphenation point (Taiwanese IMEs)
    ("\u200f阿卜杜·热合曼", "阿卜杜·热合曼"),  # a leading right-to-left mark
    ("\u202bمحمد\u202c", "محمد"),  # an embedding around Arabic
    ("\ufeff张三\u200b", "张三"),
    ("देवी", "देवी"),  # Devanagari vowel signs are marks on their letters
])
def test_r_rec_1_names_are_normalised_before_the_rule(raw, clean):
    assert normalise_name(raw) == clean


@pytest.mark.parametrize("raw", ["\u200f", "\u0302a", "张 \u0302", "张三\u0000"])
def test_r_rec_1_marks_alone_invisible_names_and_control_characters_are_refused(raw):
    with pytest.raises(IntakeError):
        normalise_name(raw)


@given(st.text(max_size=40))
def test_r_rec_1_property_a_normalised_name_is_nfc_visible_and_stable(raw):
    try:
        name = normalise_name(raw)
    except IntakeError:
        return
    assert name == unicodedata.normalize("NFC", name) == name.strip()
    assert not any(unicodedata.category(ch) == "Cf" for ch in name)
    assert normalise_name(name) == name


def test_a_ship_date_after_today_is_refused_and_9999_is_no_crash():
    for future in (TODAY + timedelta(days=1), date(9999, 12, 31)):
        with pytest.raises(IntakeError) as err:
            check_ship_date(future, TODAY)
        assert err.value.field == "shipment.ship_date" and "after today" in err.value.message
    check_ship_date(TODAY, TODAY)  # shipped today is fine


def test_r_wb_2_an_amendment_counts_the_year_from_the_opening_not_from_today():
    shipped = date(2024, 10, 1)
    check_ship_date(shipped, today=date(2025, 3, 1), asked_on=date(2025, 10, 1))  # opened on the anniversary
    with pytest.raises(IntakeError):
        check_ship_date(shipped, today=date(2025, 3, 1), asked_on=date(2025, 10, 2))


def test_an_amendment_meets_the_rules_of_an_open_and_names_fields_as_the_patch_does():
    assert check_amendment(Kind.INQUIRY, "138 1234 5678", None, TODAY, TODAY) == "+8613812345678"
    assert check_amendment(Kind.INQUIRY, None, ShipmentFacts(ship_date=TODAY), TODAY, TODAY) is None
    with pytest.raises(IntakeRejected) as err:
        check_amendment(Kind.DAMAGE, "+1 212 555 0100", ShipmentFacts(ship_date=date(1999, 1, 1)), TODAY, TODAY)
    assert [e.field for e in err.value.errors] == ["phone", "shipment.ship_date", "shipment.signing"]
