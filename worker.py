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
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.adapters.claims import ClaimsGateway, claims_gateway
from activities.adapters.sms import SmsGateway, sms_gateway
from activities.adapters.station import HttpStationGateway, OutboxStationGateway, StationGateway
from activities.calendar import ClockActivities, HolidaySource
from activities.messages import MessageActivities
from activities.quality import QualityActivities
from activities.tickets import TicketActivities
from schedules import ensure_schedules
from settings import Settings, configure_logging, connect_temporal, get_settings, load_policy
from store.claims import ClaimStore
from store.db import create_engine_for
from store.directory import DirectoryStore
from store.messages import MessageStore
from store.quality import QualityStore
from store.repository import TicketStore
from workflows.reports import QualityReportWorkflow
from workflows.resend import ResendMessageWorkflow
from workflows.ruling import RulingWorkflow
from workflows.ticket import TicketWorkflow
from workflows.visibility import SEARCH_ATTRIBUTES

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
    store, claim_store = TicketStore(engine, settings.phone_key), ClaimStore(engine)
    return Shell(
        store=store, stations=station_gateway(settings, store), holidays=HolidaySource(settings.holidays),
        claims=claims_gateway(settings, claim_store), claim_store=claim_store, messages=MessageStore(engine),
        directory=DirectoryStore(engine), sms=sms_gateway(settings), sms_driver=settings.sms_driver,
    )


@dataclass(frozen=True)
class Tuning:
    """How much one worker process takes on (settings.worker_*; README "Performance")."""

    max_cached_workflows: int = 1000
    max_concurrent_activities: int = 100
    max_concurrent_workflow_tasks: int = 100

    @classmethod
    def of(cls, settings: Settings) -> Tuning:
        return cls(settings.worker_max_cached_workflows, settings.worker_max_concurrent_activities,
                   settings.worker_max_concurrent_workflow_tasks)


# The sandbox re-imports every module a workflow uses that is not passed through, once per ticket it
# builds (a new ticket, or one replayed when it wakes beyond the cache): about 20 ms and a private copy of
# every class and function in memory for each cached ticket. Our workflow modules and the pure domain keep
# no state between tickets (module globals are constants), so they are imported once. The sandbox still
# guards built-ins (open, ...); the replay tests run the whole corpus in the full default sandbox, which
# also catches a `datetime.now()` or `random` slipped into workflow code.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows", "domain"))


def build_worker(client: Client, task_queue: str, shell: Shell, grace: timedelta = timedelta(seconds=30),
                 tuning: Tuning = Tuning()) -> Worker:
    acts = TicketActivities(shell.store, shell.stations, shell.claims, shell.claim_store)
    clock = ClockActivities(shell.holidays)
    messages = MessageActivities(shell.messages, shell.directory, shell.sms, shell.sms_driver)
    quality = QualityActivities(QualityStore(shell.store.engine), lambda: load_policy(get_settings().policy))
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[TicketWorkflow, ResendMessageWorkflow, RulingWorkflow, QualityReportWorkflow],
        activities=[acts.record_step, acts.dispatch_to_station, acts.file_claim, acts.record_claim_decision,
                    acts.hand_result_letter,
                    clock.compute_deadline, clock.extend_deadline, clock.local_date, messages.send_message,
                    messages.send_released, messages.withdraw_message,
                    quality.start_liability_ruling, quality.record_ruling, quality.store_report],
        workflow_runner=WORKFLOW_RUNNER,
        graceful_shutdown_timeout=grace,  # on SIGTERM, running activities get this long to finish
        # Bounded: tickets beyond it are evicted and replayed from history when they wake.
        max_cached_workflows=tuning.max_cached_workflows,
        max_concurrent_activities=tuning.max_concurrent_activities,
        max_concurrent_local_activities=tuning.max_concurrent_activities,
        max_concurrent_workflow_tasks=tuning.max_concurrent_workflow_tasks,
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
    engine = create_engine_for(settings.database_url, settings.db_pool_size, settings.db_max_overflow)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    grace = timedelta(seconds=settings.worker_grace_seconds)
    await ensure_schedules(client, settings.task_queue)  # the quality reports' Schedules (idempotent)
    async with build_worker(client, settings.task_queue, shell_for(settings, engine), grace, Tuning.of(settings)):
        log.info("worker polling task queue %s on %s", settings.task_queue, settings.temporal_address)
        await stop.wait()
    await engine.dispose()
    log.info("worker stopped")


if __name__ == "__main__":
    asyncio.run(main())
