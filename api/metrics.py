"""/metrics: the API's requests, latency and errors by route, and ticket counters from the record.

Ticket counters are read from the database at scrape time (the event log is the
one source of truth, whichever worker wrote it): tickets opened by kind,
deadlines breached by rule, escalations by ladder and tier, SMS by role and state.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select

from store.models import SmsMessageRow, TicketEventRow, TicketRow

HTTP = CollectorRegistry()
REQUESTS = Counter("parcelcare_http_requests", "HTTP requests by route and status", ["method", "route", "status"],
                   registry=HTTP)
LATENCY = Histogram("parcelcare_http_request_seconds", "HTTP request latency by route", ["method", "route"],
                    registry=HTTP)
ERRORS = Counter("parcelcare_http_errors", "HTTP responses with a 5xx status by route", ["method", "route"],
                 registry=HTTP)

router = APIRouter(tags=["ops"])


async def record_request(request: Request, call_next):
    """Middleware: count and time every request under its route template (never the raw path: no ids)."""
    started = time.perf_counter()
    response = await call_next(request)
    route = getattr(request.scope.get("route"), "path", "unmatched")
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
    if response.status_code >= 500:
        ERRORS.labels(request.method, route).inc()
    return response


class _Snapshot:
    def __init__(self, families) -> None:
        self._families = families

    def collect(self):
        return self._families


async def ticket_metrics(engine) -> list:
    opened = CounterMetricFamily("parcelcare_tickets_opened", "Tickets opened, by kind", labels=["kind"])
    open_now = GaugeMetricFamily("parcelcare_tickets_by_status", "Tickets now in each status", labels=["status"])
    breached = CounterMetricFamily("parcelcare_deadlines_breached", "Deadlines breached, by rule", labels=["rule"])
    escalated = CounterMetricFamily("parcelcare_escalations", "Escalation messages, by ladder and tier",
                                    labels=["ladder", "tier"])
    sms = CounterMetricFamily("parcelcare_sms", "SMS by role and state", labels=["role", "state"])
    async with engine.connect() as conn:
        for kind, n in await conn.execute(select(TicketRow.kind, func.count()).group_by(TicketRow.kind)):
            opened.add_metric([kind], n)
        for status, n in await conn.execute(select(TicketRow.status, func.count()).group_by(TicketRow.status)):
            open_now.add_metric([status], n)
        counts: dict[tuple, int] = {}
        rows = await conn.execute(select(TicketEventRow.action, TicketEventRow.data)
                                  .where(TicketEventRow.action.in_(["deadline_breached", "escalated"])))
        for action, data in rows:
            key = (action, data.get("rule", "")) if action == "deadline_breached" else \
                (action, data.get("ladder", ""), data.get("tier", ""))
            counts[key] = counts.get(key, 0) + 1
        for key, n in sorted(counts.items()):
            (breached.add_metric([key[1]], n) if key[0] == "deadline_breached" else escalated.add_metric(list(key[1:]), n))
        for role, state, n in await conn.execute(
            select(SmsMessageRow.role, SmsMessageRow.state, func.count()).group_by(SmsMessageRow.role, SmsMessageRow.state)
        ):
            sms.add_metric([role, state], n)
    return [opened, open_now, breached, escalated, sms]


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    tickets = CollectorRegistry()
    tickets.register(_Snapshot(await ticket_metrics(request.app.state.store.engine)))
    return Response(generate_latest(HTTP) + generate_latest(tickets), media_type=CONTENT_TYPE_LATEST)
