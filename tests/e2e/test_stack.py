"""End to end over real HTTP: the dev server, the worker and the API as `make run` starts them."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.ticket import TicketWorkflow
from workflows.visibility import CARRIER, STATION, TICKET_KIND, TICKET_STATUS

pytestmark = pytest.mark.e2e


def ticket_body(station: str, **overrides) -> dict:
    body = {
        "kind": "inquiry", "carrier": "best", "waybill": "123456789012", "station": station,
        "customer": {"name": "张三", "phone": "13812345678", "role": "recipient"},
        "description": "parcel not delivered after five days",
    }
    return {**body, **overrides}


async def until(http: httpx.AsyncClient, ticket_id: str, predicate, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        view = (await http.get(f"/v1/tickets/{ticket_id}")).json()
        if predicate(view):
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"ticket {ticket_id} never got there; last view: {json.dumps(view)[:2000]}")
        await asyncio.sleep(0.1)


async def _outbox_until(http: httpx.AsyncClient, station: str, predicate, timeout: float = 60) -> dict:
    """The station's first dispatch once it satisfies `predicate` (the record trails the workflow)."""
    deadline = time.monotonic() + timeout
    while True:
        dispatch = (await http.get(f"/v1/stations/{station}/dispatches")).json()["items"][0]
        if predicate(dispatch) or time.monotonic() > deadline:
            return dispatch
        await asyncio.sleep(0.1)


def reason(response) -> str:
    """The one reason a 4xx gives (every error body is {"detail": [{"loc", "msg", "type"}], …})."""
    [item] = response.json()["detail"]
    return item["msg"]


def _deadline(view: dict, kind: str, round: int | None = None) -> dict:
    """The newest deadline of `kind` (of `round`, if given) in a ticket's JSON view."""
    return [d for d in view["deadlines"] if d["kind"] == kind and (round is None or d["round"] == round)][-1]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def _replay(stack, ticket_id: str) -> None:
    """Replay the real run's history now, through the stack's codec. (Histories kept under tests/histories
    come from the time-skipping and plain dev-server runs: these are encrypted with a throwaway key.)"""
    client = await Client.connect(stack.temporal_address, data_converter=stack.data_converter())
    history = await client.get_workflow_handle(f"ticket-{ticket_id}").fetch_history()
    await Replayer(workflows=[TicketWorkflow], data_converter=stack.data_converter()).replay_workflow(history)


async def _no_pii_without_the_codec(stack, ticket_id: str) -> None:
    """Anyone without the codec sees ciphertext: no phone number or name in the raw history."""
    plain = await Client.connect(stack.temporal_address, data_converter=pydantic_data_converter)
    raw = (await plain.get_workflow_handle(f"ticket-{ticket_id}").fetch_history()).to_json()
    assert "13812345678" not in raw and "张三" not in raw and "\\u5f20\\u4e09" not in raw
    assert "binary/encrypted" in raw or "YmluYXJ5L2VuY3J5cHRlZA" in raw


