"""The Temporal worker: ticket workflows and their activities."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from datetime import timedelta

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from activities.adapters.station import HttpStationGateway, OutboxStationGateway, StationGateway
from activities.adapters.claims import ClaimsGateway, claims_gateway
from activities.adapters.sms import SmsGateway, sms_gateway
from activities.calendar import ClockActivities, HolidaySource
from activities.messages import MessageActivities
from activities.tickets import TicketActivities
from settings import Settings, configure_logging, connect_temporal, get_settings
from store.db import create_engine_for
from store.claims import ClaimStore
from store.directory import DirectoryStore
from store.messages import MessageStore
from store.repository import TicketStore
from workflows.ticket import SEARCH_ATTRIBUTES, TicketWorkflow

log = logging.getLogger("parcelcare.worker")


def station_gateway(settings: Settings, store: TicketStore) -> StationGateway:
    if settings.station_gateway == "http":
        if not settings.station_gateway_url:
            raise SystemExit("PARCELCARE_STATION_GATEWAY=http needs PARCELCARE_STATION_GATEWAY_URL")
        return HttpStationGateway(settings.station_gateway_url)
    return OutboxStationGateway(store)


async def register_search_attributes(client: Client) -> None:
    """Register the ticket search attributes; safe at every start (the server's own
    --search-attribute flag is ignored for a namespace that already exists)."""
    for key in SEARCH_ATTRIBUTES:  # one at a time, so one already there doesn't hide another missing
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=client.namespace,
                    search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type.value)},
                )
            )
        except RPCError as exc:
            if exc.status != RPCStatusCode.ALREADY_EXISTS:
                raise


@dataclass(frozen=True)
class Shell:
    """Everything the activities reach outside the workflow: stores and gateways."""

    store: TicketStore
    stations: StationGateway
    holidays: HolidaySource
    claims: ClaimsGateway
    claim_store: ClaimStore
    messages: MessageStore
    directory: DirectoryStore
    sms: SmsGateway
    sms_driver: str = "local"


def shell_for(settings: Settings, engine) -> Shell:
    store, claim_store = TicketStore(engine), ClaimStore(engine)
    return Shell(
        store=store, stations=station_gateway(settings, store), holidays=HolidaySource(settings.holidays),
        claims=claims_gateway(settings, claim_store), claim_store=claim_store, messages=MessageStore(engine),
        directory=DirectoryStore(engine), sms=sms_gateway(settings), sms_driver=settings.sms_driver,
    )


def build_worker(client: Client, task_queue: str, shell: Shell, grace: timedelta = timedelta(seconds=30)) -> Worker:
    acts = TicketActivities(shell.store, shell.stations, shell.claims, shell.claim_store)
    clock = ClockActivities(shell.holidays)
    messages = MessageActivities(shell.messages, shell.directory, shell.sms, shell.sms_driver)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[TicketWorkflow],
        activities=[acts.record_step, acts.dispatch_to_station, acts.file_claim, acts.record_claim_decision,
                    clock.compute_deadline, clock.extend_deadline, clock.local_date, messages.send_message],
        graceful_shutdown_timeout=grace,  # on SIGTERM, running activities get this long to finish
    )


def runtime_for(settings: Settings) -> Runtime | None:
    """The Temporal runtime with its Prometheus exporter (worker, workflow and activity metrics)."""
    if not settings.worker_metrics_port:
        return None
    return Runtime(telemetry=TelemetryConfig(
        metrics=PrometheusConfig(bind_address=f"{settings.metrics_host}:{settings.worker_metrics_port}")))


async def main() -> None:
    settings = get_settings()
    configure_logging(settings, "worker")
    client = await connect_temporal(settings, runtime_for(settings))
    engine = create_engine_for(settings.database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    grace = timedelta(seconds=settings.worker_grace_seconds)
    async with build_worker(client, settings.task_queue, shell_for(settings, engine), grace):
        log.info("worker polling task queue %s on %s", settings.task_queue, settings.temporal_address)
        await stop.wait()
    await engine.dispose()
    log.info("worker stopped")


if __name__ == "__main__":
    asyncio.run(main())
