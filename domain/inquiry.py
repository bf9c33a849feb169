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


# Which message a ticket in each status is waiting for; anything else is refused.
AWAITS = {
    Status.AWAITING_STATION: "station_reply",
    Status.AWAITING_CALLBACK: "callback",
}


def refusal(status: Status, message: str) -> str | None:
    """Why a ticket in `status` cannot take `message` now, or None if it can."""
    if status == Status.CLOSED:
        return "the ticket is closed"
    expected = AWAITS.get(status)
    if expected == message:
        return None
    if expected is None:
        return f"the ticket is {status.value} and not yet waiting for a {message.replace('_', ' ')}"
    return f"the ticket is waiting for a {expected.replace('_', ' ')}, not a {message.replace('_', ' ')}"
