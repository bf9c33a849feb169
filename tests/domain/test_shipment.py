"""Shipment facts, transit standards and the front desk's status answer (R-TT-1, R-INQ-1..3, R-WB-2)."""

from datetime import date, timedelta
from itertools import permutations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.shipment import (
    EAST_CHINA_NEXT_DAY,
    PROVINCES,
    InquiryAnswer,
    ShipmentFacts,
    Signing,
    check_status,
    inquiry_still_valid,
    transit_days,
)

SHIPPED = date(2025, 3, 3)
provinces = st.sampled_from(sorted(PROVINCES))


def test_the_31_mainland_provinces_include_shanxi_and_shaanxi_apart():
    assert len(PROVINCES) == 31
    assert {"shanxi", "shaanxi", "neimenggu", "xizang"} <= PROVINCES
    assert EAST_CHINA_NEXT_DAY <= PROVINCES


# --- R-TT-1 transit standards


@pytest.mark.parametrize("province", sorted(PROVINCES))
def test_r_tt_1_same_province_is_next_day(province):
    assert transit_days(province, province) == (1, 1)


@pytest.mark.parametrize("origin, destination", list(permutations(sorted(EAST_CHINA_NEXT_DAY), 2)))
def test_r_tt_1_jiangsu_zhejiang_shanghai_anhui_among_each_other_next_day_both_directions(origin, destination):
    assert transit_days(origin, destination) == (1, 1)


@pytest.mark.parametrize("east", sorted(EAST_CHINA_NEXT_DAY))
@pytest.mark.parametrize("other", ["beijing", "fujian", "jiangxi", "xinjiang"])
def test_r_tt_1_east_china_to_outside_is_3_to_4_days_both_directions(east, other):
    assert transit_days(east, other) == (3, 4)
    assert transit_days(other, east) == (3, 4)


@pytest.mark.parametrize("origin, destination", [("beijing", "guangdong"), ("shanxi", "shaanxi"), ("xizang", "hainan")])
def test_r_tt_1_other_inter_province_is_3_to_4_days(origin, destination):
    assert transit_days(origin, destination) == (3, 4)


@given(provinces, provinces)
def test_r_tt_1_is_symmetric_and_next_day_exactly_when_same_or_both_east_china(a, b):
    days = transit_days(a, b)
    assert days == transit_days(b, a)
    next_day = a == b or (a in EAST_CHINA_NEXT_DAY and b in EAST_CHINA_NEXT_DAY)
    assert days == ((1, 1) if next_day else (3, 4))


def test_r_tt_1_transit_days_refuses_an_unknown_province():
    with pytest.raises(ValueError, match="unknown province 'atlantis'"):
        transit_days("atlantis", "jiangsu")


# --- province validation


def test_provinces_are_lowercased_and_stripped():
    facts = ShipmentFacts(origin_province="  JiangSu ", destination_province="Nei Menggu")
    assert facts.origin_province == "jiangsu"
    assert facts.destination_province == "neimenggu"


@pytest.mark.parametrize("field", ["origin_province", "destination_province"])
@pytest.mark.parametrize("raw", ["Mars", "江苏", "jiang-su", ""])
def test_unknown_province_is_refused_with_a_readable_message(field, raw):
    with pytest.raises(ValidationError) as err:
        ShipmentFacts(**{field: raw})
    message = err.value.errors()[0]["msg"]
    assert f"unknown province {raw!r}; use pinyin such as jiangsu" in message
    assert err.value.errors()[0]["loc"] == (field,)


def test_provinces_may_be_left_out():
    facts = ShipmentFacts()
    assert facts.origin_province is None and facts.destination_province is None


# --- signing only when signed


def test_signing_is_refused_on_an_unsigned_parcel():
    with pytest.raises(ValidationError, match="only given for a signed parcel"):
        ShipmentFacts(signing=Signing.IN_PERSON_INSPECTED)


@pytest.mark.parametrize("signing", list(Signing) + [None])
def test_a_signed_parcel_takes_any_signing_or_none(signing):
    assert ShipmentFacts(signed=True, signing=signing).signing is signing


def test_facts_are_frozen_and_declared_value_is_in_fen():
    facts = ShipmentFacts(declared_value="12.34")
    with pytest.raises(ValidationError):
        facts.signed = True  # type: ignore[misc]
    with pytest.raises(ValidationError):
        ShipmentFacts(declared_value="1.001")
    with pytest.raises(ValidationError):
        ShipmentFacts(declared_value="-1")


# --- R-INQ-1..3 check_status, in SPEC §6 order


def facts(**kw) -> ShipmentFacts:
    base = {"ship_date": SHIPPED, "origin_province": "beijing", "destination_province": "guangdong"}  # 3-4 days
    return ShipmentFacts(**(base | kw))


def test_r_inq_1_signed_tells_the_signing_result():
    assert check_status(facts(signed=True), SHIPPED + timedelta(days=2)) is InquiryAnswer.SIGNED


def test_r_inq_1_signed_comes_first_even_when_late_abnormal_or_arrived():
    late = SHIPPED + timedelta(days=30)
    f = facts(signed=True, signing=Signing.IN_PERSON_INSPECTED, arrived_at_destination=True, transport_normal=False)
    assert check_status(f, late) is InquiryAnswer.SIGNED


def test_r_inq_2_beyond_the_transit_standard_may_be_late_before_arrival_or_transport():
    late = SHIPPED + timedelta(days=5)
    assert check_status(facts(), late) is InquiryAnswer.MAY_BE_LATE
    assert check_status(facts(arrived_at_destination=True), late) is InquiryAnswer.MAY_BE_LATE
    assert check_status(facts(transport_normal=False), late) is InquiryAnswer.MAY_BE_LATE


