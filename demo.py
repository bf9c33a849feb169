"""`make demo`: its own stack under policy/demo.toml (durations in seconds), each kind walked to its end while
every step is printed (demo_walk.py), then a handful of tickets left waiting on the desk, until Ctrl-C.

`python demo.py` alone opens only the desk's tickets on a stack already running (`make run`):

It talks to the API only, as a CRM and a station would, with the development key `make run` wrote
(`.data/dev-admin.key`, or the data directory's under PARCELCARE_DATA_DIR). Each run opens new tickets:

- an inquiry the station has answered, waiting for the agent's callback (the desk's callback form), taken by
  the development key and with an internal note;
- a delay and a pickup waiting for their station;
- a change asked by the recipient, waiting for the sender's decision (the sender-decision form);
- a damage, a loss and a service complaint, each in its manual's flow;
- a consult, answered and closed at once.

Waybills and phones are made up per run (valid formats), so the desk's search finds exactly this run's tickets.
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

STATION = "SH-PD-01"


def _phone() -> str:
    return f"139{random.randrange(10**7, 10**8)}"


def _waybill() -> str:
    return f"{random.randrange(10**11, 10**12)}"


def _sender() -> dict:
    return {"name": "李四", "phone": _phone(),
            "address": {"province": "浙江省", "city": "杭州市", "district": "西湖区", "detail": "文三路 90 号"}}


def tickets() -> list[tuple[str, dict]]:
    """What the demo opens: (what it shows, the open request)."""
    today = datetime.now(UTC).astimezone().date()
    shipped = (today - timedelta(days=3)).isoformat()
    base = {"carrier": "best", "station": STATION, "delivery_station": STATION,
            "customer": {"name": "张三", "phone": _phone(), "role": "recipient"}}

    def one(**fields) -> dict:
        return {**base, "waybill": _waybill(), "customer": {**base["customer"], "phone": _phone()}, **fields}

    return [
        ("inquiry: the station answered; waiting for your callback",
         one(kind="inquiry", description="包裹五天未送达 / parcel not delivered after five days")),
        ("delay: waiting for the station", one(kind="delay", description="延误三天 / three days late",
                                               shipment={"ship_date": shipped, "origin_province": "zhejiang",
                                                         "destination_province": "shanghai"})),
        ("pickup: waiting for the station", one(kind="pickup", description="快递员未上门揽收 / courier never came")),
        ("change: waiting for the sender's decision",
         one(kind="change", sender=_sender(), change={"action": "redirect", "details": "上海市浦东新区张江路 100 号"},
             description="收件人要求改址 / the recipient asks for a new address")),
        ("damage: the manual's acceptance and claim", one(
            kind="damage", sender=_sender(), description="外箱破损,物品损坏 / box crushed, contents broken",
            shipment={"ship_date": shipped, "signed": True, "signing": "in_person_inspected"},
            claim_details={"contents": "陶瓷杯 / ceramic mugs", "declared_value": "200.00"})),
        ("loss: the 7-day search (R-CLK-5)", one(
            kind="loss", sender=_sender(), origin_station="HZ-XH-02", description="包裹丢失 / parcel never arrived",
            shipment={"ship_date": shipped, "origin_province": "zhejiang", "destination_province": "sichuan"},
            claim_details={"contents": "两本书 / two books", "declared_value": "120.00"})),
        ("service: a complaint about a courier", one(kind="service", service_target="courier",
                                                     description="快递员态度恶劣 / a rude courier")),
        ("consult: answered and closed at once", one(kind="consult", consult_answer="周日正常派送 / Sundays deliver",
                                                     description="周日是否派送 / deliveries on Sunday?")),
    ]


class Demo:
    def __init__(self, http: httpx.Client, say: Callable[[str], None] = print) -> None:
        self.http = http
        self.say = say

    def open(self, body: dict) -> dict:
        r = self.http.post("/v1/tickets", json=body, headers={"Idempotency-Key": f"demo-{uuid.uuid4().hex}"})
        r.raise_for_status()
        return r.json()

    def until(self, ticket_id: str, status: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            view = self.http.get(f"/v1/tickets/{ticket_id}").json()
            if view["status"] == status or time.monotonic() > deadline:
                return view
            time.sleep(0.2)

    def run(self) -> list[dict]:
        opened = []
        for what, body in tickets():
            ticket = self.open(body)
            opened.append(ticket)
            self.say(f"  {ticket['ticket_id']}  {body['kind']:<8} waybill {body.get('waybill') or '-':<13} {what}")
        inquiry = opened[0]["ticket_id"]
        self.until(inquiry, "awaiting_station")
        self.http.post(f"/v1/tickets/{inquiry}/station-replies",
                       json={"station": STATION, "finding": "在网点,明天派送 / at the station, out tomorrow",
                             "parcel_status": "at_station"}).raise_for_status()
        self.until(inquiry, "awaiting_callback")
        self.http.post(f"/v1/tickets/{inquiry}/take").raise_for_status()
        self.http.post(f"/v1/tickets/{inquiry}/notes",
                       json={"text": "客户希望 18:00 后回电 / call back after 18:00"}).raise_for_status()
        return [self.http.get(f"/v1/tickets/{t['ticket_id']}").json() for t in opened]


# The demo's own stack: its data and ports beside `make run`'s, so both can run at once. A port set in the
# environment wins (PARCELCARE_DEMO_PORTS=env), for a machine where these are taken.
DEMO_PORTS = {"PARCELCARE_TEMPORAL_ADDRESS": "127.0.0.1:7240", "PARCELCARE_TEMPORAL_UI_PORT": "8240",
              "PARCELCARE_API_PORT": "8010", "PARCELCARE_CODEC_PORT": "8241", "PARCELCARE_WORKER_METRICS_PORT": "9470"}


def own_stack() -> int:
    """`make demo`: start the stack, walk every kind, leave the desk's tickets, keep serving until Ctrl-C."""
    import os
    import signal
    import subprocess
    from pathlib import Path

    from demo_walk import Walk

    root = Path(__file__).resolve().parent
    data = Path(os.environ.get("PARCELCARE_DATA_DIR", root / ".data")) / "demo"
    ports = DEMO_PORTS if os.environ.get("PARCELCARE_DEMO_PORTS") != "env" else \
        {k: os.environ.get(k, v) for k, v in DEMO_PORTS.items()}
    env = {**os.environ, **ports, "PARCELCARE_POLICY": "policy/demo.toml", "PARCELCARE_DATA_DIR": str(data)}
    env.pop("PARCELCARE_DATABASE_URL", None)
    print(f"Starting the demo stack (policy/demo.toml, data in {data}) ...", flush=True)
    stack = subprocess.Popen([sys.executable, "devstack.py"], cwd=root, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert stack.stdout is not None
    banner = []
    for line in stack.stdout:
        banner.append(line.rstrip())
        if "Press Ctrl-C" in line:
            break
    else:
        print("\n".join(banner))
        return 1
    base = f"http://127.0.0.1:{ports['PARCELCARE_API_PORT']}"
    key = (data / "dev-admin.key").read_text().strip()
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
            print("\nEvery kind, walked to its end (times in +08:00):", flush=True)
            Walk(http, lambda line: print(line, flush=True)).run()
            print("\nTickets left for the desk:")
            shown = Demo(http).run()
        print("\n".join(line for line in banner if line.startswith("  ")))
        print(f"\nThe desk:  {base}/desk   (sign in with the key in {data / 'dev-admin.key'})")
        print(f"A ticket:  {base}/desk/tickets/{shown[0]['ticket_id']}")
        print("Press Ctrl-C to stop the demo stack.", flush=True)
        stack.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if stack.poll() is None:
            stack.send_signal(signal.SIGINT)
            stack.wait(60)
    return 0


def main() -> int:
    if "--own-stack" in sys.argv[1:]:
        return own_stack()
    from settings import get_settings

    s = get_settings()
    base = f"http://{s.api_host}:{s.api_port}"
    if not s.dev_key_file.exists():
        print(f"no development key at {s.dev_key_file}: start the stack first (`make run` in another terminal)")
        return 1
    key = s.dev_key_file.read_text().strip()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        try:
            http.get("/healthz").raise_for_status()
        except httpx.HTTPError:
            print(f"the API does not answer at {base}: start the stack first (`make run` in another terminal)")
            return 1
        print(f"Opening demo tickets at {base} with the development key:")
        shown = Demo(http).run()
    print("\nNow:")
    for t in shown:
        print(f"  {t['ticket_id']}  {t['kind']:<8} {t['status']}")
    print(f"\nThe desk:          {base}/desk   (sign in with the key in {s.dev_key_file})")
    print(f"The callback form: {base}/desk/tickets/{shown[0]['ticket_id']}")
    print(f"A station's page:  {base}/stations/{STATION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
