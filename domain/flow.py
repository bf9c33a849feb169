"""The decisions of the flows of SPEC §6, each once: the workflow asks, never decides.

Inquiry back office (R-INQ-4): query the responsible station, call the
customer back with the result, record, close.
"""

from __future__ import annotations

from enum import StrEnum

from domain.acceptance import damage_acceptance, loss_acceptance
from domain.kinds import Kind
from domain.messages import CallbackOutcome, Message, ParcelStatus
from domain.shipment import InquiryAnswer, ShipmentFacts
from domain.statuses import Status


class NextStep(StrEnum):
    CLOSE = "close"
    REDISPATCH = "redispatch"  # the customer disputes: back to the station
    RETRY_CALLBACK = "retry_callback"  # unreachable: schedule another attempt
    CLAIM = "claim"  # a delay that needs compensation goes to claims (R-INQ-5)


_AFTER_CALLBACK = {
    CallbackOutcome.RESOLVED: NextStep.CLOSE,
    CallbackOutcome.DISPUTED: NextStep.REDISPATCH,
    CallbackOutcome.UNREACHABLE: NextStep.RETRY_CALLBACK,
}


def after_callback(kind: Kind, outcome: CallbackOutcome, compensation_needed: bool = False) -> NextStep:
    """R-INQ-4: resolved closes, a dispute goes back to the station, unreachable retries.
    R-INQ-5: a resolved delay complaint that needs compensation goes to claims instead of closing."""
    step = _AFTER_CALLBACK[outcome]
    if step == NextStep.CLOSE and kind == Kind.DELAY and compensation_needed:
        return NextStep.CLAIM
    return step


# Which messages a ticket in each status is waiting for; anything else is refused.
AWAITS: dict[Status, frozenset[Message]] = {
    Status.AWAITING_REVIEW: frozenset({Message.URGENT_REVIEW}),
    Status.AWAITING_STATION: frozenset({Message.STATION_REPLY, Message.STATION_ACK}),
    Status.AWAITING_CALLBACK: frozenset({Message.CALLBACK}),
    # R-CLK-1 paused: the agent may try again, or the customer may get in touch.
    Status.AWAITING_CUSTOMER: frozenset({Message.CALLBACK, Message.CUSTOMER_CONTACT}),
    Status.AWAITING_OFFER_ANSWER: frozenset({Message.OFFER_ANSWER}),
    Status.AWAITING_SENDER: frozenset({Message.SENDER_DECISION}),
    Status.AWAITING_PENALTY: frozenset({Message.PENALTY_DECISION}),
    Status.AWAITING_CLAIM: frozenset({Message.CLAIM_DECISION}),
}


def refusal(status: Status, message: Message) -> str | None:
    """Why a ticket in `status` cannot take `message` now, or None if it can."""
    if status == Status.CLOSED:
        return "the ticket is closed"
    expected = AWAITS.get(status, frozenset())
    if message in expected:
        return None
    if not expected:
        return f"the ticket is {status.value} and not waiting for a {message.words}"
    waiting = " or ".join(sorted(m.words for m in expected))
    return f"the ticket is waiting for a {waiting}, not a {message.words}"


def amend_refusal(status: Status, fields: set[str], claim_filed: bool) -> str | None:
    """Why an amendment (PATCH) cannot be taken now, or None if it can. Contact phone and
    description may change until the ticket closes; claim details and shipment facts only
    until the claim is filed, because the claims team works from what was filed."""
    if status == Status.CLOSED:
        return "the ticket is closed"
    if claim_filed and fields & {"claim_details", "shipment"}:
        return "the claim was already filed: claim details and shipment facts can no longer change"
    return None


# R-INQ-1..3: the front desk's answer, as the scripts of SPEC §10 and the manuals put it.
FRONT_DESK_ANSWERS = {
    InquiryAnswer.SIGNED: "the parcel is signed for: tell the customer who signed and when",
    InquiryAnswer.MAY_BE_LATE: "快件可能会延误1-2天,请您耐心等待。 (past the transit standard: may be 1-2 days late)",
    InquiryAnswer.DELIVERY_SOON: "the parcel is at the destination: delivery is coming soon",
    InquiryAnswer.TRANSPORT_ABNORMAL: "快件可能会延误1-2天,请您耐心等待。 (transport abnormal: possible 1-2 day delay)",
    InquiryAnswer.NORMAL_TRANSIT: "transport is normal: tell the customer the normal transit time",
}


# R-INQ-2/3: answers after which the customer is told the parcel may be 1-2 days late.
DELAY_ANSWERS = frozenset({InquiryAnswer.MAY_BE_LATE, InquiryAnswer.TRANSPORT_ABNORMAL})


def resolution_at_intake(kind: Kind, shipment: ShipmentFacts, front_desk_resolved: bool) -> tuple[str, str] | None:
    """The resolution (and why) a ticket closes with the moment it opens, or None: a consult is answered at
    once; an inquiry or delay whose caller accepted the front desk's answer (R-INQ-1..3); a loss or a damage
    the acceptance rules refuse (R-LOSS-4, R-DMG-1). The flows apply the same rules; the API answers the
    open with it, so a ticket closed at intake is never reported `open`."""
    if kind == Kind.CONSULT:
        return "answered", "answered at once"
    if kind in (Kind.INQUIRY, Kind.DELAY) and front_desk_resolved:
        return "answered_at_front_desk", "the customer accepted the front desk's answer"
    acceptance = (loss_acceptance(shipment) if kind == Kind.LOSS
                  else damage_acceptance(shipment.signing) if kind in (Kind.DAMAGE, Kind.SHORTAGE) else None)
    if acceptance is not None and not acceptance.accepted:
        return "not_accepted", acceptance.reason
    return None


def parcel_found(status: ParcelStatus | None) -> bool:
    """R-LOSS-3: any whereabouts but "not found" means the parcel was found."""
    return status is not None and status != ParcelStatus.NOT_FOUND


ACCEPTED_SCRIPT = "我已详细记录您的问题,稍后会安排相关人员尽快给您回电告知处理结果,请您耐心等待。"  # SPEC §10
APOLOGY_SCRIPT = (  # SPEC §10, R-SVC
    "虽然事出有因,但是作为服务公司,我们的工作人员没有很好地调整好自己的心态,给您造成的不便之处,请您原谅。"
)
COMPENSATION_TO_SENDER = "the company will compensate the sender"  # R-LOSS-5, told to the recipient


def claim_time_limit(window_days: int) -> str:
    """R-LOSS-5, R-DMG-3: what the sender is told of the claim time limit (R-CLK-6)."""
    return f"claims must be filed in writing within {window_days} days of the ship date"
