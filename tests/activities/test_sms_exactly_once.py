"""R-ESC-5 under real provider behaviour, at the send activity: zero duplicates, zero losses.

The providers are tests/sms_fakes.py: Aliyun-like (an accepted message is listed shortly after
acceptance, so silence after the grace denies) and Tencent-like (listed only once the handset's receipt
is in, so silence never denies). Temporal's retries are played by `_until_settled`: the activity runs
again after every retryable failure, as the workflow's unlimited retry policy would.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

import activities.messages as messages_module
from activities.adapters.sms import Receipt, SmsState
from activities.messages import MessageActivities, MessageOutcome, MessageRequest, Withdrawal
from domain.directory import Contact, Role
from store.directory import DirectoryStore
from store.messages import MessageStore
from tests.sms_fakes import FakeSmsProvider, aliyun_like, tencent_like

NOW = datetime(2026, 11, 27, 11, tzinfo=UTC)
PHONE = "+8613900000001"
BEHAVIOURS = ["ok", "lost_response", "timeout_before_accept", "rate_limit", "slow"]


@pytest.fixture
async def stores(engine):
    """On SQLite and on PostgreSQL (tests/conftest.py `engine`): the compare-and-set is the database's."""
    directory = DirectoryStore(engine)
    await directory.put(Contact(role=Role.PROVINCIAL_CS_DIRECTOR, scope="shanghai", name="王主任", phone=PHONE), NOW)
    return MessageStore(engine), directory


def _request() -> MessageRequest:
    return MessageRequest(key="t1:ems:r1:t1", ticket_id="t1", purpose="ems round 1 tier 1 (R-ESC-1)",
                          role="provincial_cs_director", scope="shanghai", template="escalation",
                          params={"ticket": "t1"}, text="工单t1", requested_at=NOW)


def _acts(stores, provider: FakeSmsProvider) -> MessageActivities:
    messages, directory = stores
    return MessageActivities(messages, directory, provider, "fake", poll=timedelta(milliseconds=50))


async def _until_settled(run, attempts: int = 20):
    """Run the activity as Temporal would: again after each retryable failure, until it returns."""
    for _ in range(attempts):
        try:
            return await run()
        except ApplicationError as err:
            if err.non_retryable:
                raise
            await asyncio.sleep(min((err.next_retry_delay or timedelta(seconds=0.05)).total_seconds(), 1.0))
        except (TimeoutError, ConnectionError):
            await asyncio.sleep(0.05)
    raise AssertionError("never settled")


async def _send(stores, provider) -> MessageOutcome:
    acts = _acts(stores, provider)
    return await _until_settled(lambda: ActivityEnvironment().run(acts.send_message, _request()))


async def _only(stores):
    (record,) = await stores[0].for_ticket("t1")
    return record


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
async def test_r_esc_5_an_aliyun_like_provider_gets_each_message_exactly_once(stores, behaviour):
    provider = aliyun_like()
    provider.script.append(behaviour)
    outcome = await _send(stores, provider)
    record = await _only(stores)
    assert outcome == MessageOutcome(sent=1, unknown=0)
    assert provider.sent(record.key) == 1  # no duplicate, no loss
    assert record.state in (SmsState.SENT, SmsState.DELIVERED)
    # Only a send that never reached the provider, or one it answered "not now", is made a second time.
    assert record.attempts == (2 if behaviour in ("timeout_before_accept", "rate_limit") else 1)


@pytest.mark.parametrize("behaviour", ["ok", "lost_response", "rate_limit", "slow"])
async def test_r_esc_5_a_tencent_like_provider_gets_each_message_exactly_once(stores, behaviour):
    """The receipt comes after 0.2 s: a lost answer is confirmed by the status pull within the grace."""
    provider = tencent_like(receipt_after=0.2)
    provider.script.append(behaviour)
    outcome = await _send(stores, provider)
    record = await _only(stores)
    assert outcome == MessageOutcome(sent=1, unknown=0) and provider.sent(record.key) == 1
    assert record.attempts == (2 if behaviour == "rate_limit" else 1)