async def test_inquiry_over_http_from_open_to_closed(sqlite_stack):
    """R-WB-1, R-REC-1, R-CLK-4, R-INQ-4 through the API, with a policy whose durations are seconds."""
    stack = sqlite_stack
    stack.start()
    station = "E2E-FLOW"
    async with httpx.AsyncClient(base_url=stack.api, timeout=30, headers=stack.auth) as http:
        # Intake refuses with every reason, and records nothing.
        bad = await http.post("/v1/tickets", json=ticket_body(
            station, waybill="12345", customer={"name": "张*", "phone": "138****5678", "role": "sender"}))
        assert bad.status_code == 422
        reasons = {tuple(d["loc"]): d["msg"] for d in bad.json()["detail"]}
        assert "not our waybill" in reasons[("body", "waybill")]
        assert ("body", "customer", "name") in reasons and ("body", "customer", "phone") in reasons
        assert (await http.post("/v1/tickets", content=b"{not json", headers={"content-type": "application/json"})).status_code == 422
        assert (await http.post("/v1/tickets", json=ticket_body(station, kind="parcel"))).status_code == 422
        assert (await http.get("/v1/tickets", params={"station": station})).json()["total"] == 0

        # Open, idempotently.
        key = {"Idempotency-Key": f"crm-{time.time_ns()}"}
        opened = await http.post("/v1/tickets", json=ticket_body(station), headers=key)
        assert opened.status_code == 201, opened.text
        ticket = opened.json()
        tid = ticket["ticket_id"]
        assert ticket["customer"]["phone"] == "+8613812345678" and "fingerprint" not in ticket
        again = await http.post("/v1/tickets", json=ticket_body(station), headers=key)
        assert again.status_code == 200 and again.json()["ticket_id"] == tid
        reused = await http.post("/v1/tickets", json=ticket_body(station, description="other"), headers=key)
        assert reused.status_code == 422 and "Idempotency-Key" in reused.text

        # Dispatched to the station's outbox; the station does not answer in time (R-CLK-4).
        view = await until(http, tid, lambda v: v["status"] == "awaiting_station")
        deadline = time.monotonic() + 60  # the dispatch is delivered beside the flow (v3): it may trail the status
        while not (outbox := (await http.get(f"/v1/stations/{station}/dispatches",
                                             params={"pending": True})).json())["items"]:
            assert time.monotonic() < deadline, "the dispatch never reached the station's outbox"
            await asyncio.sleep(0.1)
        assert [(d["ticket_id"], d["round"]) for d in outbox["items"]] == [(tid, 1)]
        coordination = _deadline(view, "coordination")
        assert _instant(outbox["items"][0]["due_at"]) == _instant(coordination["due_at"])
        view = await until(http, tid, lambda v: v["breaches"])
        assert view["breaches"][0]["kind"] == "coordination" and view["breaches"][0]["rule"] == "R-CLK-4"
        assert _instant(view["breaches"][0]["at"]) == _instant(coordination["due_at"])

        # Wrong messages: 409 with the reason, 404 for an unknown ticket; nothing recorded is lost.
        wrong = await http.post(f"/v1/tickets/{tid}/station-replies", json={"station": "ELSEWHERE", "finding": "?"})
        assert wrong.status_code == 409 and "E2E-FLOW" in reason(wrong)
        early = await http.post(f"/v1/tickets/{tid}/callbacks", json={"outcome": "resolved"})
        assert early.status_code == 409 and "waiting for a station ack or station reply" in reason(early)
        assert (await http.post("/v1/tickets/nope/callbacks", json={"outcome": "resolved"})).status_code == 404
        assert (await http.post(f"/v1/tickets/{tid}/callbacks", json={"outcome": "maybe"})).status_code == 422
        assert (await http.get("/v1/tickets/nope")).status_code == 404

        # The station takes the dispatch on (R-CLK-2: direct, within 2 working hours), then answers.
        ack = await http.post(f"/v1/tickets/{tid}/station-acks", json={"station": station, "note": "on it"})
        assert ack.status_code == 202
        acked = await until(http, tid, lambda v: v["steps"][-1]["action"] == "station_acknowledged")
        assert acked["steps"][-1]["data"]["rule"] == "R-CLK-2"
        # The record is written just after the workflow takes the step: read the outbox until it shows.
        dispatch = await _outbox_until(http, station, lambda d: d["acknowledged_at"] is not None)
        assert dispatch["route"] == "direct" and dispatch["answered_in_time"] is True
        again = await http.post(f"/v1/tickets/{tid}/station-acks", json={"station": station})
        assert again.status_code == 202  # recorded as ignored: already answered

        # The station answers; the customer cannot be reached (R-CLK-1 pauses), calls in (it resumes),
        # disputes the answer; back to the station; resolved.
        r = await http.post(f"/v1/tickets/{tid}/station-replies",
                            json={"station": station, "finding": "signed for at the door", "parcel_status": "delivered"})
        assert r.status_code == 202
        await until(http, tid, lambda v: v["status"] == "awaiting_callback")
        await http.post(f"/v1/tickets/{tid}/callbacks", json={"outcome": "unreachable"})
        paused = await until(http, tid, lambda v: v["steps"][-1]["action"] == "clock_paused")
        assert paused["status"] == "awaiting_customer"
        assert _deadline(paused, "reply")["pauses"][0]["resumed_at"] is None  # R-CLK-1, from the call
        wrong = await http.post(f"/v1/tickets/{tid}/station-replies", json={"station": station, "finding": "again"})
        assert wrong.status_code == 409 and "callback or customer contact" in reason(wrong)
        contact = await http.post(f"/v1/tickets/{tid}/customer-contacts", json={"note": "customer called in"})
        assert contact.status_code == 202
        resumed = await until(http, tid, lambda v: v["steps"][-1]["action"] == "clock_resumed")
        assert resumed["status"] == "awaiting_callback"
        assert (await http.post(f"/v1/tickets/{tid}/customer-contacts", json={})).status_code == 409
        disputed = await http.post(f"/v1/tickets/{tid}/callbacks", json={"outcome": "disputed", "note": "never got it"})
        assert disputed.status_code == 202
        # Editing the policy file changes new tickets only, never a running one.
        policy_file = Path(stack.env["PARCELCARE_POLICY"])
        policy_file.write_text(policy_file.read_text().replace('"4 working seconds on always"', '"1 working hours"'))
        second = (await http.post("/v1/tickets", json=ticket_body(station + "-2"))).json()
        second = await until(http, second["ticket_id"], lambda v: any(d["kind"] == "coordination" for d in v["deadlines"]))
        assert second["policy_version"] != view["policy_version"]
        assert second["policy_version"].startswith("e2e-seconds+")
        second_coordination = _deadline(second, "coordination")
        second_due = _instant(second_coordination["due_at"]) - _instant(second_coordination["started_at"])
        assert second_due >= timedelta(hours=1)  # on the default 08:00-18:00 calendar: at least an hour
        view = await until(http, tid, lambda v: v["dispatch_round"] == 2 and v["status"] == "awaiting_station")
        round2 = _deadline(view, "coordination", 2)
        assert _instant(round2["due_at"]) - _instant(round2["started_at"]) == timedelta(seconds=4)
        await http.post(f"/v1/tickets/{tid}/station-replies", json={"station": station, "finding": "found in the depot"})
        await until(http, tid, lambda v: v["status"] == "awaiting_callback")
        named = await http.post(f"/v1/tickets/{tid}/callbacks", json={"outcome": "resolved", "agent": "a17"})
        assert named.status_code == 422 and named.json()["detail"][0]["type"] == "from_credential"  # issue 12
        await http.post(f"/v1/tickets/{tid}/callbacks", json={"outcome": "resolved", "note": "delivered today"})
        final = await until(http, tid, lambda v: v["status"] == "closed")
        assert final["resolution"] == "resolved" and final["source"] == "record"
        # Every step names its actor: the development key for what was sent with it, the workflow for the rest.
        actors = {(s["action"], s["data"]["actor"]) for s in final["steps"]}
        assert ("opened", "key:dev-admin") in actors and ("closed", "key:dev-admin") in actors
        assert ("station_replied", "key:dev-admin") in actors and ("dispatched", "system") in actors
        assert all("actor" in s["data"] for s in final["steps"])
        actions = [s["action"] for s in final["steps"]]
        assert actions[:5] == ["opened", "status_checked", "customer_told", "dispatched", "deadline_breached"]
        assert actions[-1] == "closed" and actions.count("dispatched") == 2 and actions.count("opened") == 1
        assert ["callback_unreachable", "clock_paused", "clock_resumed", "callback_disputed"] == [
            a for a in actions if a in ("callback_unreachable", "clock_paused", "clock_resumed", "callback_disputed")]
        assert _deadline(final, "reply")["met_at"] is not None  # the customer heard back (R-CLK-1)
        closed = await http.post(f"/v1/tickets/{tid}/callbacks", json={"outcome": "resolved"})
        assert closed.status_code == 409 and "closed" in reason(closed)

        # The list (from the database) agrees with the live view.
        listed = (await http.get("/v1/tickets", params={"station": station, "status": "closed"})).json()
        assert listed["total"] == 1
        item = listed["items"][0]
        for k in ("ticket_id", "status", "deadlines", "breaches", "dispatch_round", "callback_attempts", "closed_at"):
            assert item[k] == final[k], k
        assert (await http.get("/v1/tickets", params={"opened_from": "2020-01-01T00:00:00"})).status_code == 422

    # Ops: the search attributes and summary are on the workflow, with no name or phone.
    client = await Client.connect(stack.temporal_address, data_converter=stack.data_converter())
    query = f"Station = '{station}' AND TicketStatus = 'closed'"
    for _ in range(100):  # visibility is eventually consistent
        found = [w.id async for w in client.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.1)
    assert found == [f"ticket-{tid}"]
    desc = await client.get_workflow_handle(f"ticket-{tid}").describe()
    sa = desc.typed_search_attributes
    assert (sa.get(TICKET_KIND), sa.get(CARRIER), sa.get(STATION), sa.get(TICKET_STATUS)) == ("inquiry", "best", station, "closed")
    assert await desc.static_summary() == f"inquiry · waybill 123456789012 · station {station}"
    assert "13812345678" not in str(desc.search_attributes) and "张三" not in str(desc.search_attributes)
    await _replay(stack, tid)
    await _no_pii_without_the_codec(stack, tid)

    assert stack.stop() == 0
    assert any("stopped temporal" in line for line in stack.output)


