"""Escalation (SPEC §5) and messages: which ladders apply, who is addressed, what each message says.

Keys are deterministic, one per ticket, ladder and tier (v2 had the dispatch
round in them too), so a message is reserved once whatever rounds, retries,
restarts or replays happen (R-ESC-5). Feedback at any point stops every
ladder of the ticket for good (R-ESC-4); so do a confirmed loss, a filed
claim and the ticket closing.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from domain.policy import Ladder, Notice, Policy
from domain.statuses import Status
from domain.ticket import TicketState

HQ_SCOPE = "hq"
PROVINCIAL_ROLES = frozenset({"provincial_cs_director", "provincial_vp", "network_manager"})
HQ_ROLES = frozenset({"hq_cs", "v_care"})
CUSTOMER = "customer"  # the caller
PARTY_ROLES = frozenset({"sender", "recipient"})  # the parties a message may be addressed to (v4)


def ladders_for(policy: Policy, kind: str, urgent: bool) -> list[Ladder]:
    """The ladders that watch a dispatch of this ticket, by kind and urgency (policy, not code)."""
    return [
        ladder for ladder in policy.ladders
        if (not ladder.kinds or kind in ladder.kinds)
        and (ladder.when == "any" or (ladder.when == "urgent") == urgent)
    ]


def scope_for(role: str, province: str | None, carrier: str) -> str:
    """Whom a role means for this ticket: the assisting province's directors and network manager,
    HQ's departments, the carrier desk's team lead. An unknown province is a scope nobody holds,
    so the lookup fails visibly rather than texting the wrong province."""
    if role in PROVINCIAL_ROLES:
        return province or "unknown-province"
    if role in HQ_ROLES:
        return HQ_SCOPE
    return carrier


def message_key(ticket_id: str, *parts: object) -> str:
    return ":".join([ticket_id, *(str(p) for p in parts)])


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, params: Mapping[str, str]) -> str:
    """The message text; a placeholder with no value stays visible instead of failing the send."""
    return string.Formatter().vformat(template, (), _Lenient(params))


def masked_phone(phone: str | None) -> str | None:
    """Whom, not the number: +86138****5678 (phone numbers never in logs or lists in clear)."""
    if phone is None:
        return None
    return phone[:-8] + "****" + phone[-4:] if len(phone) > 8 else "****"


def escalation_stop(ticket: TicketState) -> str | None:
    """R-ESC-4: why no (further) escalation message may go out for this ticket, or None while it may."""
    if ticket.status == Status.CLOSED:
        return "the ticket is closed"
    if ticket.station_fed_back_at is not None:
        return "the station fed back (R-ESC-4)"
    if ticket.loss_confirmed_at is not None:
        return "the loss is confirmed (R-LOSS-2)"
    if ticket.claim_filed_at is not None:
        return "the claim is filed"
    return None


def ladder_key(ticket_id: str, ladder: str, tier: int) -> str:
    """R-ESC-5: a tier goes out at most once per ticket, whatever the dispatch rounds."""
    return message_key(ticket_id, ladder, f"t{tier}")


def notice_key(ticket_id: str, role: str, why: str) -> str:
    """A single notice to a role about this ticket (the network manager's assistance, a reminder)."""
    return message_key(ticket_id, why, role)


def reminder_for(policy: Policy, deadline_kind: str) -> Notice | None:
    """Who is reminded when an internal wait passes its deadline: the role that owes the answer."""
    return policy.messages.reminders.get(deadline_kind)
