"""The back-office flow of an inquiry (SPEC §6, R-INQ-4).

Query the responsible station, call the customer back with the result,
record, close. What the callback's outcome leads to is decided here, once.
"""

from __future__ import annotations

from enum import StrEnum

from domain.ticket import CallbackOutcome, Status


class NextStep(StrEnum):
    CLOSE = "close"
    REDISPATCH = "redispatch"  # the customer disputes: back to the station
    RETRY_CALLBACK = "retry_callback"  # unreachable: schedule another attempt


_AFTER_CALLBACK = {
    CallbackOutcome.RESOLVED: NextStep.CLOSE,
    CallbackOutcome.DISPUTED: NextStep.REDISPATCH,
    CallbackOutcome.UNREACHABLE: NextStep.RETRY_CALLBACK,
}


def after_callback(outcome: CallbackOutcome) -> NextStep:
    """R-INQ-4: resolved closes, a dispute goes back to the station, unreachable retries."""
    return _AFTER_CALLBACK[outcome]


# Which messages a ticket in each status is waiting for; anything else is refused.
AWAITS = {
    Status.AWAITING_STATION: frozenset({"station_reply"}),
    Status.AWAITING_CALLBACK: frozenset({"callback"}),
    # R-CLK-1 paused: the agent may try again, or the customer may get in touch.
    Status.AWAITING_CUSTOMER: frozenset({"callback", "customer_contact"}),
}


def refusal(status: Status, message: str) -> str | None:
    """Why a ticket in `status` cannot take `message` now, or None if it can."""
    if status == Status.CLOSED:
        return "the ticket is closed"
    expected = AWAITS.get(status, frozenset())
    if message in expected:
        return None
    what = message.replace("_", " ")
    if not expected:
        return f"the ticket is {status.value} and not yet waiting for a {what}"
    waiting = " or ".join(sorted(m.replace("_", " ") for m in expected))
    return f"the ticket is waiting for a {waiting}, not a {what}"