async def test_restart_resumes_a_waiting_ticket_and_fires_timers_that_fell_due(postgres_stack):
    """Stop everything with a ticket waiting on the station; its deadline passes while down (R-CLK-4)."""
    stack = postgres_stack
    station = "E2E-RESTART"
    stack.start()
    async with httpx.AsyncClient(base_url=stack.api, timeout=30, headers=stack.auth) as http:
        tid = (await http.post("/v1/tickets", json=ticket_body(station))).json()["ticket_id"]
        waiting = await until(http, tid, lambda v: v["status"] == "awaiting_station")
        assert waiting["breaches"] == []
    key = stack.key_file.read_text()
    assert stack.stop() == 0

    due = _instant(_deadline(waiting, "coordination")["due_at"])
    while datetime.now(due.tzinfo) < due:  # the deadline falls due while nothing runs
        await asyncio.sleep(0.2)

    stack.start()
    assert stack.key_file.read_text() == key  # the development key is made once: the same after a restart
    async with httpx.AsyncClient(base_url=stack.api, timeout=30, headers=stack.auth) as http:
        view = await until(http, tid, lambda v: v["breaches"])
        assert _instant(view["breaches"][0]["at"]) == due
        await http.post(f"/v1/tickets/{tid}/station-replies", json={"station": station, "finding": "on the van"})
        await until(http, tid, lambda v: v["status"] == "awaiting_callback")
        await http.post(f"/v1/tickets/{tid}/callbacks", json={"outcome": "resolved"})
        final = await until(http, tid, lambda v: v["status"] == "closed")
    assert [s["action"] for s in final["steps"]] == [
        "opened", "status_checked", "customer_told", "dispatched", "deadline_breached", "station_replied", "closed"]
    await _replay(stack, tid)
    assert stack.stop() == 0


