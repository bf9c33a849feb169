"""Aliyun SMS (Dysmsapi 2017-05-25) through the official SDK, `alibabacloud-dysmsapi20170525`.

- send:   SendSms with OutId = our key; Code "OK" -> SENT with the BizId.
- status: QuerySendDetails by number and date, looking for our OutId, so that a
          call that timed out is not sent a second time.
- receipts: the SmsReport HTTP push (`parse_aliyun_receipts`, answer `ALIYUN_RECEIPT_ACK`).

Status grace (R-ESC-5): QuerySendDetails lists every message Aliyun accepted, with SendStatus
1 "等待回执" (waiting for the receipt) until the carrier's receipt arrives, then 2 or 3
(https://help.aliyun.com/document_detail/419277.html, "QuerySendDetails - 查询短信发送详情": SendStatus
1 等待回执 / 2 发送失败 / 3 发送成功; records of the last 30 days, by number and SendDate). So a message
Aliyun accepted shows there shortly after acceptance, receipt or not, and its absence once the grace has
passed is a denial: the message is sent again under a new attempt token. The documentation gives no
figure for "shortly"; 60 s (at least twice the driver's own timeout) is our margin for the listing to
catch up, overridable with PARCELCARE_SMS_STATUS_GRACE_SECONDS.

Errors: a refusal that no retry can fix is SmsError(retryable=False); rate limits
are retryable with retry_after; anything else the provider answered is retryable.
A connection that was never made (refused, no such host, the connect timed out) is
a retryable SmsError: nothing went out. No answer after the request went (a
timeout, a reset, an unreadable reply) is raised as TimeoutError / ConnectionError:
the outcome is unknown, so the caller asks `status` before sending again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from alibabacloud_dysmsapi20170525 import models as dysms_models
from alibabacloud_dysmsapi20170525.client import Client as DysmsClient
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.exceptions import ResponseException, RetryError, UnretryableException
from darabonba.runtime import RuntimeOptions

from activities.adapters.sms import (
    OutboundSms,
    Receipt,
    SendResult,
    SmsError,
    SmsState,
    never_connected,
    not_connected,
)

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving in China

# What Aliyun expects back from the SmsReport push; anything else makes it push again.
ALIYUN_RECEIPT_ACK = {"code": 0, "msg": "成功"}

# Refusals that retrying cannot fix (Aliyun's SendSms error codes).
PERMANENT_CODES = frozenset({
    "isv.SMS_TEMPLATE_ILLEGAL",  # template code unknown or not approved
    "isv.SMS_SIGNATURE_ILLEGAL",  # sign name unknown or not approved
    "isv.SMS_SIGN_ILLEGAL",
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL",  # sign name not allowed for this template's type
    "isv.SMS_CONTENT_ILLEGAL",
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.MOBILE_COUNT_OVER_LIMIT",
    "isv.DOMESTIC_NUMBER_NOT_SUPPORTED",
    "isv.BLACK_KEY_CONTROL_LIMIT",  # a blacklisted word in a parameter
    "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.TEMPLATE_PARAMS_ILLEGAL",
    "isv.INVALID_PARAMETERS",
    "isv.INVALID_JSON_PARAM",
    "isv.PARAM_LENGTH_LIMIT",
    "isv.PARAM_NOT_SUPPORT_URL",
    "isv.EXTEND_CODE_ERROR",
    "isv.AMOUNT_NOT_ENOUGH",
    "isv.OUT_OF_SERVICE",  # account suspended (arrears)
    "isv.ACCOUNT_ABNORMAL",
    "isv.ACCOUNT_NOT_EXISTS",
    "isv.PRODUCT_UN_SUBSCRIPT",
    "isv.PRODUCT_UNSUBSCRIBE",
    "isv.DENY_IP_RANGE",
    "isp.RAM_PERMISSION_DENY",
    "isv.SMS_TEST_SIGN_TEMPLATE_LIMIT",
    "isv.SMS_TEST_TEMPLATE_PARAMS_ILLEGAL",
    "isv.SMS_TEST_NUMBER_LIMIT",
})

_PAGE_SIZE = 50  # QuerySendDetails allows 1..50
_QUERY_DAYS = 30  # QuerySendDetails only reaches back 30 days


def national_number(phone: str) -> str:
    """Aliyun's number format: 11 digits for the mainland, country code + number (no '+') elsewhere."""
    phone = phone.strip().replace(" ", "")
    if phone.startswith("+86"):
        return phone[3:]
    if phone.startswith("+"):
        return phone[1:]
    return phone


