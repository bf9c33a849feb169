"""R-ESC-5 through the API: a message whose fate stayed unknown is shown, alerted on, and released (sent once,
by a short workflow on the worker) or cancelled by ops, who are recorded."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import pytest

from activities.adapters.sms import SmsState
from store.db import create_engine_for
from store.messages import MessageRecord, MessageStore
from tests.api.conftest import bearer


@pytest.fixture
async def messages(stack):
    engine = create_engine_for(stack.database_url)
    yield MessageStore(engine)
    await engine.dispose()


async def _unknown(messages: MessageStore, base: str | None = None) -> MessageRecord:
    """A message left unknown by a provider that could neither confirm nor deny it (as the send activity leaves it)."""
    now = datetime.now(UTC)
    key = f"{base or f't{uuid.uuid4().hex[:15]}:ems:1:provincial_cs_director'}:{uuid.uuid4().hex[:10]}"
    record = MessageRecord(key=key, ticket_id=key.split(":")[0], purpose="ems round 1 tier 1 (R-ESC-1)",
                           role="provincial_cs_director", phone="+8613900000001", template="escalation",
                           params={"ticket": "t"}, text="工单", driver="local", state=SmsState.UNKNOWN,
                           provider_id=None, error="neither listed nor denied", attempts=1, requested_at=now,
                           updated_at=now)
    return await messages.reserve(record)


async def _gauge(http) -> float:
    text = (await http.get("/metrics")).text
    (line,) = [ln for ln in text.splitlines() if ln.startswith("parcelcare_sms_unknown ")]
    return float(line.split()[1])


async def _settled(messages: MessageStore, key: str, timeout: float = 60) -> MessageRecord:
    deadline = time.monotonic() + timeout
    while True:
        record = await messages.get(key)
        if record.state not in (SmsState.RELEASED, SmsState.SENDING) or time.monotonic() > deadline:
            return record
        await asyncio.sleep(0.1)


async def test_r_esc_5_ops_release_an_unknown_message_it_is_sent_once_and_a_second_release_is_a_409(http, messages):
    record = await _unknown(messages)
    before = await _gauge(http)
    assert before >= 1  # ops are alerted while it waits
    r = await http.post(f"/v1/messages/{record.key}/release")
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["state"] == "released" and body["released_by"].startswith("key:") and body["phone"] == "+86139****0001"
    again = await http.post(f"/v1/messages/{record.key}/release")
    # The resend workflow moves it on at its own pace (released -> an attempt holds it -> sent): the refusal
    # names whichever state it is in; in every one of them it is never sent a second time (checked below).
    assert again.status_code == 409, again.text
    reason = again.json()["detail"][0]["msg"]
    assert any(why in reason for why in ("released already by key:", "an attempt holds it now", "it is sent")), reason
    assert "only a message whose fate is unknown can be released" in reason
    sent = await _settled(messages, record.key)
    assert sent.state == SmsState.SENT and sent.attempts == 2  # one more provider call, under a new token
    assert sent.attempt_token is not None and sent.released_by == body["released_by"]
    assert await _gauge(http) == before - 1
    late = await http.post(f"/v1/messages/{record.key}/release")
    assert late.status_code == 409 and "it is sent" in late.json()["detail"][0]["msg"]
    cancel = await http.post(f"/v1/messages/{record.key}/cancel")
    assert cancel.status_code == 409 and "only a message whose fate is unknown" in cancel.json()["detail"][0]["msg"]


async def test_r_esc_5_ops_cancel_an_unknown_message_it_is_never_sent(http, messages, issuer):
    record = await _unknown(messages)
    ops = bearer(issuer.token("ops-on-duty", roles=["ops"]))
    r = await http.post(f"/v1/messages/{record.key}/cancel", headers=ops)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "cancelled" and r.json()["cancelled_by"] == "user:ops-on-duty"
    released = await http.post(f"/v1/messages/{record.key}/release", headers=ops)
    assert released.status_code == 409 and "cancelled by user:ops-on-duty" in released.json()["detail"][0]["msg"]
    after = await messages.get(record.key)
    assert after.state == SmsState.CANCELLED and after.attempts == 1  # never sent again


async def test_r_esc_5_release_and_cancel_are_for_ops_only_and_say_what_is_unknown(http, messages, issuer):
    record = await _unknown(messages)
    agent = bearer(issuer.token("agent-7", roles=["agent"]))
    for verb in ("release", "cancel"):
        refused = await http.post(f"/v1/messages/{record.key}/{verb}", headers=agent)
        assert refused.status_code == 403
        missing = await http.post(f"/v1/messages/no-such-message/{verb}")
        assert missing.status_code == 404 and missing.json()["detail"][0]["msg"] == "no message no-such-message"
    assert (await messages.get(record.key)).state == SmsState.UNKNOWN  # the refusals changed nothing


async def test_r_esc_5_the_key_a_message_unknown_step_names_finds_its_recipients_message(http, messages):
    """The ticket's step names the request's key; each recipient's message adds `:<hash>` to it."""
    base = f"t{uuid.uuid4().hex[:15]}:ems:1:provincial_cs_director"
    record = await _unknown(messages, base)
    r = await http.post(f"/v1/messages/{base}/release")
    assert r.status_code == 202 and r.json()["key"] == record.key and r.json()["state"] == "released"
    assert (await _settled(messages, record.key)).state == SmsState.SENT
    two = f"t{uuid.uuid4().hex[:15]}:ems:1:hq_cs"
    first, second = await _unknown(messages, two), await _unknown(messages, two)
    ambiguous = await http.post(f"/v1/messages/{two}/cancel")
    assert ambiguous.status_code == 409 and first.key in ambiguous.text and second.key in ambiguous.text
    assert (await http.post(f"/v1/messages/{first.key}/cancel")).status_code == 200
    assert (await http.post(f"/v1/messages/{two}/cancel")).json()["key"] == second.key  # the one still waiting
    assert (await http.post(f"/v1/messages/{two[:-3]}/cancel")).status_code == 404  # a prefix, not a key
