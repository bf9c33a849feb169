"""Messages the flow sends: to a role through the directory, or to the customer (SPEC §5, §10).

v3: a message never holds up the flow. It goes out beside it, as a task of
the workflow; it is kept on the ticket (`pending_messages`) until settled, so
a run that continues as new sends it on under the same key (exactly once,
R-ESC-5). Its outcome is recorded on the ticket: sent, failed for good, or
fate unknown (ops release or cancel it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.messages import MessageActivities, MessageOutcome, MessageRequest, Withdrawal
    from domain.customer import CustomerRole
    from domain.deadlines import Deadline
    from domain.escalation import CUSTOMER, PARTY_ROLES, message_key, notice_key, reminder_for, render, scope_for
    from domain.policy import Notice
    from domain.steps import Action
    from domain.ticket import PendingMessage
    from workflows.runtime import TicketRuntime

_SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
_SEND_TIMEOUT = timedelta(seconds=60)  # a status query and a send, each with the driver's own timeout
_HEARTBEAT = timedelta(seconds=10)  # v3: a worker killed mid-send is noticed in seconds


class Messenger:
    def __init__(self, runtime: TicketRuntime) -> None:
        self.rt = runtime
        self._tasks: list[asyncio.Task[None]] = []

    async def notify(self, notice: Notice, key: str, purpose: str, **params: str) -> bool:
        """Send one message through the SMS activity and wait for it; a failure retrying cannot fix is
        recorded on the ticket for ops (nobody in the role, a refused template), never silently skipped."""
        return await self._outcome(notice, key, purpose, await self._send(notice, key, purpose, params))

    async def notify_unless(self, stopped: Callable[[], bool], notice: Notice, key: str, purpose: str,
                            **params: str) -> bool | None:
        """v8: `notify`, unless `stopped()` turns true while the message is still on its way (the provider
        down): then the send is cancelled and whatever had not gone out is withdrawn. None: withdrawn."""
        sending = workflow.start_activity_method(
            MessageActivities.send_message, self._request(notice, key, purpose, params),
            start_to_close_timeout=_SEND_TIMEOUT, heartbeat_timeout=_HEARTBEAT, retry_policy=_SEND_RETRY,
            # A provider call in flight ends before the withdrawal looks at what it left.
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            summary=f"{notice.rule}: SMS to {notice.role}")
        await workflow.wait_condition(lambda: sending.done() or stopped())
        if not sending.done():
            sending.cancel()
        try:
            outcome: MessageOutcome | str = await sending
        except ActivityError as err:
            if not isinstance(err.cause, CancelledError):
                outcome = getattr(err.cause, "message", None) or str(err.cause or err)
            else:
                withdrawn = await workflow.execute_activity_method(
                    MessageActivities.withdraw_message, Withdrawal(key=key, reason=f"{purpose}: no longer owed"),
                    start_to_close_timeout=_SEND_TIMEOUT, retry_policy=_SEND_RETRY,
                    summary=f"{notice.rule}: withdraw the SMS to {notice.role}")
                if not withdrawn.sent and not withdrawn.unknown:
                    return None
                outcome = MessageOutcome(sent=withdrawn.sent, unknown=withdrawn.unknown)
        return await self._outcome(notice, key, purpose, outcome)

    async def _outcome(self, notice: Notice, key: str, purpose: str, outcome: MessageOutcome | str) -> bool:
        if isinstance(outcome, str):
            await self.rt.step(Action.MESSAGE_FAILED, outcome, rule=notice.rule, role=notice.role, purpose=purpose)
            return False
        if outcome.unknown:
            await self._unknown(notice, key, purpose)
        return True

    def _request(self, notice: Notice, key: str, purpose: str, params: dict[str, str]) -> MessageRequest:
        t = self.rt.ticket
        values = {"ticket": t.ticket_id, "waybill": t.waybill or "-", "station": t.station, "kind": t.kind.value,
                  "rule": notice.rule, **params}
        template = self.rt.policy.messages.templates[notice.template]
        request = MessageRequest(
            key=key, ticket_id=t.ticket_id, purpose=purpose, role=notice.role,
            scope=scope_for(notice.role, t.station_province, t.carrier),
            phone=self.phone_of(notice.role),
            template=notice.template, params=values, text=render(template, values), requested_at=workflow.now(),
        )
        return request

    async def _send(self, notice: Notice, key: str, purpose: str, params: dict[str, str]) -> MessageOutcome | str:
        """The activity's outcome, or why it failed for good."""
        request = self._request(notice, key, purpose, params)
        try:
            return await workflow.execute_activity_method(
                MessageActivities.send_message, request, start_to_close_timeout=_SEND_TIMEOUT,
                heartbeat_timeout=_HEARTBEAT if self.rt.features.v3 else None,
                retry_policy=_SEND_RETRY, summary=f"{notice.rule}: SMS to {notice.role}",
            )
        except ActivityError as err:
            return getattr(err.cause, "message", None) or str(err.cause or err)

    def phone_of(self, role: str) -> str | None:
        """Whom a message to a person of the ticket goes to: the caller, the sender or the recipient (v4)."""
        t = self.rt.ticket
        if role == CUSTOMER:
            return t.customer.phone
        if role in PARTY_ROLES:
            return t.party(CustomerRole(role)).phone
        return None

    async def _unknown(self, notice: Notice, key: str, purpose: str) -> None:
        await self.rt.step(Action.MESSAGE_UNKNOWN, "the provider never said whether it went out: ops release or "
                           "cancel it (POST /v1/messages/{key}/release or /cancel)", rule=notice.rule,
                           role=notice.role, purpose=purpose, key=key)

    async def tell_customer(self, event: str, **params: str) -> None:
        """A message to the customer at a step the manuals name, if the policy has one for it. v4: the notice's
        role says whom of the ticket's people it is for (the caller, the sender, the recipient); a party whose
        phone the ticket does not know is not texted."""
        notice = self.rt.policy.messages.customer.get(event)
        if notice is None:
            return
        if self.rt.features.v4 and self.phone_of(notice.role) is None:
            return
        key = message_key(self.rt.ticket.ticket_id, CUSTOMER, event)
        if self.rt.features.v3:
            self.send_beside(notice, key, f"customer {event}", params, event=event)
        elif await self.notify(notice, key, f"customer {event}", **params):
            await self.rt.step(Action.MESSAGE_SENT, f"customer told: {event}", rule=notice.rule, message=event)

    async def remind(self, deadline: Deadline) -> None:
        """An internal wait passed its deadline: the role that owes the answer is reminded (v3)."""
        t = self.rt.ticket
        notice = reminder_for(self.rt.policy, deadline.kind.value)
        if notice is None:
            return
        await self.rt.step(Action.REMINDED, f"{notice.role} reminded: {deadline.rule} {deadline.kind.value} passed",
                           rule=deadline.rule, role=notice.role, deadline=deadline.kind.value)
        self.send_beside(notice, notice_key(t.ticket_id, notice.role, f"reminder-{deadline.kind.value}-"
                                                                          f"{deadline.round}"),
                         f"reminder: {deadline.kind.value}", {"what": deadline.kind.value})

    # --- beside the flow (v3) ---------------------------------------------------------------

    def send_beside(self, notice: Notice, key: str, purpose: str, params: dict[str, str] | None = None,
                    event: str | None = None) -> None:
        """Send without holding up the flow: kept on the ticket until settled, its outcome recorded."""
        if any(p.key == key for p in self.rt.ticket.pending_messages):
            return  # already on its way
        pending = PendingMessage(key=key, rule=notice.rule, role=notice.role, template=notice.template,
                                 purpose=purpose, params=params or {}, event=event)
        self.rt.ticket.pending_messages.append(pending)
        self._tasks.append(asyncio.create_task(self._settle(pending)))

    def resume(self) -> None:
        """After continue-as-new: the messages still on their way go on, under the same keys."""
        for pending in self.rt.ticket.pending_messages:
            self._tasks.append(asyncio.create_task(self._settle(pending)))

    @property
    def sending(self) -> bool:
        return bool(self.rt.ticket.pending_messages)

    async def _settle(self, pending: PendingMessage) -> None:
        notice = Notice(rule=pending.rule, role=pending.role, template=pending.template)
        outcome = await self._send(notice, pending.key, pending.purpose, pending.params)
        self.rt.ticket.pending_messages.remove(pending)
        if isinstance(outcome, str):
            await self.rt.step(Action.MESSAGE_FAILED, outcome, rule=pending.rule, role=pending.role,
                               purpose=pending.purpose)
            return
        if outcome.unknown:
            await self._unknown(notice, pending.key, pending.purpose)
            return
        what = f"customer told: {pending.event}" if pending.event else f"{pending.role} told: {pending.purpose}"
        await self.rt.step(Action.MESSAGE_SENT, what, rule=pending.rule,
                           **({"message": pending.event} if pending.event else {"role": pending.role}))
