"""The Tencent Cloud SMS driver through the official SDK, against a fake SMS API 3.0 on 127.0.0.1."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from activities.adapters.sms import OutboundSms, SmsError, SmsState, sms_gateway
from activities.adapters.sms_tencent import TENCENT_RECEIPT_ACK, TencentSmsGateway, parse_tencent_receipts
from settings import Settings
from tests.activities.fake_sms_providers import FakeTencent

TEMPLATES = {"escalation": "2212345"}
APP_ID = "1400787878"


@pytest.fixture
def tencent():
    with FakeTencent() as fake:
        yield fake


def _settings(endpoint: str, **overrides) -> Settings:
    values = dict(sms_driver="tencent", tencent_endpoint=endpoint, tencent_protocol="http",
                  tencent_secret_id="test-id", tencent_secret_key="test-key", tencent_sdk_app_id=APP_ID,
                  tencent_region="ap-guangzhou", sms_sign_name="速达快递", sms_templates=TEMPLATES,
                  sms_timeout_seconds=0.5)
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def gateway(tencent) -> TencentSmsGateway:
    return TencentSmsGateway(_settings(tencent.host_port))


def _sms(key: str = "t-42:ems:1:2:ab12cd34ef", phone: str = "+8613812345678", template: str = "escalation"):
    return OutboundSms(key=key, phone=phone, template=template,
                       params={"ticket": "T-42", "station": "SH-PD-01", "hours": "4"},
                       text="工单T-42已超时4小时，站点SH-PD-01", requested_at=datetime.now(UTC))


async def test_the_factory_picks_the_tencent_driver(tencent):
    assert isinstance(sms_gateway(_settings(tencent.host_port)), TencentSmsGateway)


async def test_send_passes_sign_template_params_and_context_and_returns_the_serial_no(tencent, gateway):
    result = await gateway.send(_sms())

    (sent,) = tencent.received
    assert sent["phones"] == ["+8613812345678"]  # E.164
    assert sent["sdk_app_id"] == APP_ID
    assert sent["sign_name"] == "速达快递"
    assert sent["template"] == "2212345"
    assert sent["params"] == ["T-42", "SH-PD-01", "4"]  # the values, in the template's order
    assert sent["session_context"] == "t-42:ems:1:2:ab12cd34ef"
    assert result.provider_id == sent["serial_no"] and result.provider_id
    assert result.state == SmsState.SENT
    assert [action for action, _ in tencent.requests] == ["SendSms"]


@pytest.mark.parametrize(("code", "per_number"), [
    ("FailedOperation.TemplateIncorrectOrUnapproved", False),
    ("FailedOperation.SignatureIncorrectOrUnapproved", False),
    ("InvalidParameterValue.IncorrectPhoneNumber", True),
    ("FailedOperation.PhoneNumberInBlacklist", True),
    ("FailedOperation.PhoneNumberInBlacklist", False),
    ("UnauthorizedOperation.SmsSdkAppIdVerifyFail", False),
    ("FailedOperation.InsufficientBalanceInSmsPackage", False),
    ("MissingParameter.EmptyPhoneNumberSet", False),
])
async def test_a_permanent_refusal_is_a_non_retryable_sms_error(tencent, gateway, code, per_number):
    tencent.fail_next(code, per_number=per_number)
    with pytest.raises(SmsError) as err:
        await gateway.send(_sms())
    assert err.value.code == code
    assert err.value.retryable is False
    assert tencent.received[0]["accepted"] is False


@pytest.mark.parametrize(("code", "per_number", "low", "high"), [
    ("LimitExceeded.PhoneNumberThirtySecondLimit", True, 30, 30),
    ("LimitExceeded.PhoneNumberOneHourLimit", True, 3600, 3600),
    ("LimitExceeded.PhoneNumberDailyLimit", True, 60, 86_405),
    ("LimitExceeded.DeliveryFrequencyLimit", True, 60, 60),
    ("LimitExceeded.AppDailyLimit", False, 60, 86_405),
    ("RequestLimitExceeded", False, 1, 10),
])
async def test_a_rate_limit_is_retryable_after_a_delay(tencent, gateway, code, per_number, low, high):
    tencent.fail_next(code, per_number=per_number)
    with pytest.raises(SmsError) as err:
        await gateway.send(_sms())
    assert err.value.code == code
    assert err.value.retryable is True
    assert low <= err.value.retry_after <= high


@pytest.mark.parametrize("code", ["InternalError.Timeout", "InternalError.OtherError", "FailedOperation.OtherError",
                                  "AuthFailure.SignatureExpire"])
async def test_any_other_answer_is_retryable(tencent, gateway, code):
    tencent.fail_next(code)
    with pytest.raises(SmsError) as err:
        await gateway.send(_sms())
    assert err.value.code == code and err.value.retryable is True and err.value.retry_after is None


async def test_accepted_then_timed_out_is_not_an_sms_error_and_status_then_finds_it(tencent, gateway):
    sms = _sms()
    tencent.stall_next(3.0)
    started = time.monotonic()
    with pytest.raises(TimeoutError) as err:
        await gateway.send(sms)
    assert not isinstance(err.value, SmsError)
    assert time.monotonic() - started < 2.0  # the 0.5 s timeout applied, not the SDK's 60 s
    (sent,) = tencent.received
    assert sent["accepted"] is True

    known = await gateway.status(sms)
    assert known is not None
    assert (known.state, known.provider_id) == (SmsState.DELIVERED, sent["serial_no"])
    (pull,) = [p for action, p in tencent.requests if action == "PullSmsSendStatusByPhoneNumber"]
    assert pull["PhoneNumber"] == "+8613812345678" and pull["SmsSdkAppId"] == APP_ID
    assert pull["Offset"] == 0 and pull["Limit"] == 100
    assert pull["BeginTime"] <= sms.requested_at.timestamp() <= pull["EndTime"]

    tencent.report(sms.key, delivered=False)
    assert (await gateway.status(sms)).state == SmsState.UNDELIVERED


async def test_status_of_a_key_the_provider_never_got_is_none(tencent, gateway):
    await gateway.send(_sms(key="another-message"))  # same number, other key
    assert await gateway.status(_sms(key="never-sent")) is None


async def test_a_failed_status_query_is_retryable_whatever_its_code(tencent, gateway):
    tencent.fail_next("UnauthorizedOperation.RequestPermissionDeny", action="PullSmsSendStatusByPhoneNumber")
    with pytest.raises(SmsError) as err:
        await gateway.status(_sms())
    assert err.value.code == "UnauthorizedOperation.RequestPermissionDeny" and err.value.retryable is True


async def test_an_unmapped_template_is_refused_for_good_without_calling_tencent(tencent, gateway):
    with pytest.raises(SmsError) as err:
        await gateway.send(_sms(template="no-such-template"))
    assert err.value.retryable is False
    assert tencent.requests == []


def test_missing_settings_are_a_clear_startup_error():
    with pytest.raises(SystemExit, match="PARCELCARE_TENCENT_SDK_APP_ID"):
        TencentSmsGateway(_settings("127.0.0.1:1", tencent_sdk_app_id=""))


def test_receipts_of_the_status_callback():
    body = json.dumps([
        {"user_receive_time": "2025-03-04 09:15:06", "nationcode": "86", "mobile": "13812345678",
         "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "用户短信送达成功",
         "sid": "3369:1234567890123456789012345678", "ext": "t-42:ems:1:2:ab12cd34ef"},
        {"user_receive_time": "2025-03-04 09:16:40", "nationcode": "86", "mobile": "13900001111",
         "report_status": "FAIL", "errmsg": "MK:0005", "description": "用户短信未送达",
         "sid": "3369:9999999990123456789012345678"},
    ], ensure_ascii=False).encode("utf-8")

    delivered, failed = parse_tencent_receipts(body)

    assert (delivered.key, delivered.provider_id, delivered.delivered, delivered.error) == (
        "t-42:ems:1:2:ab12cd34ef", "3369:1234567890123456789012345678", True, None)
    assert delivered.at == datetime(2025, 3, 4, 1, 15, 6, tzinfo=UTC)  # Beijing time
    assert failed.key is None and failed.provider_id == "3369:9999999990123456789012345678"
    assert failed.delivered is False and "MK:0005" in failed.error
    assert TENCENT_RECEIPT_ACK == {"result": 0, "errmsg": "OK"}
