"""The walk of `make demo` (issue 14): each kind driven to its end over the API, printing every step as the
ticket records it, so a newcomer sees the 48-hour and 7-day flows in minutes under policy/demo.toml.

Each scenario answers what its ticket waits for, as the people around it would (the station, the agent, the
sender, the station head, the claims team), except where the scenario is about silence: the inquiry's
station says nothing until the whole escalation ladder has been texted, the loss's station never answers,
so the 7-day search (seconds here) confirms the loss and the claim is paid.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

SHANGHAI = ZoneInfo("Asia/Shanghai")
STATION = "SH-DEMO-01"
# Who is texted when (directory, R-ESC-1..6, R-CLK-9): made-up numbers, the local outbox shows the texts.
PEOPLE = [("provincial_cs_director", "shanghai", "13900000001"), ("provincial_vp", "shanghai", "13900000002"),
          ("hq_cs", "hq", "13900000003"), ("network_manager", "shanghai", "13900000006"),
          ("team_lead", "best", "13900000004"), ("v_care", "hq", "13900000005")]


def _escalated_to(view: dict, role: str) -> bool:
    return any(s["action"] == "escalated" and s["data"].get("role") == role for s in view["steps"])


@dataclass
class Scenario:
    title: str
    body: dict
    # What the ticket's people answer, by the status it waits in; a list is answered in turn.
    answers: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)
    # The station keeps silent while this holds (the scenario is about its silence).
    silent: Callable[[dict], bool] = lambda view: False


def scenarios(today: date) -> list[Scenario]:
    shipped = (today - timedelta(days=3)).isoformat()
    sender = {"name": "李四", "phone": "13987654321",
              "address": {"province": "浙江省", "city": "杭州市", "district": "西湖区", "detail": "文三路 90 号"}}
    base = {"carrier": "best", "waybill": "123456789012", "station": STATION, "station_province": "shanghai",
            "customer": {"name": "张三", "phone": "13812345678", "role": "recipient"}}
    reply = ("station-replies", {"station": STATION, "finding": "在网点,今日派送 / at the station, out today"})
    resolved = ("callbacks", {"outcome": "resolved", "note": "客户满意 / the customer is satisfied"})
    claims = {"contents": "两本书 / two books", "declared_value": "120.00", "packaging": "box", "freight": "12.00",
              "insured": False}
    return [
        Scenario("inquiry: the station stays silent, the whole ladder (R-ESC-1..6), then answers late",
                 {**base, "kind": "inquiry", "description": "包裹五天未送达 / not delivered after five days"},
                 {"awaiting_station": [reply], "awaiting_callback": [resolved]},
                 silent=lambda view: not _escalated_to(view, "hq_cs")),
        Scenario("loss: the 7-day search (R-CLK-5) finds nothing, the loss is confirmed and the claim paid",
                 {**base, "kind": "loss", "origin_station": "HZ-DEMO-02", "sender": sender,
                  "description": "包裹丢失 / parcel never arrived", "claim_details": claims,
                  "shipment": {"ship_date": shipped, "origin_province": "zhejiang",
                               "destination_province": "shanghai"}},
                 {"awaiting_claim": [("claim-decisions", {"outcome": "paid", "amount": "132.00"})]},
                 silent=lambda view: True),
        Scenario("damage: the offer of a re-shipment refused (R-DMG-4), the claim rejected",
                 {**base, "kind": "damage", "sender": sender, "description": "外箱破损 / box crushed",
                  "shipment": {"ship_date": shipped, "signed": True, "signing": "in_person_inspected"},
                  "claim_details": claims},
                 {"awaiting_station": [reply],
                  "awaiting_offer_answer": [("offer-answers", {"accepted": False, "note": "要赔偿 / wants money"})],
                  "awaiting_claim": [("claim-decisions", {"outcome": "rejected", "reason": "包装不当 / packaging"})],
                  "awaiting_callback": [resolved]}),
        Scenario("shortage: the station verifies one item missing, the customer takes the re-shipment (R-DMG-4)",
                 {**base, "kind": "shortage", "sender": sender, "description": "少了一件 / one item missing",
                  "shipment": {"ship_date": shipped, "signed": True, "signing": "in_person_inspected"},
                  "claim_details": claims},
                 {"awaiting_station": [("station-replies", {"station": STATION, "finding": "少件属实 / confirmed"})],
                  "awaiting_offer_answer": [("offer-answers", {"accepted": True, "note": "同意补发 / resend it"})]}),
        Scenario("change: a redirect the sender agrees to (R-CHG), arranged by the station",
                 {**base, "kind": "change", "sender": sender, "description": "改址 / a new address",
                  "change": {"action": "redirect", "details": "上海市浦东新区张江路 100 号"}},
                 {"awaiting_sender": [("sender-decisions", {"agreed": True})], "awaiting_station": [reply],
                  "awaiting_callback": [resolved]}),
        Scenario("service: the apology not accepted, the station head's penalty (R-SVC), a satisfied customer",
                 {**base, "kind": "service", "service_target": "courier", "description": "态度恶劣 / a rude courier"},
                 {"awaiting_callback": [("callbacks", {"outcome": "disputed", "note": "不接受道歉 / not accepted"}),
                                        resolved],
                  "awaiting_penalty": [("penalty-decisions", {"penalised": True, "decision": "罚款 / fined"})]}),
        Scenario("delay: the station answers, the agent calls back",
                 {**base, "kind": "delay", "description": "延误三天 / three days late",
                  "shipment": {"ship_date": shipped, "origin_province": "zhejiang",
                               "destination_province": "shanghai"}},
                 {"awaiting_station": [reply], "awaiting_callback": [resolved]}),
        Scenario("pickup: the reply promise runs from the call (R-CLK-1)",
                 {**base, "kind": "pickup", "description": "未上门揽收 / the courier never came"},
                 {"awaiting_station": [reply], "awaiting_callback": [resolved]}),
        Scenario("consult: answered and closed at once",
                 {**base, "kind": "consult", "consult_answer": "周日正常派送 / Sundays deliver",
                  "description": "周日是否派送 / deliveries on Sunday?"}),
    ]


class Walk:
    def __init__(self, http: httpx.Client, say: Callable[[str], None] = print, poll: float = 0.5) -> None:
        self.http = http
        self.say = say
        self.poll = poll

    def directory(self) -> None:
        for role, scope, phone in PEOPLE:
            self.http.put(f"/v1/directory/{role}/{scope}", json={"name": "值班", "phone": phone}
                          ).raise_for_status()

    def run(self, today: date | None = None, timeout: float = 600) -> dict[str, dict]:
        """Every scenario to its end, side by side; the final views by kind."""
        self.directory()
        running = {}
        for s in scenarios(today or datetime.now(SHANGHAI).date()):
            r = self.http.post("/v1/tickets", json=s.body)
            r.raise_for_status()
            running[r.json()["ticket_id"]] = (s, {k: list(v) for k, v in s.answers.items()}, [0])
            self.say(f"opened {r.json()['ticket_id']}  {s.title}")
        finals: dict[str, dict] = {}
        deadline = time.monotonic() + timeout
        while running and time.monotonic() < deadline:
            for tid, (s, answers, shown) in list(running.items()):
                view = self.http.get(f"/v1/tickets/{tid}").json()
                for step in view["steps"][shown[0]:]:
                    at = datetime.fromisoformat(step["at"]).astimezone(SHANGHAI).strftime("%H:%M:%S")
                    self.say(f"  {at}+08:00 {view['kind']:<8} {step['action']:<20} {step['note']}")
                shown[0] = len(view["steps"])
                if view["status"] == "closed":
                    finals[view["kind"]] = view
                    self.say(f"closed {tid} ({view['kind']}): {view.get('resolution')}")
                    del running[tid]
                    continue
                self._answer(tid, s, answers, view)
            time.sleep(self.poll)
        for tid, (s, _, _) in running.items():
            self.say(f"still running after {timeout:.0f}s: {tid} ({s.title})")
        return finals

    def _answer(self, tid: str, s: Scenario, answers: dict[str, list[tuple[str, dict]]], view: dict) -> None:
        status = view["status"]
        waiting = answers.get(status)
        if not waiting or (status == "awaiting_station" and s.silent(view)):
            return
        route, body = waiting[0] if len(waiting) == 1 else waiting.pop(0)
        r = self.http.post(f"/v1/tickets/{tid}/{route}", json=body)
        if r.status_code == 202:
            # Wait until the ticket has moved on, so one answer is given once.
            for _ in range(100):
                if self.http.get(f"/v1/tickets/{tid}").json()["status"] != status:
                    break
                time.sleep(0.1)
