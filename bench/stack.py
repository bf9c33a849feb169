"""The full stack against the bare engine (`make bench-stack`; issue 13). Prints figures, asserts nothing.

It starts its own stack on free ports exactly as `make run` does (devstack.py: the file-backed dev server,
the worker, the API), then, against that same Temporal server:

1. lifecycles/s, alternately: a bare ticket-shaped workflow (4 no-op activities, 2 signals, 2 timed waits)
   driven by a client, and an inquiry driven through the API as its clients drive it (open, wait for
   `awaiting_station`, station reply, wait for `awaiting_callback`, callback, wait for `closed`, re-reading
   the ticket every 0.5 s); the ratio full/bare of the summed rounds, so the machine's noise hits both;
2. the open's and the read's latency at a fixed open rate (default 50 opens/s for 60 s), and errors;
3. events and history bytes of one plain inquiry;
4. the worker's RSS idle and with N more tickets waiting on their station (default 2,000), per ticket.

    python bench/stack.py [--rounds 3] [--tickets 100] [--concurrency 25] [--rate 50] [--seconds 60]
                          [--waiting 2000] [--workers 1] [--api-processes 1] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from bench.bare import BareTicket, noop  # noqa: E402
from devstack import stack_ports  # noqa: E402
from domain.ids import workflow_id  # noqa: E402

POLL = 0.5  # how often a client re-reads a ticket


# --- the bare engine: the same shape as an inquiry, no product (bench/bare.py) ---------------------------

async def bare_lifecycle(client: Client, queue: str) -> None:
    handle = await client.start_workflow(BareTicket.run, id=f"bare-{uuid.uuid4().hex}", task_queue=queue)
    await handle.signal(BareTicket.reply)
    await handle.signal(BareTicket.callback)
    await handle.result()


# --- the full stack, driven over HTTP ----------------------------------------------------------------------

def ticket_body(station: str) -> dict:
    return {"kind": "inquiry", "carrier": "best", "waybill": "123456789012", "station": station,
            "customer": {"name": "张三", "phone": "13812345678", "role": "recipient"},
            "description": "parcel not delivered after five days"}


async def _until(http: httpx.AsyncClient, who: Callers, tid: str, status: str) -> None:
    while (await http.get(f"/v1/tickets/{tid}", headers=who.crm)).json().get("status") != status:
        await asyncio.sleep(POLL)


@dataclass
class Callers:
    crm: dict[str, str]
    station: dict[str, str]
    agent: dict[str, str]


async def stack_lifecycle(http: httpx.AsyncClient, who: Callers, station: str) -> str:
    r = await http.post("/v1/tickets", json=ticket_body(station), headers=who.crm)
    r.raise_for_status()
    tid = r.json()["ticket_id"]
    await _until(http, who, tid, "awaiting_station")
    (await http.post(f"/v1/tickets/{tid}/station-replies", json={"station": station, "finding": "on its way"},
                     headers=who.station)).raise_for_status()
    await _until(http, who, tid, "awaiting_callback")
    (await http.post(f"/v1/tickets/{tid}/callbacks", json={"outcome": "resolved"}, headers=who.agent)
     ).raise_for_status()
    await _until(http, who, tid, "closed")
    return tid


async def rate(n: int, concurrency: int, one) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def guarded(i: int) -> None:
        async with gate:
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(guarded(i) for i in range(n)))
    return n / (time.perf_counter() - started)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


async def fixed_rate_opens(http: httpx.AsyncClient, who: Callers, per_second: float, seconds: float) -> dict:
    opens: list[float] = []
    reads: list[float] = []
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        try:
            t0 = time.perf_counter()
            r = await http.post("/v1/tickets", json=ticket_body(f"BENCH-RATE-{i % 50}"), headers=who.crm)
            opens.append(time.perf_counter() - t0)
            if r.status_code != 201:
                errors += 1
                return
            t1 = time.perf_counter()
            g = await http.get(f"/v1/tickets/{r.json()['ticket_id']}", headers=who.crm)
            reads.append(time.perf_counter() - t1)
            errors += g.status_code != 200
        except httpx.HTTPError:  # counted, not fatal: the figure is how many went wrong
            errors += 1

    tasks = []
    start = time.perf_counter()
    for i in range(int(per_second * seconds)):
        await asyncio.sleep(max(0.0, start + i / per_second - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return {"opens": len(opens), "errors": errors, "achieved": len(opens) / (time.perf_counter() - start),
            "open_p50": pct(opens, 50), "open_p99": pct(opens, 99), "read_p50": pct(reads, 50),
            "read_p99": pct(reads, 99)}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def cached_tickets(http: httpx.AsyncClient, ports: list[int]) -> int:
    """Workflows in the workers' caches, from the SDK's own gauge on each worker's metrics port."""
    total = 0
    for port in ports:
        text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        total += sum(int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
                     if line.startswith("temporal_sticky_cache_size{"))
    return total


