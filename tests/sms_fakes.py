"""In-process SMS providers that behave like the real ones (test doubles; R-ESC-5).

What the real providers do, and the stand-ins here:

- Aliyun-like (`aliyun_like`): QuerySendDetails lists an accepted message shortly after acceptance,
  receipt or not (SendStatus 1 "waiting for the receipt"), so its silence after the grace denies.
  Here: listed `listed_after` seconds after acceptance.
- Tencent-like (`tencent_like`): PullSmsSendStatusByPhoneNumber lists a message only once the
  handset's receipt is in; a switched-off phone's message may never be listed. Here: listed once
  `deliver(key)` ran or `receipt_after` seconds passed; `switched_off` phones never get a receipt.
- Either can: lose the answer to a send it accepted ("lost_response": accepted, then the client times
  out), time out before accepting ("timeout_before_accept"), accept slowly ("slow": the call is in
  flight for `slow_seconds`, then answers), rate limit ("rate_limit"), refuse for good ("refuse").

Each send call takes the next word of `script` (default "ok"). `accepted` is what reached the handset
side: the count that must be exactly one per message.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta

from activities.adapters.sms import OutboundSms, SendResult, SmsError, SmsState


@dataclass
class Accepted:
    sms: OutboundSms
    at: float  # time.monotonic() of acceptance
    provider_id: str
    receipt: bool | None = None  # the handset's receipt: delivered, undelivered, none yet


@dataclass
class FakeSmsProvider:
    status_grace: timedelta
    status_denies: bool
    listed_after: float | None = 0.0  # seconds after acceptance it is listed; None: only once its receipt is in
    receipt_after: float | None = None  # seconds until a receipt arrives by itself; None: only by deliver()
    slow_seconds: float = 0.3
    switched_off: set[str] = field(default_factory=set)  # phones that never send a receipt
    script: deque[str] = field(default_factory=deque)
    accepted: list[Accepted] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # every send call's word, in order
    status_calls: int = 0

    def _accept(self, sms: OutboundSms) -> Accepted:
        found = Accepted(sms=sms, at=time.monotonic(), provider_id=f"p-{len(self.accepted) + 1}")
        self.accepted.append(found)
        return found

    async def send(self, sms: OutboundSms) -> SendResult:
        word = self.script.popleft() if self.script else "ok"
        self.calls.append(word)
        if word == "rate_limit":
            raise SmsError("isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控", retryable=True, retry_after=0.1)
        if word == "refuse":
            raise SmsError("isv.SMS_TEMPLATE_ILLEGAL", "template not approved", retryable=False)
        if word == "timeout_before_accept":
            raise TimeoutError("read timed out")  # the request never reached the provider
        if word == "slow":
            await asyncio.sleep(self.slow_seconds / 2)
            found = self._accept(sms)
            await asyncio.sleep(self.slow_seconds / 2)
            return SendResult(provider_id=found.provider_id, state=SmsState.SENT)
        found = self._accept(sms)
        if word == "lost_response":
            raise TimeoutError("read timed out")  # accepted; the answer never came back
        return SendResult(provider_id=found.provider_id, state=SmsState.SENT)

    def deliver(self, key: str, delivered: bool = True) -> None:
        for found in self.accepted:
            if found.sms.key == key:
                found.receipt = delivered

    def _receipt(self, found: Accepted) -> bool | None:
        if found.receipt is None and self.receipt_after is not None and found.sms.phone not in self.switched_off \
                and time.monotonic() - found.at >= self.receipt_after:
            found.receipt = True
        return found.receipt

    async def status(self, sms: OutboundSms) -> SendResult | None:
        self.status_calls += 1
        for found in self.accepted:
            if found.sms.key != sms.key:
                continue
            receipt = self._receipt(found)
            if self.listed_after is None and receipt is None:
                continue  # Tencent: not listed before its receipt
            if self.listed_after is not None and time.monotonic() - found.at < self.listed_after:
                continue  # Aliyun: not listed yet
            state = SmsState.SENT if receipt is None else SmsState.DELIVERED if receipt else SmsState.UNDELIVERED
            return SendResult(provider_id=found.provider_id, state=state)
        return None

    def sent(self, key: str) -> int:
        """How many times the message with this key reached the provider."""
        return sum(1 for found in self.accepted if found.sms.key == key)


def aliyun_like(grace: float = 1.0, listed_after: float = 0.2, **kw) -> FakeSmsProvider:
    return FakeSmsProvider(status_grace=timedelta(seconds=grace), status_denies=True, listed_after=listed_after, **kw)


def tencent_like(grace: float = 1.0, receipt_after: float | None = 0.2, **kw) -> FakeSmsProvider:
    return FakeSmsProvider(status_grace=timedelta(seconds=grace), status_denies=False, listed_after=None,
                           receipt_after=receipt_after, **kw)
