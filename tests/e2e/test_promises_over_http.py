"""Issue 10 over HTTP on the real stack: ladders once per ticket, and an unreachable station still escalated.

The policy is product configuration in seconds on a 24x7 calendar, so the
7-day and 48-hour flows run in moments; the assertions rest on the instants
the workflow computed, not on how fast this machine runs.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import httpx
import pytest

from tests.e2e.conftest import make_stack
from tests.e2e.test_stack import ticket_body, until

pytestmark = pytest.mark.e2e

POLICY = """
version = "e2e-escalation"

[calendars.default]
timezone = "Asia/Shanghai"
hours = { daily = ["08:00-18:00"] }

[calendars.always]
timezone = "UTC"
hours = { daily = ["00:00-24:00"] }

[clocks]
reply_promise = "10 minutes"
callback = "10 minutes"
coordination_deadline = "4 working seconds on always"
callback_retry = "60 seconds"
loss_confirmation = "14 seconds"
dispatch_delivery = "3 seconds"

[carriers.best]
name = "Best Express"
waybill = '^\\d{12}$'

[[ladders]]
name = "ems"
start = "coordination_deadline"

[[ladders.tiers]]
rule = "R-ESC-1"
after = "0 seconds"
role = "provincial_cs_director"
template = "escalation"

[[ladders.tiers]]
rule = "R-ESC-2"
after = "2 working seconds on always"
role = "provincial_vp"
template = "escalation"

[[ladders.tiers]]
rule = "R-ESC-3"
after = "2 working seconds on always"
role = "hq_cs"
template = "escalation"
answer_within = "2 seconds"

[[ladders]]
name = "network"
start = "coordination_deadline"

[[ladders.tiers]]
rule = "R-ESC-6"
after = "0 seconds"
role = "network_manager"
template = "escalation"

[[ladders]]
name = "internal"
start = "dispatch"

[[ladders.tiers]]
rule = "R-CLK-9"
after = "5 seconds"
role = "team_lead"
template = "escalation"
answer_within = "3 seconds"

[[ladders.tiers]]
rule = "R-CLK-9"
after = "3 seconds"
role = "v_care"
template = "escalation"

[messages.templates]
escalation = "工单{ticket}(运单{waybill})站点{station}未按时反馈({rule}),请督办。"

[messages.station_unreachable]
rule = "R-ESC-6"
role = "network_manager"
template = "escalation"
"""

PEOPLE = [("provincial_cs_director", "shanghai", "13900000001"), ("provincial_vp", "shanghai", "13900000002"),
          ("hq_cs", "hq", "13900000003"), ("network_manager", "shanghai", "13900000006"),
          ("team_lead", "best", "13900000004"), ("v_care", "hq", "13900000005")]


async def _directory(http: httpx.AsyncClient) -> None:
    for role, scope, phone in PEOPLE:
        put = await http.put(f"/v1/directory/{role}/{scope}", json={"name": "值班", "phone": phone})
        assert put.status_code == 200, put.text


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_r_esc_5_a_silent_station_on_a_loss_ticket_texts_each_role_at_most_once(tmp_path):
    """R-ESC-1..6, R-CLK-9, R-LOSS-1/2: every ladder walks while the station is silent; each role is texted
    once (the network manager's R-LOSS-1 request is the R-ESC-6 one), nothing after the confirmation."""
    stack = make_stack(tmp_path, f"sqlite:///{tmp_path / 'data' / 'parcelcare.db'}", POLICY)
    stack.start()
    try:
        async with httpx.AsyncClient(base_url=stack.api, timeout=30, headers=stack.auth) as http:
            await _directory(http)
            body = ticket_body("E2E-SILENT", kind="loss", station_province="shanghai", origin_station="E2E-ORIGIN",
                               sender={"name": "李四", "phone": "13987654321"},
                               shipment={"ship_date": (date.today() - timedelta(days=2)).isoformat()},
                               claim_details={"contents": "books", "declared_value": "120.00", "packaging": "box",
                                              "freight": "12.00", "insured": False})
            opened = await http.post("/v1/tickets", json=body)
            assert opened.status_code == 201, opened.text
            tid = opened.json()["ticket_id"]
            view = await until(http, tid, lambda v: v["status"] == "awaiting_claim", timeout=120)
            confirmed = next(s for s in view["steps"] if s["action"] == "loss_confirmed")
            # Let everything that could still be texted have its chance.
            view = await until(http, tid, lambda v: v["status"] == "awaiting_claim" and _at(v["steps"][-1]["at"])
                               < datetime.now(_at(confirmed["at"]).tzinfo) - timedelta(seconds=5), timeout=60)
            messages = (await http.get(f"/v1/tickets/{tid}/messages")).json()
    finally:
        stack.stop()
    roles = Counter(m["role"] for m in messages)
    assert set(roles) == {role for role, _, _ in PEOPLE}
    assert all(n == 1 for n in roles.values()), roles  # each role at most once: no second round, no repeat
    assert all(_at(m["requested_at"]) <= _at(confirmed["at"]) for m in messages)  # none after the confirmation
    escalated = [s for s in view["steps"] if s["action"] == "escalated"]
    assert len(escalated) == len(PEOPLE)


async def test_r_esc_6_an_unreachable_station_system_still_escalates_on_time(tmp_path):
    """The station system is down: the dispatch is recorded as undeliverable, the network manager told by
    directory, and the ladder still texts the director at the coordination deadline (R-ESC-1, R-ESC-6)."""
    stack = make_stack(tmp_path, f"sqlite:///{tmp_path / 'data' / 'parcelcare.db'}", POLICY,
                       PARCELCARE_STATION_GATEWAY="http", PARCELCARE_STATION_GATEWAY_URL="http://127.0.0.1:9")
    stack.start()
    try:
        async with httpx.AsyncClient(base_url=stack.api, timeout=30, headers=stack.auth) as http:
            await _directory(http)
            tid = (await http.post("/v1/tickets", json=ticket_body("E2E-DOWN", station_province="shanghai"))
                   ).json()["ticket_id"]
            view = await until(http, tid, lambda v: any(s["action"] == "dispatch_undelivered" for s in v["steps"])
                               and any(s["data"].get("rule") == "R-ESC-1" for s in v["steps"]), timeout=120)
            messages = (await http.get(f"/v1/tickets/{tid}/messages")).json()
    finally:
        stack.stop()
    coordination = next(d for d in view["deadlines"] if d["kind"] == "coordination")
    director = next(m for m in messages if m["role"] == "provincial_cs_director")
    assert _at(director["requested_at"]) >= _at(coordination["due_at"])  # at its instant, not before
    assert coordination["breached_at"] is not None  # the station never answered: a breach, on time
    assert [m["role"] for m in messages].count("network_manager") == 1