def _seconds_to_shanghai_midnight(now: datetime | None = None) -> float:
    now = (now or datetime.now(UTC)).astimezone(SHANGHAI)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=5, microsecond=0)
    return max(60.0, (midnight - now).total_seconds())


def _rate_limit_delay(code: str, message: str) -> float | None:
    """Seconds to wait for a rate limit to lift; None when `code` is not a rate limit."""
    if code == "isv.BUSINESS_LIMIT_CONTROL":
        # Per number: 1/minute, 5/hour, 10/day for one sign name; the message says which.
        if "天" in message or "day" in message.lower():
            return _seconds_to_shanghai_midnight()
        if "小时" in message or "hour" in message.lower():
            return 3600.0
        return 60.0
    if code in ("isv.DAY_LIMIT_CONTROL", "isv.BUSINESS_LIMIT_DAY"):
        return _seconds_to_shanghai_midnight()
    if code == "isv.BUSINESS_LIMIT_HOUR":
        return 3600.0
    if code.startswith("Throttling") or code.startswith("isv.BUSINESS_LIMIT"):
        return 2.0  # the API's own flow control (Throttling.User, Throttling.Api, ...)
    return None


def aliyun_error(code: str | None, message: str | None) -> SmsError:
    """Aliyun's answer `code` as an SmsError: permanent, rate limited, or worth another try."""
    code = code or "Unknown"
    message = message or ""
    delay = _rate_limit_delay(code, message)
    if delay is not None:
        return SmsError(code, message, retryable=True, retry_after=delay)
    return SmsError(code, message, retryable=code not in PERMANENT_CODES)


def _query_error(code: str | None, message: str | None) -> SmsError:
    """A failed status query: always retryable, since it says nothing about the message itself."""
    error = aliyun_error(code, message)
    return SmsError(error.code, message or "", retryable=True, retry_after=error.retry_after)


def _no_answer(exc: UnretryableException) -> Exception:
    """The SDK's wrapper of a transport failure, as the builtin error it stands for."""
    inner = getattr(exc, "inner_exception", None)
    cause = inner.__context__ if isinstance(inner, RetryError) and inner.__context__ else inner
    if never_connected(exc) or never_connected(cause):
        return not_connected("Aliyun SMS", cause or exc)
    if isinstance(cause, TimeoutError):  # aiohttp's timeouts are asyncio.TimeoutError == TimeoutError
        return TimeoutError(f"Aliyun SMS did not answer in time: {cause!s}")
    return ConnectionError(f"no usable answer from Aliyun SMS: {cause!r}")


# See the module's docstring: Aliyun lists an accepted message before its receipt, so silence after this denies.
STATUS_GRACE = timedelta(seconds=60)