def children_named(parent: int, marker: bytes) -> list[int]:
    found = []
    for task in Path(f"/proc/{parent}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                if marker in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                    found.append(int(pid))
            except FileNotFoundError:
                continue
    return found


class Stack:
    """`make run`'s supervisor on free ports, its data in a temporary directory."""

    def __init__(self, data: Path, workers: int, apis: int, database_url: str | None) -> None:
        self.env = {**os.environ, "PARCELCARE_DATA_DIR": str(data),
                    **stack_ports(max(workers, apis)),
                    "PARCELCARE_WORKER_PROCESSES": str(workers), "PARCELCARE_API_PROCESSES": str(apis),
                    "PARCELCARE_LOG_LEVEL": "WARNING"}
        self.env.pop("PARCELCARE_DATABASE_URL", None)
        if database_url:  # unset: SQLite in the data directory, as `make run`
            self.env["PARCELCARE_DATABASE_URL"] = database_url
        self.data = data
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "devstack.py"], cwd=ROOT, env=self.env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        ready = threading.Event()
        lines: list[str] = []

        def pump() -> None:
            assert self.proc and self.proc.stdout
            for line in self.proc.stdout:
                lines.append(line)
                if "Press Ctrl-C" in line:
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(180):
            self.stop()
            raise SystemExit("the stack did not start:\n" + "".join(lines))

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.env['PARCELCARE_API_PORT']}"

    def key(self, name: str, *grants: str) -> dict[str, str]:
        """A key as a deployment hands one to each system (security.keys): the CRM opens and reads with
        a client key (phones masked, so no read of personal data to record), the station system answers
        with a station key, agents record callbacks with theirs."""
        out = self.data / f"{name}.key"
        subprocess.run([sys.executable, "-m", "security.keys", "create", "--name", name, *grants, "--out", str(out)],
                       cwd=ROOT, env=self.env, check=True, capture_output=True)
        return {"Authorization": f"Bearer {out.read_text().strip()}"}


async def history_size(stack: Stack, http: httpx.AsyncClient, who: Callers) -> tuple[int, int]:
    tid = await stack_lifecycle(http, who, "BENCH-HISTORY")
    client = await Client.connect(stack.env["PARCELCARE_TEMPORAL_ADDRESS"])
    history = await client.get_workflow_handle(workflow_id(tid)).fetch_history()
    return len(history.events), len(history.to_json().encode())


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="parcelcare-bench-") as tmp:
        stack = Stack(Path(tmp) / "data", args.workers, args.api_processes, args.database_url)
        stack.start()
        try:
            await measure(stack, args)
        finally:
            stack.stop()