@pytest.mark.parametrize(
    "origin, destination, most",
    [("beijing", "guangdong", 4), ("jiangsu", "anhui", 1), ("sichuan", "sichuan", 1), ("shanghai", "fujian", 4)],
)
def test_r_inq_2_r_tt_1_boundary_exactly_the_most_days_is_within_one_more_is_late(origin, destination, most):
    f = facts(origin_province=origin, destination_province=destination)
    assert check_status(f, SHIPPED + timedelta(days=most)) is InquiryAnswer.NORMAL_TRANSIT
    assert check_status(f, SHIPPED + timedelta(days=most + 1)) is InquiryAnswer.MAY_BE_LATE


def test_r_inq_3_arrived_at_destination_delivery_is_coming_soon_even_if_transport_was_abnormal():
    today = SHIPPED + timedelta(days=2)
    assert check_status(facts(arrived_at_destination=True), today) is InquiryAnswer.DELIVERY_SOON
    f = facts(arrived_at_destination=True, transport_normal=False)
    assert check_status(f, today) is InquiryAnswer.DELIVERY_SOON


def test_r_inq_3_not_arrived_and_transport_abnormal_possible_delay():
    assert check_status(facts(transport_normal=False), SHIPPED + timedelta(days=2)) is InquiryAnswer.TRANSPORT_ABNORMAL


def test_r_inq_3_not_arrived_transport_normal_tells_the_normal_transit_time():
    assert check_status(facts(), SHIPPED + timedelta(days=2)) is InquiryAnswer.NORMAL_TRANSIT


@pytest.mark.parametrize(
    "missing",
    [{"ship_date": None}, {"origin_province": None}, {"destination_province": None}],
)
def test_r_inq_2_an_unknown_transit_standard_is_taken_as_within_it(missing):
    long_after = SHIPPED + timedelta(days=100)
    assert check_status(facts(**missing), long_after) is InquiryAnswer.NORMAL_TRANSIT
    assert check_status(facts(**missing, arrived_at_destination=True), long_after) is InquiryAnswer.DELIVERY_SOON
    assert check_status(facts(), long_after) is InquiryAnswer.MAY_BE_LATE  # with all facts it would be late


def test_r_inq_nothing_known_is_normal_transit():
    assert check_status(ShipmentFacts(), date(2025, 1, 1)) is InquiryAnswer.NORMAL_TRANSIT


@given(
    origin=provinces,
    destination=provinces,
    ship=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    offset=st.integers(min_value=-10, max_value=4),
    arrived=st.booleans(),
    normal=st.booleans(),
)
def test_r_inq_2_property_never_may_be_late_within_the_transit_standard(origin, destination, ship, offset, arrived, normal):
    _, most = transit_days(origin, destination)
    today = ship + timedelta(days=min(offset, most))
    f = ShipmentFacts(
        ship_date=ship, origin_province=origin, destination_province=destination,
        arrived_at_destination=arrived, transport_normal=normal,
    )
    assert check_status(f, today) is not InquiryAnswer.MAY_BE_LATE
    assert check_status(f, ship + timedelta(days=most + 1)) is InquiryAnswer.MAY_BE_LATE


@given(
    origin=provinces,
    destination=provinces,
    days=st.integers(min_value=-10, max_value=1000),
    arrived=st.booleans(),
    normal=st.booleans(),
    signing=st.sampled_from(list(Signing) + [None]),
)
def test_r_inq_1_property_signed_always_answers_signed(origin, destination, days, arrived, normal, signing):
    f = ShipmentFacts(
        ship_date=SHIPPED, origin_province=origin, destination_province=destination, signed=True,
        signing=signing, arrived_at_destination=arrived, transport_normal=normal,
    )
    assert check_status(f, SHIPPED + timedelta(days=days)) is InquiryAnswer.SIGNED


# --- R-WB-2 one year from the ship date


def test_r_wb_2_day_365_is_the_anniversary_and_still_valid_day_366_is_not():
    ship = date(2025, 1, 10)
    assert inquiry_still_valid(ship, ship + timedelta(days=365))  # 2026-01-10, the anniversary
    assert not inquiry_still_valid(ship, ship + timedelta(days=366))


def test_r_wb_2_across_a_leap_day_the_anniversary_is_day_366():
    ship = date(2023, 3, 1)
    assert inquiry_still_valid(ship, date(2024, 3, 1))  # day 366
    assert not inquiry_still_valid(ship, date(2024, 3, 2))


def test_r_wb_2_a_29_february_ship_date_expires_after_28_february():
    ship = date(2024, 2, 29)
    assert inquiry_still_valid(ship, date(2025, 2, 28))
    assert not inquiry_still_valid(ship, date(2025, 3, 1))


def test_r_wb_2_valid_on_the_ship_date_and_before_it():
    assert inquiry_still_valid(SHIPPED, SHIPPED)
    assert inquiry_still_valid(SHIPPED, SHIPPED - timedelta(days=1))


@given(ship=st.dates(min_value=date(2000, 1, 1), max_value=date(2098, 12, 31)), days=st.integers(0, 800))
def test_r_wb_2_property_valid_exactly_up_to_about_one_year(ship, days):
    today = ship + timedelta(days=days)
    if days <= 364:
        assert inquiry_still_valid(ship, today)
    if days >= 367:
        assert not inquiry_still_valid(ship, today)
    # Once expired, it stays expired.
    if not inquiry_still_valid(ship, today):
        assert not inquiry_still_valid(ship, today + timedelta(days=1))
