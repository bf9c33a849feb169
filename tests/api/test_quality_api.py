"""Quality management through the real API (issue 15): a closed ticket's liability ruling (R-LIA-1..4,
R-CLK-8) accepted, appealed and arbitrated; the indicators (R-KPI-1..6) with the ticket ids behind them;
the scorecard's CSV import (R-KPI-8); who may answer a ruling."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import httpx

from activities.calendar import HolidaySource
from settings import load_policy
from tests.api.conftest import bearer, new_key, ticket_body

DETAIL = {"city": "上海市", "link": "delivery", "unit": "浦东张江投递部"}


async def _until(http, path: str, predicate, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        got = await http.get(path)
        body = got.json() if got.status_code == 200 else None
        if (body is not None and predicate(body)) or time.monotonic() > deadline:
            assert body is not None, f"{path}: {got.status_code} {got.text}"
            return body
        await asyncio.sleep(0.1)


async def _closed_ticket(http, station: str = "SH-PD-01") -> str:
    body = ticket_body(station=station, station_province="shanghai")
    tid = (await http.post("/v1/tickets", json=body, headers={"Idempotency-Key": new_key()})).json()["ticket_id"]
    await _until(http, f"/v1/tickets/{tid}", lambda v: v["status"] == "awaiting_station")
    assert (await http.post(f"/v1/tickets/{tid}/station-replies",
                            json={"station": station, "finding": "at the station"})).status_code == 202
    await _until(http, f"/v1/tickets/{tid}", lambda v: v["status"] == "awaiting_callback")
    assert (await http.post(f"/v1/tickets/{tid}/callbacks", json={"outcome": "resolved"})).status_code == 202
    await _until(http, f"/v1/tickets/{tid}", lambda v: v["status"] == "closed")
    return tid


async def test_r_lia_1_3_4_a_closed_ticket_is_ruled_appealed_and_upheld_by_arbitration(http, stack):
    tid = await _closed_ticket(http)
    ruling = await _until(http, f"/v1/rulings/{tid}", lambda r: r["unit_due_at"] is not None)
    assert ruling["state"] == "awaiting_unit" and ruling["station"] == "SH-PD-01" and ruling["province"] == "shanghai"
    # R-CLK-8: 5 working days on the policy's office calendar, from the instant the ruling was issued.
    policy = load_policy(stack.policy)
    issued = datetime.fromisoformat(ruling["issued_at"])
    expected = policy.deadline(issued, policy.clocks.liability_ruling, HolidaySource(None).rules())
    assert datetime.fromisoformat(ruling["unit_due_at"]) == expected

    # Arbitration before an appeal is refused; the appeal with reasons and evidence goes to HQ.
    assert (await http.post(f"/v1/rulings/{tid}/arbitration", json={"liable": False})).status_code == 409
    got = await http.post(f"/v1/rulings/{tid}/appeal", json={"reasons": "signed for", "evidence": ["pod-1.jpg"]})
    assert got.status_code == 202 and got.json()["state"] == "awaiting_unit"
    ruling = await _until(http, f"/v1/rulings/{tid}", lambda r: r["state"] == "in_arbitration")
    assert ruling["appeal"]["evidence"] == ["pod-1.jpg"] and ruling["arbitration_due_at"] is not None
    # The unit has answered: accepting now is a 409 naming why.
    refused = await http.post(f"/v1/rulings/{tid}/acceptance", json={"detail": DETAIL})
    assert refused.status_code == 409 and "in_arbitration" in refused.text
    # Liable without detail is refused (R-LIA-4: detailed down).
    assert (await http.post(f"/v1/rulings/{tid}/arbitration", json={"liable": True})).status_code == 422
    assert (await http.post(f"/v1/rulings/{tid}/arbitration",
                            json={"liable": True, "detail": DETAIL, "reasons": "no POD photo"})).status_code == 202
    ruling = await _until(http, f"/v1/rulings/{tid}", lambda r: r["state"] == "upheld")
    assert ruling["detail"] == DETAIL
    assert [e["action"] for e in ruling["events"]] == ["issued", "appealed", "upheld"]
    assert ruling["events"][1]["actor"].startswith("key:")  # from the credential

    # R-KPI-6: the appeal counts as invalid; its ticket id is behind the figure.
    month = datetime.fromisoformat(ruling["issued_at"]).astimezone(__import__("zoneinfo").ZoneInfo(
        "Asia/Shanghai")).strftime("%Y-%m")
    figures = (await http.get("/v1/quality/indicators", params={"period": month, "ids": "true"})).json()
    invalid = next(i for i in figures["indicators"] if i["name"] == "appeal_invalid")
    assert tid in invalid["overall"]["numerator_ids"] and tid in invalid["overall"]["denominator_ids"]
    assert invalid["rule"] == "R-KPI-6" and invalid["overall"]["numerator"] <= invalid["overall"]["denominator"]
    first = next(i for i in figures["indicators"] if i["name"] == "first_time_resolution")
    assert tid in first["overall"]["numerator_ids"]  # closed after one dispatch (R-KPI-2)
    listed = (await http.get("/v1/rulings", params={"state": "upheld", "station": "SH-PD-01"})).json()
    assert tid in [r["ticket_id"] for r in listed["items"]]


async def test_r_lia_2_an_accepted_ruling_is_detailed_and_another_stations_head_cannot_answer(app, http, issuer):
    tid = await _closed_ticket(http)
    await _until(http, f"/v1/rulings/{tid}", lambda r: r["unit_due_at"] is not None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as anyone:
        other = bearer(issuer.token("head-9", roles=["station_head"], stations=["SH-PD-09"]))
        ours = bearer(issuer.token("head-1", roles=["station_head"], stations=["SH-PD-01"]))
        got = await anyone.post(f"/v1/rulings/{tid}/acceptance", json={"detail": DETAIL}, headers=other)
        assert got.status_code == 404  # another station's ruling does not exist for it
        listed = (await anyone.get("/v1/rulings", headers=other)).json()
        assert tid not in [r["ticket_id"] for r in listed["items"]]
        got = await anyone.post(f"/v1/rulings/{tid}/acceptance", json={"detail": DETAIL}, headers=ours)
        assert got.status_code == 202
    ruling = await _until(http, f"/v1/rulings/{tid}", lambda r: r["state"] == "accepted")
    assert ruling["detail"] == DETAIL and ruling["events"][-1]["actor"] == "user:head-1"


async def test_r_kpi_8_the_scorecard_csv_import_takes_every_row_or_none(http):
    bad = "period,station,component,numerator,denominator\n2026-13,SH-PD-01,perfect_pod,9,10\n" \
          "2026-11,SH-PD-01,trace_speed,9,10\n2026-11,SH-PD-01,on_time_departure,11,10\n"
    got = await http.post("/v1/quality/scorecard-inputs", json={"csv": bad})
    assert got.status_code == 422
    msgs = [d["msg"] for d in got.json()["detail"]]
    assert [m.split(":")[0] for m in msgs] == ["line 2", "line 3", "line 4"]  # every problem at once
    good = "period,station,component,numerator,denominator\n2026-11,SH-QA-01,perfect_pod,9,10\n" \
           "2026-11,SH-QA-01,on_time_departure,19,20\n"
    got = await http.post("/v1/quality/scorecard-inputs", json={"csv": good})
    assert got.status_code == 200 and got.json() == {"imported": 2}
    card = (await http.get("/v1/quality/scorecard", params={"period": "2026-11"})).json()
    qa = next(s for s in card["stations"] if s["station"] == "SH-QA-01")
    parts = {c["name"]: c for c in qa["components"]}
    assert (parts["perfect_pod"]["numerator"], parts["perfect_pod"]["denominator"]) == (9, 10)
    assert parts["perfect_pod"]["score"] == "90.00" and qa["complete"] is False
    # customer service 90 (POD alone), delivery 95 (departure alone): 0.3 x 90 + 0.4 x 95 over 0.7 = 92.86
    assert qa["score"] == "92.86"
    assert card["weights"] == {"customer_service": "0.30", "delivery": "0.40", "complaints": "0.30"}


async def test_r_kpi_indicators_need_a_period_and_name_their_targets(http):
    got = await http.get("/v1/quality/indicators")
    assert got.status_code == 422
    found = (await http.get("/v1/quality/indicators", params={"period": "2026-W47"})).json()
    assert [i["rule"] for i in found["indicators"]] == [f"R-KPI-{n}" for n in range(1, 7)]
    targets = {i["name"]: (i["target"], i["at_most"]) for i in found["indicators"]}
    assert targets["feedback_48h"] == ("0.90", False) and targets["escalation"] == ("0", True)
    assert found["from"] == "2026-11-15T16:00:00Z"  # Monday 16 November 00:00 +08:00