async def test_r_esc_5_a_switched_off_phone_on_tencent_is_texted_once_and_left_unknown_not_twice(stores):
    """The bug this replaces: Tencent lists a message only once the receipt is in, so a switched-off
    phone's message looked "never got it" after 2 minutes and was sent again."""
    provider = tencent_like(receipt_after=0.05, switched_off={PHONE})
    provider.script.append("lost_response")
    outcome = await _send(stores, provider)
    record = await _only(stores)
    assert outcome == MessageOutcome(sent=0, unknown=1)
    assert provider.sent(record.key) == 1 and record.state == SmsState.UNKNOWN and record.attempts == 1
    assert "not sent again" in record.error
    # Its retry, a replay or a restart changes nothing: still once at the provider, still unknown.
    assert await _send(stores, provider) == MessageOutcome(sent=0, unknown=1)
    assert provider.sent(record.key) == 1
    # The phone comes back on days later: the late receipt (matched by our key, the SessionContext) settles it.
    await stores[0].apply_receipt(Receipt(key=record.key, provider_id=None, delivered=True), NOW)
    assert (await _only(stores)).state == SmsState.DELIVERED and provider.sent(record.key) == 1


async def test_r_esc_5_a_message_tencent_never_got_is_unknown_then_released_and_sent_once(stores):
    """Zero losses: the provider can neither confirm nor deny, so ops release it; the release sends it once."""
    provider = tencent_like(receipt_after=0.05)
    provider.script.append("timeout_before_accept")
    assert await _send(stores, provider) == MessageOutcome(sent=0, unknown=1)
    record = await _only(stores)
    assert provider.sent(record.key) == 0 and record.state == SmsState.UNKNOWN
    _, released = await stores[0].release(record.key, "ops-1", NOW)
    assert released
    acts = _acts(stores, provider)
    # Two runs of the release at once (a retried workflow task, a duplicate start): one provider call.
    outcomes = await asyncio.gather(*[_until_settled(lambda: ActivityEnvironment().run(acts.send_released, record.key))
                                      for _ in range(2)])
    after = await _only(stores)
    assert provider.sent(record.key) == 1 and after.state in (SmsState.SENT, SmsState.DELIVERED)
    assert sorted(o.sent for o in outcomes) == [1, 1] and after.released_by == "ops-1"
    assert (await stores[0].release(record.key, "ops-2", NOW))[1] is False  # a second release does nothing


async def test_r_esc_5_overlapping_attempts_send_once(stores):
    """A timed-out attempt still running and its retry (or any two attempts at once): one CAS wins, the
    other never calls the provider and settles from the provider's own status."""
    provider = aliyun_like(listed_after=0.05)
    provider.script.extend(["slow", "ok"])
    acts = _acts(stores, provider)
    outcomes = await asyncio.gather(*[_until_settled(lambda: ActivityEnvironment().run(acts.send_message, _request()))
                                      for _ in range(3)])
    record = await _only(stores)
    assert [o.sent for o in outcomes] == [1, 1, 1]
    assert provider.calls == ["slow"] and provider.sent(record.key) == 1 and record.attempts == 1


async def test_r_esc_5_a_stale_attempt_loses_the_compare_and_set_and_writes_nothing(stores):
    messages, _ = stores
    record = await messages.reserve(await _reserved(stores))
    assert await messages.claim(record.key, SmsState.RESERVED, None, "token-a", NOW)
    assert not await messages.claim(record.key, SmsState.RESERVED, None, "token-b", NOW)  # already taken
    # The retry takes it over from the stale holder (after asking the provider), under its own token.
    assert await messages.claim(record.key, SmsState.SENDING, "token-a", "token-b", NOW + timedelta(minutes=2))
    assert not await messages.settle(record.key, "token-a", SmsState.SENT, NOW, provider_id="p-stale")
    assert not await messages.settle(record.key, "token-a", SmsState.RESERVED, NOW)
    assert await messages.settle(record.key, "token-b", SmsState.SENT, NOW, provider_id="p-new")
    after = await messages.get(record.key)
    assert (after.state, after.provider_id, after.attempt_token, after.attempts) == (SmsState.SENT, "p-new",
                                                                                     "token-b", 2)


async def _reserved(stores):
    acts = _acts(stores, aliyun_like())
    return acts._record(_request(), "t1:ems:r1:t1:abc", PHONE, SmsState.RESERVED, None)


async def test_r_esc_5_the_send_heartbeats_before_during_and_after_the_provider_call(stores, monkeypatch):
    monkeypatch.setattr(messages_module, "_BEAT_EVERY", 0.05)
    provider = aliyun_like(slow_seconds=0.5)
    provider.script.append("slow")
    acts = _acts(stores, provider)
    env = ActivityEnvironment()
    beats: list = []
    env.on_heartbeat = lambda *details: beats.append(details[0])
    await env.run(acts.send_message, _request())
    assert beats[:2] == ["claiming", "claimed"] and beats[-1] == "sent"
    assert beats.count("sending") >= 3  # while the provider call is in flight
    assert not any("139" in str(b) for b in beats)  # never a phone in a heartbeat