async def measure(stack: Stack, args: argparse.Namespace) -> None:
    # Idle connections are dropped before uvicorn's 5 s keep-alive ends, so no request races a closing one.
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200, keepalive_expiry=2)
    client = await Client.connect(stack.env["PARCELCARE_TEMPORAL_ADDRESS"])
    record = "SQLite" if not args.database_url else args.database_url.split(":", 1)[0]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run; stack: "
          f"{args.workers} worker(s), {args.api_processes} API process(es), file-backed dev server, {record} record")
    who = Callers(crm=stack.key("bench-crm", "--role", "client", "--carrier", "best"),
                  station=stack.key("bench-stations", "--role", "station", "--station", "*"),
                  agent=stack.key("bench-agent", "--role", "agent"))
    async with httpx.AsyncClient(base_url=stack.api, timeout=60, limits=limits) as http, \
            Worker(client, task_queue="bench-bare", workflows=[BareTicket], activities=[noop]):
        # Warm both paths up (imports, connections, the worker's sandbox) before anything is timed.
        await rate(10, 10, lambda i: bare_lifecycle(client, "bench-bare"))
        await rate(10, 10, lambda i: stack_lifecycle(http, who, f"BENCH-WARM-{i}"))

        print(f"\nlifecycles/s, {args.rounds} alternating rounds of {args.tickets} at concurrency {args.concurrency}")
        bare_total = full_total = 0.0
        for r in range(1, args.rounds + 1):
            bare = await rate(args.tickets, args.concurrency, lambda i: bare_lifecycle(client, "bench-bare"))
            full = await rate(args.tickets, args.concurrency,
                              lambda i, r=r: stack_lifecycle(http, who, f"BENCH-{r}-{i % 20}"))
            bare_total, full_total = bare_total + bare, full_total + full
            print(f"  round {r}: bare engine {bare:6.2f}/s   full stack {full:6.2f}/s   ratio {full / bare:.2f}")
        if bare_total:  # --rounds 0 measures only the opens and the waiting tickets
            print(f"  overall ratio full/bare: {full_total / bare_total:.2f}")

        events, size = await history_size(stack, http, who)
        print(f"\none plain inquiry: {events} events, {size / 1024:.1f} KiB of history")

        print(f"\nopens at {args.rate}/s for {args.seconds}s (each followed by a GET of the ticket)")
        figures = await fixed_rate_opens(http, who, args.rate, args.seconds)
        print(f"  {figures['opens']} opens ({figures['achieved']:.1f}/s achieved), {figures['errors']} errors")
        print(f"  POST /v1/tickets p50 {figures['open_p50']:.1f} ms  p99 {figures['open_p99']:.1f} ms")
        print(f"  GET  /v1/tickets/{{id}} p50 {figures['read_p50']:.1f} ms  p99 {figures['read_p99']:.1f} ms")

        assert stack.proc is not None
        workers = children_named(stack.proc.pid, b"worker.py")
        metrics = [int(stack.env["PARCELCARE_WORKER_METRICS_PORT"]) + i for i in range(len(workers))]
        await asyncio.sleep(5)
        before = sum(rss_mib(p) for p in workers)
        waiting = int(figures["opens"])
        print(f"\nworker RSS with {waiting} tickets already waiting: {before:.0f} MiB, "
              f"{await cached_tickets(http, metrics)} in the workflow cache")
        failed = 0

        async def wait_one(i: int) -> None:
            nonlocal failed
            try:
                r = await http.post("/v1/tickets", json=ticket_body(f"BENCH-WAIT-{i % 50}"), headers=who.crm)
                failed += r.status_code != 201
            except httpx.HTTPError:
                failed += 1

        # In steps, with the cache's size beside each: RSS grows with the tickets in the cache, and the step's
        # own growth once the cache is full is what a further waiting ticket costs.
        steps, opened, last = 4, 0, before
        for step in range(1, steps + 1):
            batch = args.waiting * step // steps - opened
            await rate(batch, 50, lambda i, base=opened: wait_one(base + i))
            opened += batch
            await asyncio.sleep(10)  # let the worker settle every ticket into its wait
            now = sum(rss_mib(p) for p in workers)
            cached = await cached_tickets(http, metrics)
            print(f"worker RSS with {waiting + opened} waiting: {now:.0f} MiB, {cached} cached; this step "
                  f"{(now - last) * 1024 / batch:+.1f} KiB per ticket ({(now - before) * 1024 / opened:.1f} so far)")
            last = now
        if failed:
            print(f"  ({failed} of these opens failed)")
        print("  (the workflow cache holds at most PARCELCARE_WORKER_MAX_CACHED_WORKFLOWS tickets, 1,000 by default; "
              "the rest wait on the server and cost the worker nothing until they wake)")

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tickets", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=25)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--waiting", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--api-processes", type=int, default=1)
    parser.add_argument("--database-url", default=None, help="the record (empty database); default SQLite")
    asyncio.run(main(parser.parse_args()))
