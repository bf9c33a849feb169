"""The Aliyun SMS driver through the official SDK, against a fake Dysmsapi on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from activities.adapters.sms import OutboundSms, SmsError, SmsState, sms_gateway
from activities.adapters.sms_aliyun import ALIYUN_RECEIPT_ACK, AliyunSmsGateway, parse_aliyun_receipts
from settings import ROOT, Settings
from tests.activities.fake_sms_providers import FakeAliyun

TEMPLATES = {"escalation": "SMS_480215001"}


@pytest.fixture
def aliyun():
    with FakeAliyun() as fake:
        yield fake


def _settings(endpoint: str, **overrides) -> Settings:
    values = dict(sms_driver="aliyun", aliyun_endpoint=endpoint, aliyun_protocol="http",
                  aliyun_access_key_id="test-ak", aliyun_access_key_secret="test-secret",
                  sms_sign_name="速达快递", sms_templates=TEMPLATES, sms_timeout_seconds=0.5)
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def gateway(aliyun) -> AliyunSmsGateway:
    return AliyunSmsGateway(_settings(aliyun.host_port))


def _sms(key: str = "t-42:ems:1:2:ab12cd34ef", phone: str = "+8613812345678", template: str = "escalation"):
    return OutboundSms(key=key, phone=phone, template=template,
                       params={"ticket": "T-42", "station": "SH-PD-01", "hours": "4"},
                       text="工单T-42已超时4小时，站点SH-PD-01", requested_at=datetime.now(UTC))


async def test_the_factory_picks_the_aliyun_driver(aliyun):
    assert isinstance(sms_gateway(_settings(aliyun.host_port)), AliyunSmsGateway)


async def test_send_passes_sign_template_params_and_key_and_returns_the_biz_id(aliyun, gateway):
    result = await gateway.send(_sms())

    (sent,) = aliyun.received
    assert sent["phone"] == "13812345678"  # +86 stripped to the national number
    assert sent["sign_name"] == "速达快递"
    assert sent["template"] == "SMS_480215001"
    assert sent["params"] == {"ticket": "T-42", "station": "SH-PD-01", "hours": "4"}
    assert sent["out_id"] == "t-42:ems:1:2:ab12cd34ef"
    assert result.provider_id == sent["biz_id"] and "^" in result.provider_id
    assert result.state == SmsState.SENT
    assert [action for action, _ in aliyun.requests] == ["SendSms"]


async def test_a_number_outside_the_mainland_keeps_its_country_code(aliyun, gateway):
    await gateway.send(_sms(phone="+85291234567"))
    assert aliyun.received[0]["phone"] == "85291234567"


@pytest.mark.parametrize("code", ["isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_ILLEGAL", "isv.MOBILE_NUMBER_ILLEGAL",
                                  "isv.BLACK_KEY_CONTROL_LIMIT", "isv.TEMPLATE_MISSING_PARAMETERS",
                                  "isv.INVALID_PARAMETERS", "isv.AMOUNT_NOT_ENOUGH", "isv.ACCOUNT_ABNORMAL"])
async def test_a_permanent_refusal_is_a_non_retryable_sms_error(aliyun, gateway, code):
    aliyun.fail_next(code, message="refused")
    with pytest.raises(SmsError) as err:
        await gateway.send(_sms())
    assert err.value.code == code
    assert err.value.retryable is False
    assert aliyun.received[0]["accepted"] is False


@pytest.mark.parametrize(("code", "message", "low", "high"), [
    ("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1", 60, 60),
    ("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5", 3600, 3600),
    ("isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:10", 60, 86_405),
    ("isv.DAY_LIMIT_CONTROL", "触发日发送限额", 60, 86_405),
    ("Throttling.User", "Request was denied due to user flow control.", 1, 10),  # an HTTP 400 from the gateway
])
async def test_a_rate_limit_is_retryable_after_a_delay(aliyun, gateway, code, message, low, high):
    aliyun.fail_next(code, message=message)
    with pytest.raises(SmsError) as err:
        await gateway.send(_sms())
    assert err.value.code == code
    assert err.value.retryable is True
    assert low <= err.value.retry_after <= high


@pytest.mark.parametrize("code", ["isp.SYSTEM_ERROR", "ServiceUnavailable", "InternalError"])
async def test_any_other_answer_is_retryable(aliyun, gateway, code):
    aliyun.fail_next(code)
    with pytest.raises(SmsError) as err:
        await gateway.send(_sms())
    assert err.value.code == code and err.value.retryable is True and err.value.retry_after is None


async def test_accepted_then_timed_out_is_not_an_sms_error_and_status_then_finds_it(aliyun, gateway):
    sms = _sms()
    aliyun.stall_next(3.0)
    started = time.monotonic()
    with pytest.raises(TimeoutError) as err:
        await gateway.send(sms)
    assert not isinstance(err.value, SmsError)
    assert time.monotonic() - started < 2.0  # the 0.5 s timeout applied, not the SDK's default
    assert aliyun.received[0]["accepted"] is True

    known = await gateway.status(sms)
    assert known is not None and known.state == SmsState.SENT  # accepted, no receipt yet: do not resend
    (query,) = [p for action, p in aliyun.requests if action == "QuerySendDetails"]
    assert query["PhoneNumber"] == "13812345678"
    assert query["SendDate"] == sms.requested_at.astimezone(timezone(timedelta(hours=8))).strftime("%Y%m%d")

    aliyun.report(sms.key, delivered=True)
    assert (await gateway.status(sms)).state == SmsState.DELIVERED
    aliyun.report(sms.key, delivered=False)
    assert (await gateway.status(sms)).state == SmsState.UNDELIVERED


async def test_status_of_a_key_the_provider_never_got_is_none(aliyun, gateway):
    await gateway.send(_sms(key="another-message"))  # same number, other key
    assert await gateway.status(_sms(key="never-sent")) is None


async def test_a_failed_status_query_is_retryable_whatever_its_code(aliyun, gateway):
    aliyun.fail_next("isp.RAM_PERMISSION_DENY", action="QuerySendDetails")  # permanent for a SendSms
    with pytest.raises(SmsError) as err:
        await gateway.status(_sms())
    assert err.value.code == "isp.RAM_PERMISSION_DENY" and err.value.retryable is True


async def test_status_reads_every_page(aliyun, gateway):
    target = _sms(key="the-first")
    await gateway.send(target)
    for n in range(50):
        await gateway.send(_sms(key=f"later-{n}"))
    known = await gateway.status(target)  # newest first: the first message is on page 2
    assert known is not None
    pages = [p["CurrentPage"] for action, p in aliyun.requests if action == "QuerySendDetails"]
    assert pages == ["1", "2"]


async def test_an_unmapped_template_is_refused_for_good_without_calling_aliyun(aliyun, gateway):
    with pytest.raises(SmsError) as err:
        await gateway.send(_sms(template="no-such-template"))
    assert err.value.retryable is False
    assert aliyun.requests == []


def test_missing_credentials_are_a_clear_startup_error():
    with pytest.raises(SystemExit, match="PARCELCARE_ALIYUN_ACCESS_KEY_ID"):
        AliyunSmsGateway(_settings("127.0.0.1:1", aliyun_access_key_id=""))


def test_receipts_of_the_sms_report_push():
    body = json.dumps([
        {"phone_number": "13812345678", "send_time": "2025-03-04 09:15:02", "report_time": "2025-03-04 09:15:06",
         "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1",
         "biz_id": "900619746936498440^0", "out_id": "t-42:ems:1:2:ab12cd34ef"},
        {"phone_number": "13900001111", "send_time": "2025-03-04 09:15:02", "report_time": "2025-03-04 09:16:40",
         "success": False, "err_code": "MK:0001", "err_msg": "用户关机", "sms_size": "1",
         "biz_id": "900619746936498441^0", "out_id": "t-42:ems:1:2:99aa88bb77"},
    ], ensure_ascii=False).encode("utf-8")

    delivered, failed = parse_aliyun_receipts(body)

    assert (delivered.key, delivered.provider_id, delivered.delivered, delivered.error) == (
        "t-42:ems:1:2:ab12cd34ef", "900619746936498440^0", True, None)
    assert delivered.at == datetime(2025, 3, 4, 1, 15, 6, tzinfo=UTC)  # Beijing time
    assert failed.key == "t-42:ems:1:2:99aa88bb77" and failed.delivered is False
    assert "MK:0001" in failed.error
    assert ALIYUN_RECEIPT_ACK == {"code": 0, "msg": "成功"}


def test_a_worker_process_can_use_the_fake(aliyun):
    """Another process, configured only by environment, sends through the fake in this one."""
    env = {**os.environ, **aliyun.env(), "PARCELCARE_SMS_SIGN_NAME": "速达快递",
           "PARCELCARE_SMS_TEMPLATES": json.dumps(TEMPLATES), "PARCELCARE_SMS_TIMEOUT_SECONDS": "2"}
    script = (
        "import asyncio; from datetime import UTC, datetime\n"
        "from activities.adapters.sms import OutboundSms, sms_gateway\n"
        "from settings import get_settings\n"
        "sms = OutboundSms(key='from-worker', phone='+8613812345678', template='escalation', params={'a': '1'},"
        " text='x', requested_at=datetime.now(UTC))\n"
        "print(asyncio.run(sms_gateway(get_settings()).send(sms)).provider_id)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    (sent,) = aliyun.received
    assert sent["out_id"] == "from-worker" and done.stdout.strip() == sent["biz_id"]
