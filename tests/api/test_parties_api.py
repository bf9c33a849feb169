"""Parties, stations and truthful answers over HTTP (issues 11 and 14), on the real app (tests/api/conftest.py)."""

from __future__ import annotations

from tests.api.conftest import new_key, ticket_body
from tests.api.test_intake_api import open_ok, reasons


async def test_r_rec_1_both_parties_and_the_stations_are_kept_word_for_word(http):
    opened = await open_ok(
        http, origin_station="HZ-XH-02", delivery_station="SH-PD-01",
        sender={"name": "李四", "phone": "139 8765 4321",
                "address": {"province": "浙江省", "city": "杭州市", "district": "西湖区", "detail": "文三路 90 号 3 幢"}},
        recipient={"address": {"province": "上海市", "detail": "张江路 88 弄"}})
    assert opened["sender"] == {"name": "李四", "phone": "+8613987654321", "address": {
        "province": "浙江省", "city": "杭州市", "district": "西湖区", "detail": "文三路 90 号 3 幢"}}
    # The caller (the recipient) fills their own party's name and phone.
    assert opened["recipient"]["phone"] == opened["customer"]["phone"] and opened["recipient"]["name"] == "张三"
    assert (opened["origin_station"], opened["delivery_station"]) == ("HZ-XH-02", "SH-PD-01")


async def test_r_loss_5_r_loss_2_a_loss_needs_the_sender_and_its_origin_station_every_reason_at_once(http):
    r = await http.post("/v1/tickets", json=ticket_body(kind="loss"), headers={"Idempotency-Key": new_key()})
    assert r.status_code == 422
    why = reasons(r)
    assert "compensated to the sender" in why[("body", "sender")]
    assert "declares a confirmed loss" in why[("body", "origin_station")]


async def test_r_chg_a_change_asked_by_the_recipient_needs_the_senders_phone(http):
    r = await http.post("/v1/tickets", json=ticket_body(kind="change", change={"action": "return"}),
                        headers={"Idempotency-Key": new_key()})
    assert r.status_code == 422 and ("body", "sender", "phone") in reasons(r)


async def test_a_partys_bad_phone_is_a_422_that_says_whose(http):
    r = await http.post("/v1/tickets", json=ticket_body(sender={"phone": "+1 212 555 0100"}),
                        headers={"Idempotency-Key": new_key()})
    assert r.status_code == 422 and ("body", "sender", "phone") in reasons(r)


async def test_r_dmg_1_a_damage_refused_at_intake_answers_the_open_closed_not_open(http):
    """Issue 14: the open answers with the ticket's final status when the rules close it at intake."""
    opened = await open_ok(http, kind="damage", sender={"name": "李四", "phone": "13987654321"},
                           shipment={"signed": True, "signing": "in_person_uninspected"})
    assert opened["status"] == "closed" and opened["resolution"] == "not_accepted"
    assert "inspect" in opened["not_accepted_reason"]
