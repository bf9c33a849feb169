"""Exactly once (R-ESC-5) at the activity: reserved by key, asked of the provider before any resend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.adapters.sms import OutboundSms, SendResult, SmsError, SmsState
from activities.messages import MessageActivities, MessageRequest
from domain.directory import Contact, Role
from store.db import create_engine_for
from store.directory import DirectoryStore
from store.messages import MessageStore
from store.migrate import upgrade

NOW = datetime(2026, 11, 27, 11, tzinfo=UTC)


class Provider:
    """A scripted provider: what it accepted, and how its next call behaves."""

    def __init__(self) -> None:
        self.accepted: list[OutboundSms] = []
        self.script: list[str] = []  # "ok", "timeout_after_accept", "timeout_before_accept", "refuse", "throttle"
        self.status_grace = timedelta(0)
        self.status_denies = True

    async def send(self, sms: OutboundSms) -> SendResult:
        step = self.script.pop(0) if self.script else "ok"
        if step == "refuse":
            raise SmsError("isv.SMS_TEMPLATE_ILLEGAL", "template not approved", retryable=False)
        if step == "throttle":
            raise SmsError("isv.BUSINESS_LIMIT_CONTROL", "too many", retryable=True, retry_after=30)
        if step == "timeout_before_accept":
            raise TimeoutError("read timed out")
        self.accepted.append(sms)
        if step == "timeout_after_accept":
            raise TimeoutError("read timed out")
        return SendResult(provider_id=f"biz-{len(self.accepted)}", state=SmsState.SENT)

    async def status(self, sms: OutboundSms) -> SendResult | None:
        found = [s for s in self.accepted if s.key == sms.key]
        return SendResult(provider_id="biz-found", state=SmsState.SENT) if found else None


@pytest.fixture
async def stores(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = create_engine_for(url)
    directory = DirectoryStore(engine)
    await directory.put(Contact(role=Role.PROVINCIAL_CS_DIRECTOR, scope="shanghai", name="王主任",
                                phone="+8613900000001"), NOW)
    yield MessageStore(engine), directory
    await engine.dispose()


def _request(role="provincial_cs_director", scope="shanghai") -> MessageRequest:
    return MessageRequest(key="t1:ems:r1:t1", ticket_id="t1", purpose="ems round 1 tier 1 (R-ESC-1)", role=role,
                          scope=scope, template="escalation", params={"ticket": "t1"}, text="工单t1", requested_at=NOW)


async def _run(acts, request):
    return await ActivityEnvironment().run(acts.send_message, request)


async def test_r_esc_5_a_retried_send_sends_nothing_twice(stores):
    messages, directory = stores
    provider = Provider()
    acts = MessageActivities(messages, directory, provider, "aliyun")
    assert (await _run(acts, _request())).sent == 1
    assert (await _run(acts, _request())).sent == 1  # the activity retried after it had succeeded
    assert len(provider.accepted) == 1
    (record,) = await messages.for_ticket("t1")
    assert record.state == SmsState.SENT and record.provider_id == "biz-1" and record.attempts == 1


async def test_r_esc_5_after_a_timeout_the_provider_is_asked_before_sending_again(stores):
    messages, directory = stores
    provider = Provider()
    provider.script = ["timeout_after_accept"]
    acts = MessageActivities(messages, directory, provider, "aliyun")
    with pytest.raises(TimeoutError):
        await _run(acts, _request())
    assert (await messages.for_ticket("t1"))[0].state == SmsState.SENDING
    await _run(acts, _request())  # the retry: the provider already has it
    assert len(provider.accepted) == 1
    assert (await messages.for_ticket("t1"))[0].state == SmsState.SENT


async def test_r_esc_5_a_message_the_provider_never_got_is_sent_on_retry_once_its_fate_had_time_to_show(stores):
    messages, directory = stores
    provider = Provider()
    provider.script = ["timeout_before_accept"]
    acts = MessageActivities(messages, directory, provider, "aliyun", grace=timedelta(minutes=2))
    with pytest.raises(TimeoutError):
        await _run(acts, _request())
    with pytest.raises(ApplicationError) as wait:  # too early to tell: asked again later, not resent
        await _run(acts, _request())
    assert wait.value.type == "SmsFateUnknown" and not wait.value.non_retryable and provider.accepted == []
    assert wait.value.next_retry_delay is not None and wait.value.next_retry_delay > timedelta(seconds=90)
    provider.status_denies = True  # Aliyun-like: past the grace, its silence is a denial
    later = MessageActivities(messages, directory, provider, "aliyun", grace=timedelta(0))
    await _run(later, _request())
    assert len(provider.accepted) == 1 and (await messages.for_ticket("t1"))[0].attempts == 2


async def test_a_receipt_that_came_first_is_not_overwritten_by_the_send_result(stores):
    messages, directory = stores
    from activities.adapters.sms import Receipt

    class ReceiptFirst(Provider):
        async def send(self, sms):
            await messages.apply_receipt(Receipt(key=sms.key, provider_id=None, delivered=True), NOW)
            return await super().send(sms)

    await _run(MessageActivities(messages, directory, ReceiptFirst(), "aliyun"), _request())
    assert (await messages.for_ticket("t1"))[0].state == SmsState.DELIVERED


async def test_a_refusal_retrying_cannot_fix_fails_for_good_and_is_not_tried_again(stores):
    messages, directory = stores
    provider = Provider()
    provider.script = ["refuse"]
    acts = MessageActivities(messages, directory, provider, "aliyun")
    for _ in range(2):
        with pytest.raises(ApplicationError) as err:
            await _run(acts, _request())
        assert err.value.non_retryable and "SMS_TEMPLATE_ILLEGAL" in str(err.value)
        assert "13900000001" not in str(err.value)  # phone numbers never in clear
    (record,) = await messages.for_ticket("t1")
    assert record.state == SmsState.FAILED and provider.accepted == []


async def test_a_rate_limit_backs_off_and_retries(stores):
    messages, directory = stores
    provider = Provider()
    provider.script = ["throttle"]
    acts = MessageActivities(messages, directory, provider, "aliyun")
    with pytest.raises(ApplicationError) as err:
        await _run(acts, _request())
    assert not err.value.non_retryable and err.value.next_retry_delay == timedelta(seconds=30)
    await _run(acts, _request())
    assert len(provider.accepted) == 1


async def test_nobody_in_the_role_is_an_error_ops_can_see(stores):
    messages, directory = stores
    acts = MessageActivities(messages, directory, Provider(), "local")
    with pytest.raises(ApplicationError) as err:
        await _run(acts, _request(role="provincial_vp"))
    assert err.value.non_retryable and "nobody in role provincial_vp for shanghai" in str(err.value)
    (record,) = await messages.for_ticket("t1")
    assert record.state == SmsState.FAILED and record.phone is None
