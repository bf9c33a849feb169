"""History size of a ticket (run by `make bench`): events and bytes per plain inquiry, bytes per extra step.

A ticket's history must grow linearly with its steps: each step carries the
step and the fields it changed, never the whole ticket again. This runs real
inquiries on the dev server with the real worker and a SQLite record, one
plain lifecycle (open, station reply, callback) and then the same with k
extra steps (messages the ticket ignores, each recorded), and prints what
each extra step adds. The increments must be flat, not growing with k.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.adapters.claims import OutboxClaimsGateway
from activities.adapters.sms import LocalSmsGateway
from activities.adapters.station import OutboxStationGateway
from activities.calendar import HolidaySource
from domain.customer import Customer, CustomerRole
from domain.ids import workflow_id
from domain.kinds import Kind
from domain.messages import CallbackOutcome, CallbackReport, CustomerContact, StationReply
from domain.policy import Messaging, parse_policy
from domain.statuses import Status
from domain.ticket import TicketOpening
from store.claims import ClaimStore
from store.db import create_engine_for
from store.directory import DirectoryStore
from store.messages import MessageStore
from store.migrate import upgrade
from store.repository import TicketStore
from worker import Shell, build_worker
from workflows.ticket import TicketWorkflow
from workflows.visibility import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parents[1]
EXTRA_STEPS = (0, 25, 50, 100, 200)


def _opening(policy) -> TicketOpening:
    return TicketOpening(
        ticket_id=uuid.uuid4().hex[:16], kind=Kind.INQUIRY, carrier="best", waybill="123456789012",
        station="SH-PD-01", customer=Customer(name="张三", phone="+8613812345678", role=CustomerRole.RECIPIENT),
        description="where is my parcel", policy=policy, fingerprint="f" * 64, opened_on=date.today(),
    )


async def _status(handle: WorkflowHandle, status: Status) -> None:
    while (await handle.query(TicketWorkflow.view)).status != status:
        await asyncio.sleep(0.05)


async def lifecycle(client: Client, queue: str, policy, extra: int) -> tuple[int, int]:
    """One inquiry from open to closed with `extra` ignored messages; its (events, history bytes)."""
    opening = _opening(policy)
    handle = await client.start_workflow(TicketWorkflow.run, opening, id=workflow_id(opening.ticket_id),
                                         task_queue=queue)
    await _status(handle, Status.AWAITING_STATION)
    for n in range(extra):  # sequential: one recorded step each, like people writing in over days
        await handle.signal(TicketWorkflow.customer_contacted, CustomerContact(note=f"still waiting {n}"))
    while sum(s.action == "message_ignored" for s in (await handle.query(TicketWorkflow.view)).steps) < extra:
        await asyncio.sleep(0.05)
    await handle.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="on the van"))
    await _status(handle, Status.AWAITING_CALLBACK)
    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED))
    await handle.result()
    history = await handle.fetch_history()
    return len(history.events), sum(e.ByteSize() for e in history.events)


async def main() -> None:
    text = (ROOT / "policy" / "default.toml").read_text().replace('holidays = "cn"', 'holidays = "none"')
    policy = parse_policy(text).model_copy(update={"ladders": [], "messages": Messaging()})
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=pydantic_data_converter, search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=["--log-level", "error"],
    )
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        engine = create_engine_for(url)
        store, claims = TicketStore(engine), ClaimStore(engine)
        shell = Shell(store=store, stations=OutboxStationGateway(store), holidays=HolidaySource(None),
                      claims=OutboxClaimsGateway(claims), claim_store=claims, messages=MessageStore(engine),
                      directory=DirectoryStore(engine), sms=LocalSmsGateway())
        try:
            async with build_worker(env.client, "bench-history", shell):
                rows = [(k, *await lifecycle(env.client, "bench-history", policy, k)) for k in EXTRA_STEPS]
        finally:
            await engine.dispose()
            await env.shutdown()
    _, base_events, base_bytes = rows[0]
    print("History of one ticket (dev server, real activities; the workflow's own payloads, unencrypted)")
    print(f"  plain inquiry lifecycle: {base_events} events, {base_bytes / 1024:.1f} KiB")
    print(f"  {'extra steps':>12} {'events':>8} {'KiB':>9} {'bytes per extra step (this band)':>34}")
    previous = rows[0]
    for k, events, size in rows:
        band = "" if k == 0 else f"{(size - previous[2]) / (k - previous[0]):.0f}"
        print(f"  {k:>12} {events:>8} {size / 1024:>9.1f} {band:>34}")
        previous = (k, events, size)
    print("  (flat per-step bytes: history grows linearly; a step never carries the whole ticket again)")


if __name__ == "__main__":
    asyncio.run(main())