class AliyunSmsGateway:
    """The SmsGateway Protocol over Aliyun SMS."""

    status_denies = True

    def __init__(self, settings) -> None:
        self.status_grace = max(STATUS_GRACE, timedelta(seconds=2 * settings.sms_timeout_seconds))
        if not settings.aliyun_access_key_id or not settings.aliyun_access_key_secret:
            raise SystemExit("the aliyun SMS driver needs PARCELCARE_ALIYUN_ACCESS_KEY_ID and "
                             "PARCELCARE_ALIYUN_ACCESS_KEY_SECRET")
        if not settings.sms_sign_name:
            raise SystemExit("the aliyun SMS driver needs PARCELCARE_SMS_SIGN_NAME (an approved sign name)")
        self._sign_name = settings.sms_sign_name
        self._templates = dict(settings.sms_templates)
        timeout_ms = max(1, round(settings.sms_timeout_seconds * 1000))
        self._timeout_ms = timeout_ms
        self._client = DysmsClient(Config(
            access_key_id=settings.aliyun_access_key_id,
            access_key_secret=settings.aliyun_access_key_secret,
            endpoint=settings.aliyun_endpoint,
            protocol=settings.aliyun_protocol,
            read_timeout=timeout_ms,
            connect_timeout=timeout_ms,
        ))

    def _runtime(self) -> RuntimeOptions:
        # autoretry off: a retry is the caller's decision, after asking `status`.
        return RuntimeOptions(read_timeout=self._timeout_ms, connect_timeout=self._timeout_ms, autoretry=False)

    async def send(self, sms: OutboundSms) -> SendResult:
        template = self._templates.get(sms.template)
        if not template:
            raise SmsError("TemplateNotMapped", f"no Aliyun template code for {sms.template!r} in "
                           "PARCELCARE_SMS_TEMPLATES", retryable=False)
        request = dysms_models.SendSmsRequest(
            phone_numbers=national_number(sms.phone),
            sign_name=self._sign_name,
            template_code=template,
            template_param=json.dumps(sms.params, ensure_ascii=False, separators=(",", ":")),
            out_id=sms.key,
        )
        try:
            response = await self._client.send_sms_with_options_async(request, self._runtime())
        except ResponseException as exc:  # an HTTP error with a code (throttling, auth, server error)
            raise aliyun_error(exc.code, getattr(exc, "message", None) or str(exc)) from exc
        except UnretryableException as exc:
            raise _no_answer(exc) from exc
        body = response.body
        if body is None or body.code is None:
            raise ConnectionError("Aliyun SMS answered SendSms without a Code")
        if body.code != "OK":
            raise aliyun_error(body.code, body.message)
        return SendResult(provider_id=body.biz_id, state=SmsState.SENT)

    async def status(self, sms: OutboundSms) -> SendResult | None:
        phone = national_number(sms.phone)
        for day in _send_dates(sms.requested_at):
            page = 1
            while True:
                request = dysms_models.QuerySendDetailsRequest(
                    phone_number=phone, send_date=day, page_size=_PAGE_SIZE, current_page=page)
                try:
                    response = await self._client.query_send_details_with_options_async(request, self._runtime())
                except ResponseException as exc:
                    raise _query_error(exc.code, getattr(exc, "message", None) or str(exc)) from exc
                except UnretryableException as exc:
                    raise _no_answer(exc) from exc
                body = response.body
                if body is None or body.code != "OK":
                    raise _query_error(body.code if body else None, body.message if body else None)
                details = (body.sms_send_detail_dtos.sms_send_detail_dto or []) if body.sms_send_detail_dtos else []
                for detail in details:
                    if detail.out_id == sms.key:
                        return SendResult(provider_id=None, state=_STATES.get(detail.send_status, SmsState.SENT))
                if not details or page * _PAGE_SIZE >= int(body.total_count or 0):
                    break
                page += 1
        return None


# QuerySendDetails SendStatus: 1 waiting for the receipt, 2 failed, 3 delivered.
_STATES = {1: SmsState.SENT, 2: SmsState.UNDELIVERED, 3: SmsState.DELIVERED}


def _send_dates(requested_at: datetime, now: datetime | None = None) -> list[str]:
    """yyyyMMdd (Shanghai) of every day the message may have gone out: from the request to today."""
    if requested_at.tzinfo is None:
        requested_at = requested_at.replace(tzinfo=UTC)
    first = requested_at.astimezone(SHANGHAI).date()
    today = (now or datetime.now(UTC)).astimezone(SHANGHAI).date()
    first = max(first, today - timedelta(days=_QUERY_DAYS - 1)) if today >= first else first
    days = [first + timedelta(days=n) for n in range(max(0, (today - first).days) + 1)]
    return [d.strftime("%Y%m%d") for d in days]


def _shanghai_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    except ValueError:
        return None


def _truthy(value) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")



def parse_aliyun_receipts(body: bytes | str) -> list[Receipt]:
    """The SmsReport push: a JSON array of reports, matched to our messages by out_id (our key) or biz_id."""
    data = json.loads(body)
    if isinstance(data, dict):
        data = [data]
    receipts = []
    for item in data:
        delivered = _truthy(item.get("success"))
        code, text = item.get("err_code"), item.get("err_msg")
        error = None if delivered else (": ".join(part for part in (code, text) if part) or "undelivered")
        receipts.append(Receipt(
            key=item.get("out_id") or None,
            provider_id=item.get("biz_id") or None,
            delivered=delivered,
            error=error,
            at=_shanghai_time(item.get("report_time")) or _shanghai_time(item.get("send_time")),
        ))
    return receipts