async def test_loss_over_http_from_open_to_claim_paid(sqlite_stack):
    """R-LOSS-1, R-LOSS-2, R-LOSS-5, R-CLK-5, SPEC §7 through the API, with a seconds-long loss confirmation."""
    stack = sqlite_stack
    stack.start()
    station = "E2E-LOSS"
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    async with httpx.AsyncClient(base_url=stack.api, timeout=30, headers=stack.auth) as http:
        body = ticket_body(station, kind="loss", description="parcel never arrived", origin_station="E2E-ORIGIN",
                           sender={"name": "李四", "phone": "13987654321",
                                   "address": {"province": "浙江省", "city": "杭州市", "detail": "文三路 90 号"}},
                           shipment={"ship_date": (today - timedelta(days=3)).isoformat(),
                                     "origin_province": "zhejiang", "destination_province": "sichuan"},
                           claim_details={"contents": "two books", "declared_value": "120.00"})
        opened = await http.post("/v1/tickets", json=body)
        assert opened.status_code == 201, opened.text
        tid = opened.json()["ticket_id"]
        view = await until(http, tid, lambda v: v["status"] == "awaiting_station")
        assert view["deadlines"][0]["kind"] == "loss_confirmation"

        # Nobody finds it: the loss is confirmed, the origin station declares it, details are asked for.
        view = await until(http, tid, lambda v: v["status"] == "awaiting_claim_details", timeout=60)
        actions = [s["action"] for s in view["steps"]]
        assert "loss_confirmed" in actions
        asked = next(s for s in view["steps"] if s["action"] == "claim_details_requested")
        assert asked["data"]["missing"] == "packaging, freight, insured"
        purposes = [d["purpose"] for d in
                    (await http.get(f"/v1/stations/{station}/dispatches")).json()["items"]]
        assert purposes == ["verify"]  # the network manager is told by directory (R-LOSS-1)
        declared = (await http.get("/v1/stations/E2E-ORIGIN/dispatches")).json()["items"]
        assert [d["purpose"] for d in declared] == ["declare_loss"]  # by the origin station (R-LOSS-2)
        pending = (await http.get(f"/v1/stations/{station}/dispatches", params={"pending": True})).json()
        assert pending["items"] == []  # the search is over and the declaration needs no answer

        bad = await http.patch(f"/v1/tickets/{tid}", json={"phone": "138****0000"})
        assert bad.status_code == 422
        patched = await http.patch(f"/v1/tickets/{tid}", json={
            "claim_details": {"packaging": "envelope", "freight": "12.00", "insured": False}})
        assert patched.status_code == 200 and patched.json()["claim_details"]["packaging"] == "envelope"
        await until(http, tid, lambda v: v["status"] == "awaiting_claim")
        claim = (await http.get(f"/v1/claims/{tid}")).json()
        assert claim["details"]["contents"] == "two books" and claim["decided_at"] is None
        assert claim["claimant"]["role"] == "sender" and claim["queue"] == "team"  # R-LOSS-5
        late = await http.patch(f"/v1/tickets/{tid}", json={"claim_details": {"freight": "1.00"}})
        assert late.status_code == 409 and "already filed" in reason(late)

        wrong = await http.post(f"/v1/tickets/{tid}/claim-decisions", json={"outcome": "paid"})
        assert wrong.status_code == 422  # a paid claim needs its amount
        paid = await http.post(f"/v1/tickets/{tid}/claim-decisions", json={"outcome": "paid", "amount": "132.00"})
        assert paid.status_code == 202
        final = await until(http, tid, lambda v: v["status"] == "closed")
        assert final["resolution"] == "claim_paid" and final["claim_decision"]["amount"] == "132.00"
        assert (await http.get(f"/v1/claims/{tid}")).json()["outcome"] == "paid"
        status = await http.post("/v1/shipments/status-check", json={
            "ship_date": (today - timedelta(days=6)).isoformat(), "origin_province": "zhejiang",
            "destination_province": "sichuan"})
        assert status.json()["answer"] == "may_be_late" and status.json()["transit_days"] == [3, 4]
    await _replay(stack, tid)
    assert stack.stop() == 0