async def test_r_esc_5_waiting_for_the_grace_heartbeats_and_a_long_grace_is_a_retry_later(stores, monkeypatch):
    monkeypatch.setattr(messages_module, "_BEAT_EVERY", 0.05)
    provider = aliyun_like(grace=0.4, listed_after=10)  # accepted, not listed within the grace
    provider.script.append("timeout_before_accept")
    acts = _acts(stores, provider)
    with pytest.raises(TimeoutError):
        await ActivityEnvironment().run(acts.send_message, _request())
    env = ActivityEnvironment()
    beats: list = []
    env.on_heartbeat = lambda *details: beats.append(details[0])
    assert (await env.run(acts.send_message, _request())).sent == 1
    assert "waiting" in beats and provider.sent((await _only(stores)).key) == 1
    slow = MessageActivities(stores[0], stores[1], aliyun_like(grace=600), "fake")
    record = await _only(stores)
    await stores[0].claim(record.key, record.state, record.attempt_token, "stuck", datetime.now(UTC))
    with pytest.raises(ApplicationError) as later:
        await ActivityEnvironment().run(slow.send_message, _request())
    assert later.value.type == "SmsFateUnknown" and later.value.next_retry_delay > timedelta(minutes=9)


def test_r_esc_5_the_grace_is_per_provider_as_their_documentation_says():
    from activities.adapters.sms import LocalSmsGateway, sms_gateway
    from settings import Settings

    base = {"sms_sign_name": "百世快递", "sms_timeout_seconds": 10}
    aliyun = sms_gateway(Settings(sms_driver="aliyun", aliyun_access_key_id="a", aliyun_access_key_secret="b", **base))
    tencent = sms_gateway(Settings(sms_driver="tencent", tencent_secret_id="a", tencent_secret_key="b",
                                   tencent_sdk_app_id="1400000001", **base))
    assert (aliyun.status_grace, aliyun.status_denies) == (timedelta(seconds=60), True)  # listed before its receipt
    assert (tencent.status_grace, tencent.status_denies) == (timedelta(minutes=5), False)  # listed only with it
    local = LocalSmsGateway()
    assert (local.status_grace, local.status_denies) == (timedelta(0), True)
    shorter = sms_gateway(Settings(sms_driver="tencent", tencent_secret_id="a", tencent_secret_key="b",
                                   tencent_sdk_app_id="1400000001", sms_status_grace_seconds=3, **base))
    assert shorter.status_grace == timedelta(seconds=10)  # overridable, never below the driver's own timeout


async def test_r_esc_4_a_withdrawn_message_is_cancelled_where_it_never_reached_the_provider(stores):
    """v8: the flow withdraws a request whose sending ended. Per recipient: never reached the provider
    (reserved) -> cancelled; cut off during the provider call (sending) -> unknown, for ops; sent -> as it
    is. Another request's messages, even one whose key the first is a prefix of, are untouched."""
    messages, _ = stores
    acts = _acts(stores, aliyun_like())
    base = MessageActivities._record(acts, _request(), "", None, SmsState.RESERVED, None)
    for suffix, state in ((":a1", SmsState.RESERVED), (":b2", SmsState.SENDING), (":c3", SmsState.SENT),
                          ("_x:d4", SmsState.RESERVED)):  # "_" is a LIKE wildcard: the last is another request's
        await messages.reserve(base.model_copy(update={"key": f"t1:ems:r1:t1{suffix}", "state": state,
                                                       "phone": PHONE}))
    withdrawn = await ActivityEnvironment().run(acts.withdraw_message,
                                                Withdrawal(key="t1:ems:r1:t1", reason="the station fed back"))
    assert (withdrawn.cancelled, withdrawn.unknown, withdrawn.sent) == (1, 1, 1)
    states = {m.key.removeprefix("t1:ems:r1:t1"): m.state for m in await messages.for_ticket("t1")}
    assert states == {":a1": SmsState.CANCELLED, ":b2": SmsState.UNKNOWN, ":c3": SmsState.SENT,
                      "_x:d4": SmsState.RESERVED}
    cancelled = await messages.get("t1:ems:r1:t1:a1")
    assert cancelled is not None and cancelled.cancelled_by.startswith("withdrawn by the workflow")
