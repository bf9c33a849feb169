"""/metrics: the API's requests, latency and errors by route, and ticket counters from the record.

Ticket counters are read from the database at scrape time (the event log is the
one source of truth, whichever worker wrote it): tickets opened by kind,
deadlines breached by rule, escalations by ladder and tier, SMS by role and state.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select

from api.errors import RECORD_OUTAGES
from store.models import SmsMessageRow, TicketEventRow, TicketRow

HTTP = CollectorRegistry()
REQUESTS = Counter("parcelcare_http_requests", "HTTP requests by route and status", ["method", "route", "status"],
                   registry=HTTP)
LATENCY = Histogram("parcelcare_http_request_seconds", "HTTP request latency by route", ["method", "route"],
                    registry=HTTP)
ERRORS = Counter("parcelcare_http_errors", "HTTP responses with a 5xx status by route", ["method", "route"],
                 registry=HTTP)
UNHANDLED = Counter("parcelcare_http_unhandled_errors", "Unexpected errors answered with a 500 (see the logs "
                    "by correlation id), by route", ["method", "route"], registry=HTTP)
# Methods get a label of their own; any other (a scanner's made-up verb) is OTHER, so labels stay bounded.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

router = APIRouter(tags=["ops"])


def observe(method: str, route: str, status: int, seconds: float, unhandled: bool = False) -> None:
    """Count and time one answer under its route template (never the raw path: no ids), from the door."""
    method = method if method in _METHODS else "OTHER"
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)
    if status >= 500:
        ERRORS.labels(method, route).inc()
    if unhandled:
        UNHANDLED.labels(method, route).inc()


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
    # Alert on > 0: messages no provider would confirm or deny, waiting for ops to release or cancel (R-ESC-5).
    unknown = GaugeMetricFamily("parcelcare_sms_unknown", "SMS whose fate stayed unknown, waiting for ops "
                                "(POST /v1/messages/{key}/release or /cancel)")
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
            if key[0] == "deadline_breached":
                breached.add_metric([key[1]], n)
            else:
                escalated.add_metric(list(key[1:]), n)
        for role, state, n in await conn.execute(
            select(SmsMessageRow.role, SmsMessageRow.state, func.count())
            .group_by(SmsMessageRow.role, SmsMessageRow.state)
        ):
            sms.add_metric([role, state], n)
        unknown.add_metric([], (await conn.execute(
            select(func.count()).select_from(SmsMessageRow).where(SmsMessageRow.state == "unknown"))).scalar_one())
    return [opened, open_now, breached, escalated, sms, unknown]


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Always scrapeable: while the record is down the HTTP series (its 503s among them) are what ops need."""
    up = GaugeMetricFamily("parcelcare_record_up", "1 when the record answered this scrape, else 0")
    try:
        families = await ticket_metrics(request.app.state.store.engine)
        up.add_metric([], 1)
    except RECORD_OUTAGES:
        families = []
        up.add_metric([], 0)
    tickets = CollectorRegistry()
    tickets.register(_Snapshot([*families, up]))
    return Response(generate_latest(HTTP) + generate_latest(tickets), media_type=CONTENT_TYPE_LATEST)
