"""Seed a data set for quality management through the API of a running stack (`make seed-quality`).

Tickets at three stations of two provinces, driven through their flows, their liability rulings accepted,
appealed and arbitrated, and the scorecard's imported inputs, so the indicators (R-KPI-1..6), the
scorecard and /reports show figures a person can check by hand from the ticket ids it prints.

    AUTH="Authorization: Bearer $(cat .data/dev-admin.key)" .venv/bin/python scripts/seed_quality.py [--wait 90]

The API is PARCELCARE_API_URL (default http://127.0.0.1:8000). Under the default policy the one ticket left
unanswered has deadlines still running (they count neither way); under policy/demo-seconds.toml
(`PARCELCARE_POLICY=policy/demo-seconds.toml make run`) `--wait 90` waits until it has breached them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

DETAIL = {"city": "上海市", "link": "delivery", "unit": "浦东张江投递部"}
STATIONS = {"SH-PD-01": "shanghai", "SH-MH-02": "shanghai", "HZ-XH-02": "zhejiang"}


def _auth() -> dict[str, str]:
    line = os.environ.get("AUTH", "")
    if not line:
        key = Path(os.environ.get("PARCELCARE_DATA_DIR", ".data")) / "dev-admin.key"
        if not key.exists():
            sys.exit("set AUTH='Authorization: Bearer <key>' (README: the development key) or run `make run` first")
        line = f"Authorization: Bearer {key.read_text().strip()}"
    name, _, value = line.partition(":")
    return {name.strip(): value.strip()}


class Seeder:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def call(self, method: str, path: str, expect: tuple[int, ...] = (200, 201, 202), **kw) -> dict:
        r = self.http.request(method, path, **kw)
        if r.status_code not in expect:
            sys.exit(f"{method} {path}: {r.status_code} {r.text}")
        return r.json()

    def until(self, path: str, predicate, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            r = self.http.get(path)
            if r.status_code == 200 and predicate(r.json()):
                return r.json()
            if time.monotonic() > deadline:
                sys.exit(f"{path}: not reached in {timeout:.0f} s (last {r.status_code} {r.text[:300]})")
            time.sleep(0.3)

    def open(self, station: str, route: str = "direct", kind: str = "inquiry", **extra) -> str:
        body = {"kind": kind, "carrier": "best", "waybill": "123456789012", "station": station,
                "station_province": STATIONS[station], "dispatch_route": route,
                "customer": {"name": "张三", "phone": "13812345678", "role": "recipient"},
                "description": "seeded by scripts/seed_quality.py", **extra}
        if kind == "consult":
            body.pop("waybill"), body.pop("dispatch_route")
        return self.call("POST", "/v1/tickets", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})["ticket_id"]

    def answered(self, tid: str, station: str, outcome: str = "resolved") -> None:
        self.until(f"/v1/tickets/{tid}", lambda v: v["status"] == "awaiting_station")
        self.call("POST", f"/v1/tickets/{tid}/station-acks", json={"station": station})
        self.call("POST", f"/v1/tickets/{tid}/station-replies", json={"station": station, "finding": "at the station"})
        self.until(f"/v1/tickets/{tid}", lambda v: v["status"] == "awaiting_callback")
        self.call("POST", f"/v1/tickets/{tid}/callbacks", json={"outcome": outcome})

    def ruling(self, tid: str) -> dict:
        return self.until(f"/v1/rulings/{tid}", lambda r: r["unit_due_at"] is not None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", type=float, default=0, help="seconds to wait for the open ticket's breaches")
    args = parser.parse_args()
    base = os.environ.get("PARCELCARE_API_URL", "http://127.0.0.1:8000")
    with httpx.Client(base_url=base, headers=_auth(), timeout=30) as http:
        s = Seeder(http)
        t = {}
        t["A"] = s.open("SH-PD-01")                       # direct, answered, resolved: first time
        s.answered(t["A"], "SH-PD-01")
        t["B"] = s.open("SH-PD-01", route="associated")   # associated, answered, resolved
        s.answered(t["B"], "SH-PD-01")
        t["C"] = s.open("SH-MH-02")                       # disputed once: dispatched twice
        s.answered(t["C"], "SH-MH-02", outcome="disputed")
        s.until(f"/v1/tickets/{t['C']}", lambda v: v["dispatch_round"] == 2)
        s.answered(t["C"], "SH-MH-02")
        # Who the escalation ladder texts in Zhejiang (R-ESC-1): ticket D reaches it once its deadline passes.
        s.call("PUT", "/v1/directory/provincial_cs_director/zhejiang", json={"name": "王五", "phone": "13900000001"})
        t["D"] = s.open("HZ-XH-02")                       # never answered: stays open
        t["E"] = s.open("HZ-XH-02", route="associated")   # answered, resolved; its ruling stays open
        s.answered(t["E"], "HZ-XH-02")
        t["F"] = s.open("SH-PD-01", kind="consult", consult_answer="营业时间 08:00-18:00")  # no dispatch: no ruling
        for name in "ABCE":
            s.until(f"/v1/tickets/{t[name]}", lambda v: v["status"] == "closed")

        # Rulings (R-LIA): A accepted; B appealed and upheld (an invalid appeal); C appealed and cancelled; E open.
        for name in "ABCE":
            s.ruling(t[name])
        s.call("POST", f"/v1/rulings/{t['A']}/acceptance", json={"detail": DETAIL})
        for name in "BC":
            s.call("POST", f"/v1/rulings/{t[name]}/appeal", json={"reasons": "签收正常", "evidence": ["pod.jpg"]})
            s.until(f"/v1/rulings/{t[name]}", lambda r: r["state"] == "in_arbitration")
        s.call("POST", f"/v1/rulings/{t['B']}/arbitration", json={"liable": True, "detail": DETAIL,
                                                                    "reasons": "no POD photo"})
        s.call("POST", f"/v1/rulings/{t['C']}/arbitration", json={"liable": False, "reasons": "force majeure"})
        s.until(f"/v1/rulings/{t['B']}", lambda r: r["state"] == "upheld")
        s.until(f"/v1/rulings/{t['C']}", lambda r: r["state"] == "cancelled")

        # The scorecard inputs the ticket system does not know (R-KPI-8), for this month.
        month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
        rows = ["period,station,component,numerator,denominator"]
        for station, (order, pod, departure, quantity, attitude) in {
                "SH-PD-01": (95, 90, 97, 99, 100), "SH-MH-02": (88, 80, 90, 96, 95), "HZ-XH-02": (92, 85, 99, 98, 90)
        }.items():
            for component, n in [("order_response", order), ("perfect_pod", pod), ("on_time_departure", departure),
                                 ("quantity_accuracy", quantity), ("courier_attitude", attitude)]:
                rows.append(f"{month},{station},{component},{n},100")
        s.call("POST", "/v1/quality/scorecard-inputs", json={"csv": "\n".join(rows) + "\n"})

        if args.wait:
            s.until(f"/v1/tickets/{t['D']}", lambda v: len(v["breaches"]) >= 2 and v["escalation_tier"] >= 1,
                    timeout=args.wait)

        print(f"Seeded {month} at {base}:")
        for name, tid in t.items():
            print(f"  {name} {tid}")
        curl = 'curl -H "$AUTH"'
        print(f"Indicators and their tickets: {curl} '{base}/v1/quality/indicators?period={month}&ids=true'")
        print(f"Scorecard:                    {curl} '{base}/v1/quality/scorecard?period={month}&ids=true'")
        print(f"Rulings:                      {curl} '{base}/v1/rulings'")
        print(f"The page:                     {base}/reports?period={month}  (paste the key into 访问令牌)")


if __name__ == "__main__":
    main()
