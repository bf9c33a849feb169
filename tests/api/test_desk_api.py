"""The desk over HTTP (issue 14): find, take, hand over, internal notes, on the real app (tests/api/conftest.py)."""

from __future__ import annotations

import asyncio
import time

from tests.api.conftest import bearer, new_key, ticket_body


async def _open(http, **overrides) -> str:
    r = await http.post("/v1/tickets", json=ticket_body(**overrides), headers={"Idempotency-Key": new_key()})
    assert r.status_code == 201, r.text
    return r.json()["ticket_id"]


async def _until(http, tid: str, predicate, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        view = (await http.get(f"/v1/tickets/{tid}")).json()
        if predicate(view) or time.monotonic() > deadline:
            return view
        await asyncio.sleep(0.05)


def _ids(r) -> list[str]:
    assert r.status_code == 200, r.text
    return [t["ticket_id"] for t in r.json()["items"]]


async def test_find_by_waybill_and_by_a_phone_written_as_a_person_types_it(http):
    waybill = str(time.time_ns())[-12:]
    tid = await _open(http, waybill=waybill, station="DESK-FIND",
                      sender={"name": "李四", "phone": "13987654321"})
    await _until(http, tid, lambda v: v["status"] == "awaiting_station")
    assert _ids(await http.get("/v1/tickets", params={"waybill": waybill})) == [tid]
    full_width = waybill.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})  # a Chinese IME's digits
    assert _ids(await http.get("/v1/tickets", params={"waybill": full_width})) == [tid]
    found = _ids(await http.get("/v1/tickets", params={"phone": "139 8765 4321", "station": "DESK-FIND"}))
    assert found == [tid]
    found = _ids(await http.get("/v1/tickets", params={"phone": "+86 139-8765-4321", "waybill": waybill}))
    assert found == [tid]
    r = await http.get("/v1/tickets", params={"phone": "139****4321"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "phone"]
    r = await http.get("/v1/tickets", params={"waybil": waybill})  # unknown parameters stay a 422
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "extra_forbidden"
    listed = (await http.get("/v1/tickets", params={"waybill": waybill})).json()["items"][0]
    assert listed["sender"]["phone"] == "+86139****4321"  # lists mask every party's phone


async def test_deadline_order_and_due_before(http):
    tid = await _open(http, station="DESK-SORT")
    view = await _until(http, tid, lambda v: v["status"] == "awaiting_station")
    owed = min(d["due_at"] for d in view["deadlines"] if d["met_at"] is None and d["breached_at"] is None)
    r = await http.get("/v1/tickets", params={"station": "DESK-SORT", "sort": "deadline", "overdue": "false",
                                              "due_before": "2999-01-01T00:00:00+08:00", "closed": "false"})
    assert _ids(r) == [tid]
    assert _ids(await http.get("/v1/tickets", params={"station": "DESK-SORT", "due_before": owed})) == []
    assert _ids(await http.get("/v1/tickets", params={"station": "DESK-SORT", "overdue": "true"})) == []
    assert _ids(await http.get("/v1/tickets", params={"station": "DESK-SORT", "breached": "false"})) == [tid]
    r = await http.get("/v1/tickets", params={"sort": "nearest"})
    assert r.status_code == 422


async def test_take_hand_over_and_my_queue_with_the_owner_from_the_credential(http, anonymous, issuer):
    one = bearer(issuer.token("desk-agent-1", roles=["agent"]))
    two = bearer(issuer.token("desk-agent-2", roles=["agent"]))
    lead = bearer(issuer.token("desk-lead", roles=["team_lead"]))
    tid = await _open(http, station="DESK-OWN")
    await _until(http, tid, lambda v: v["status"] == "awaiting_station")
    r = await anonymous.post(f"/v1/tickets/{tid}/take", headers=one)
    assert r.status_code == 200, r.text
    assert r.json()["owner"] == "user:desk-agent-1"
    # The step it recorded (a message sent beside the flow may be recorded after it).
    [taken] = [s for s in r.json()["steps"] if s["action"] == "taken"]
    assert taken["data"]["actor"] == "user:desk-agent-1"
    await _until(http, tid, lambda v: v["owner"] == "user:desk-agent-1")
    r = await anonymous.post(f"/v1/tickets/{tid}/take", headers=one)  # taken twice: nothing new to record
    assert r.status_code == 409 and "already with user:desk-agent-1" in r.json()["detail"][0]["msg"]
    assert _ids(await anonymous.get("/v1/tickets", params={"owner": "me"}, headers=one)) == [tid]
    assert _ids(await anonymous.get("/v1/tickets", params={"owner": "me"}, headers=two)) == []
    # Another agent cannot take it from them, by taking or by handing it over; a team lead can.
    r = await anonymous.post(f"/v1/tickets/{tid}/take", headers=two)
    assert r.status_code == 409 and "desk-agent-1" in r.json()["detail"][0]["msg"]
    r = await anonymous.post(f"/v1/tickets/{tid}/hand-over", json={"to": "user:desk-agent-2"}, headers=two)
    assert r.status_code == 409 and "desk-agent-1" in r.json()["detail"][0]["msg"]
    r = await anonymous.post(f"/v1/tickets/{tid}/hand-over", json={"to": "user:desk-agent-2"}, headers=lead)
    assert r.status_code == 200 and r.json()["owner"] == "user:desk-agent-2"
    [step] = [s for s in r.json()["steps"] if s["action"] == "handed_over"]
    assert (step["data"]["from"], step["data"]["actor"]) == ("user:desk-agent-1", "user:desk-lead")
    await _until(http, tid, lambda v: v["owner"] == "user:desk-agent-2")
    assert _ids(await anonymous.get("/v1/tickets", params={"owner": "me"}, headers=two)) == [tid]
    r = await anonymous.post(f"/v1/tickets/{tid}/hand-over", json={"to": "user:desk-agent-2"}, headers=two)
    assert r.status_code == 409 and "already" in r.json()["detail"][0]["msg"]
    # The body never names who takes: a made-up field is refused, and "to" must be an actor id.
    r = await anonymous.post(f"/v1/tickets/{tid}/hand-over", json={"to": "desk-agent-3"}, headers=two)
    assert r.status_code == 422
    r = await anonymous.post(f"/v1/tickets/{tid}/hand-over", json={"to": "user:x", "actor": "user:y"}, headers=two)
    assert r.status_code == 422


async def test_internal_notes_are_kept_on_the_ticket_and_its_steps_and_a_closed_ticket_refuses_them(
        http, anonymous, issuer):
    agent = bearer(issuer.token("desk-noter", roles=["agent"]))
    client = bearer(issuer.token("desk-crm", roles=["client"], carriers=["best"]))
    tid = await _open(http, station="DESK-NOTE")
    await _until(http, tid, lambda v: v["status"] == "awaiting_station")
    r = await anonymous.post(f"/v1/tickets/{tid}/notes", json={"text": "customer prefers calls after 18:00"},
                             headers=agent)
    assert r.status_code == 201, r.text
    assert r.json()["notes"][-1]["text"] == "customer prefers calls after 18:00"
    assert r.json()["notes"][-1]["actor"] == "user:desk-noter"
    recorded = await _until(http, tid, lambda v: any(s["action"] == "note_added" for s in v["steps"]))
    assert recorded["source"] == "record" and recorded["notes"][-1]["text"] == "customer prefers calls after 18:00"
    assert [s["data"]["text"] for s in recorded["steps"] if s["action"] == "note_added"] == [
        "customer prefers calls after 18:00"]
    assert (await anonymous.post(f"/v1/tickets/{tid}/notes", json={"text": "x"}, headers=client)).status_code == 403
    assert (await anonymous.post(f"/v1/tickets/{tid}/notes", json={"text": "  "}, headers=agent)).status_code == 422

    closed = await _open(http, kind="consult", consult_answer="answered at once", station="DESK-NOTE")
    await _until(http, closed, lambda v: v["status"] == "closed")
    r = await anonymous.post(f"/v1/tickets/{closed}/notes", json={"text": "too late"}, headers=agent)
    assert r.status_code == 409 and r.json()["detail"][0]["msg"].endswith("the ticket is closed")
    r = await anonymous.post(f"/v1/tickets/{closed}/take", headers=agent)
    assert r.status_code == 409
