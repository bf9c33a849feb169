"""What ops see of a ticket in the Temporal UI, in one place for the API (at open) and the workflow.

Search attributes are what ops filter on; they are not encrypted, so they
never hold names or phones. The summary is what ops read first; the details
say what the ticket waits for and until when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from temporalio import workflow
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)

with workflow.unsafe.imports_passed_through():
    from domain.kinds import Kind
    from domain.statuses import Status
    from domain.ticket import TicketFacts, TicketState

TICKET_KIND = SearchAttributeKey.for_keyword("TicketKind")
TICKET_STATUS = SearchAttributeKey.for_keyword("TicketStatus")
CARRIER = SearchAttributeKey.for_keyword("Carrier")
STATION = SearchAttributeKey.for_keyword("Station")
PROVINCE = SearchAttributeKey.for_keyword("Province")
URGENT = SearchAttributeKey.for_bool("Urgent")
ESCALATION_TIER = SearchAttributeKey.for_int("EscalationTier")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")
BREACHED = SearchAttributeKey.for_bool("Breached")
SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    TICKET_KIND, TICKET_STATUS, CARRIER, STATION, PROVINCE, URGENT, ESCALATION_TIER, NEXT_DEADLINE, BREACHED,
)
# What v1 upserted at every step, whether it had changed or not (kept for tickets started on v1).
_V1_EVERY_STEP: tuple[SearchAttributeKey[Any], ...] = (URGENT, BREACHED, ESCALATION_TIER, NEXT_DEADLINE)


def values(ticket: TicketState) -> dict[SearchAttributeKey[Any], Any]:
    """Every search attribute's value for the ticket as it is now; None means unset."""
    nearest = ticket.nearest_deadline()
    return {
        TICKET_KIND: ticket.kind.value, TICKET_STATUS: ticket.status.value, CARRIER: ticket.carrier,
        STATION: ticket.station, PROVINCE: ticket.station_province, URGENT: ticket.urgency.urgent,
        BREACHED: bool(ticket.breaches), ESCALATION_TIER: ticket.escalation_tier,
        NEXT_DEADLINE: nearest.due_at if nearest else None,
    }


def at_open(facts: TicketFacts) -> TypedSearchAttributes:
    """What a ticket's workflow starts with: the ticket just opened, nothing due, nothing breached."""
    opened: dict[SearchAttributeKey[Any], Any] = {
        TICKET_KIND: facts.kind.value, TICKET_STATUS: Status.OPEN.value, CARRIER: facts.carrier,
        STATION: facts.station, PROVINCE: facts.station_province, URGENT: facts.urgency.urgent,
        BREACHED: False, ESCALATION_TIER: 0,
    }
    return TypedSearchAttributes([SearchAttributePair(k, v) for k, v in opened.items() if v is not None])


def static_summary(kind: Kind, waybill: str | None, station: str, urgent: bool = False) -> str:
    """What ops read first in the Temporal UI; never names or phones."""
    parts = [f"{kind}{' (urgent)' if urgent else ''}", f"waybill {waybill}" if waybill else "no waybill",
             f"station {station}"]
    return " · ".join(parts)


def details(ticket: TicketState, waiting_for: str, timezone: str = "Asia/Shanghai") -> str:
    """The Markdown the UI shows as the ticket's current details: status, what it waits for now, every
    deadline still running with its instant in the carrier's time zone, breaches, escalation."""
    t = ticket
    zone = ZoneInfo(timezone)

    def at(instant: datetime) -> str:
        return instant.astimezone(zone).isoformat(timespec="minutes")

    lines = [f"**{t.kind.value}** ticket, status **{t.status.value}**" + (" · **urgent**" if t.urgency.urgent else "")]
    if t.status == Status.CLOSED:
        lines.append(f"Closed ({t.resolution}).")
    elif waiting_for:
        lines.append(f"Waiting for {waiting_for}.")
    running = sorted((d for d in t.deadlines if d.running), key=lambda d: d.due_at)
    if running and t.status != Status.CLOSED:
        lines.append("Pending deadlines:\n" + "\n".join(
            f"- {d.rule} {d.kind.value}, round {d.round}: due {at(d.due_at)}" for d in running))
        lines.append(f"Next deadline: {running[0].rule} {running[0].kind.value}, due {at(running[0].due_at)}")
    paused = [d for d in t.deadlines if d.paused]
    if paused:
        lines.append("Paused (waiting on the customer): " + ", ".join(f"{d.rule} {d.kind.value}" for d in paused))
    if t.breaches:
        lines.append("Breached: " + ", ".join(f"{b.rule} at {at(b.at)}" for b in t.breaches))
    if t.escalation_tier:
        lines.append(f"Escalation tier {t.escalation_tier} reached")
    return "\n\n".join(lines)


class Visibility:
    """Keeps a running ticket's search attributes current, upserting only what changed (v2).

    Search attributes carry over when a ticket continues as new, so what is
    shown starts from the run's own start attributes.
    """

    def __init__(self, only_changes: bool) -> None:
        self._only_changes = only_changes
        start = workflow.info().typed_search_attributes
        self._shown: dict[SearchAttributeKey[Any], Any] = {k: start.get(k) for k in SEARCH_ATTRIBUTES}

    def status_changed(self, ticket: TicketState) -> None:
        """v1 upserted the status the moment it changed; v2 shows it with the rest at the next sync."""
        if not self._only_changes:
            self._upsert({TICKET_STATUS: ticket.status.value})

    def sync(self, ticket: TicketState) -> None:
        now = values(ticket)
        if self._only_changes:
            changed = {k: v for k, v in now.items() if not _same(self._shown.get(k), v)}
        else:
            changed = {k: now[k] for k in _V1_EVERY_STEP}
        if changed:
            self._upsert(changed)

    def _upsert(self, changed: dict[SearchAttributeKey[Any], Any]) -> None:
        updates: list[SearchAttributeUpdate[Any]] = [
            k.value_unset() if v is None else k.value_set(v) for k, v in changed.items()
        ]
        workflow.upsert_search_attributes(updates)
        self._shown.update(changed)


def _same(shown: Any, now: Any) -> bool:
    if isinstance(shown, datetime) and isinstance(now, datetime):
        return shown == now  # aware instants compare across zones
    return bool(shown == now)