async def test_a_station_that_never_answers_walks_the_whole_ladder_over_http(ladder_stack):
    """R-ESC-1..5 with a seconds-long ladder: each tier texted once, HQ's answer breached, all in the messages."""
    stack = ladder_stack
    stack.start()
    station = "E2E-LADDER"
    async with httpx.AsyncClient(base_url=stack.api, timeout=30, headers=stack.auth) as http:
        for role, scope, phone in [("provincial_cs_director", "shanghai", "13900000001"),
                                   ("provincial_vp", "shanghai", "13900000002"), ("hq_cs", "hq", "13900000003")]:
            put = await http.put(f"/v1/directory/{role}/{scope}", json={"name": "值班", "phone": phone})
            assert put.status_code == 200, put.text
        tid = (await http.post("/v1/tickets", json=ticket_body(station, station_province="shanghai"))).json()["ticket_id"]
        view = await until(http, tid, lambda v: any(d["kind"] == "escalation_answer" and d["breached_at"]
                                                    for d in v["deadlines"]), timeout=60)
        tiers = [s["data"]["rule"] for s in view["steps"] if s["action"] == "escalated"]
        assert tiers == ["R-ESC-1", "R-ESC-2", "R-ESC-3"]
        messages = (await http.get(f"/v1/tickets/{tid}/messages")).json()
        assert [(m["role"], m["state"]) for m in messages] == [
            ("provincial_cs_director", "sent"), ("provincial_vp", "sent"), ("hq_cs", "sent")]
        assert all("****" in m["phone"] for m in messages) and "R-ESC-2" in messages[1]["text"]
        assert (await http.get("/v1/tickets/nope/messages")).status_code == 404

        # Ops: an urgent ticket elsewhere, then the questions ops ask of the Temporal UI.
        urgent = ticket_body("E2E-URGENT", station_province="zhejiang", shipment={"contents": "passport"})
        urgent_id = (await http.post("/v1/tickets", json=urgent)).json()["ticket_id"]
        await until(http, urgent_id, lambda v: v["status"] == "awaiting_review")
        assert (await http.get("/readyz")).json() == {"status": "ready"}
        metrics = (await http.get("/metrics")).text
        assert 'parcelcare_tickets_opened_total{kind="inquiry"} 2.0' in metrics
        assert 'parcelcare_escalations_total{ladder="ems",tier="3"} 1.0' in metrics
        assert 'parcelcare_deadlines_breached_total{rule="R-CLK-4"} 1.0' in metrics
        assert 'parcelcare_sms_total{role="hq_cs",state="sent"} 1.0' in metrics
        assert 'parcelcare_http_requests_total{method="POST",route="/v1/tickets",status="201"} 2.0' in metrics
        assert "13900000001" not in metrics and tid not in metrics  # no phones, no per-ticket labels
    async with httpx.AsyncClient(timeout=10) as plain:
        worker_metrics = (await plain.get(f"http://127.0.0.1:{stack.env['PARCELCARE_WORKER_METRICS_PORT']}/metrics")).text
    assert "temporal_" in worker_metrics  # the Temporal runtime's own worker metrics

    client = await Client.connect(stack.temporal_address, data_converter=stack.data_converter())
    async def ids(query: str) -> list[str]:
        for _ in range(100):  # visibility is eventually consistent
            found = sorted([w.id async for w in client.list_workflows(query)])
            if found:
                return found
            await asyncio.sleep(0.1)
        return []
    assert await ids("Province = 'shanghai' AND Breached = true AND EscalationTier >= 3 AND Urgent = false") == [
        f"ticket-{tid}"]
    assert await ids("Urgent = true AND Province = 'zhejiang' AND TicketStatus = 'awaiting_review'") == [
        f"ticket-{urgent_id}"]
    assert stack.stop() == 0
