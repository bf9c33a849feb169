"""Tencent Cloud SMS (API 2021-01-11) through the official SDK, `tencentcloud-sdk-python-sms`.

- send:   SendSms with SessionContext = our key; SendStatusSet[0].Code "Ok" -> SENT with the SerialNo.
- status: PullSmsSendStatusByPhoneNumber over the window since the request, looking
          for our SessionContext, so that a call that timed out is not sent twice.
          Tencent lists a message there once the carrier's receipt is in, and
          returns SessionContext only when that is enabled for the account.
- receipts: the status callback (`parse_tencent_receipts`, answer `TENCENT_RECEIPT_ACK`).

Status grace (R-ESC-5): PullSmsSendStatusByPhoneNumber pulls *delivery status reports* ("拉取单个号码短信
下发状态", https://cloud.tencent.com/document/api/382/38773; 2021-01-11 version:
https://www.tencentcloud.com/document/product/382/40518). Each item is a carrier's report, with
ReportStatus SUCCESS or FAIL and UserReceiveTime; there is no "accepted, no receipt yet" item. So a
message appears only once the handset's receipt is in, which for a switched-off phone may be days
later (the carrier keeps retrying) or never. Its absence therefore never proves Tencent did not get
it: after the grace (5 minutes for a receipt to come, overridable with
PARCELCARE_SMS_STATUS_GRACE_SECONDS) a message whose fate is still unknown is marked `unknown` and
left to ops (release or cancel), never resent blindly.

Errors come as a top-level `Error` (TencentCloudSDKException) or per number in
SendStatusSet[].Code; both are mapped the same way. A connection that was never made
(refused, no such host, the connect timed out) is a retryable SmsError: nothing went
out, so a Tencent outage delays the message and leaves no doubt behind. No answer
after the request went (a timeout, a reset, an HTTP error without an API answer) is
raised as TimeoutError / ConnectionError: the outcome is unknown, so the caller asks `status`.
The SDK is synchronous; its calls run in a thread.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone

from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models as sms_models
from tencentcloud.sms.v20210111.sms_client import SmsClient

from activities.adapters.sms import (
    OutboundSms,
    Receipt,
    SendResult,
    SmsError,
    SmsState,
    never_connected,
    not_connected,
)

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

# What Tencent expects back from the status callback.
TENCENT_RECEIPT_ACK = {"result": 0, "errmsg": "OK"}

# Refusals that retrying cannot fix.
PERMANENT_CODES = frozenset({
    "FailedOperation.TemplateIncorrectOrUnapproved",
    "FailedOperation.TemplateUnapprovedOrNotExist",
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
    "FailedOperation.SignatureIncorrectOrUnapproved",
    "FailedOperation.MissingSignature",
    "FailedOperation.PhoneNumberInBlacklist",
    "FailedOperation.PhoneNumberParseFail",
    "FailedOperation.ContainSensitiveWord",
    "FailedOperation.InsufficientBalanceInSmsPackage",
    "FailedOperation.ProhibitSubAccountUse",
    "InvalidParameterValue.IncorrectPhoneNumber",
    "InvalidParameterValue.ContentLengthLimit",
    "InvalidParameterValue.TemplateParameterFormatError",
    "InvalidParameterValue.TemplateParameterLengthLimit",
    "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter",
    "InvalidParameterValue.SdkAppIdNotExist",
    "InvalidParameterValue.InvalidInternational",
    "InvalidParameter.DirtyWordFound",
    "InvalidParameterValue.DirtyWordFound",
    "InvalidParameter.InvalidParameters",
    "InvalidParameter.AppidAndBizId",
    "LimitExceeded.PhoneNumberCountLimit",  # too many numbers in one request: not a rate limit
    "LimitExceeded.AppCountryOrRegionInBlacklist",  # the region is blocked for the app: not a rate limit
})
PERMANENT_PREFIXES = ("UnauthorizedOperation.", "MissingParameter")

# Rate limits and how long they take to lift.
_RATE_LIMIT_DELAYS = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": 30.0,
    "LimitExceeded.DeliveryFrequencyLimit": 60.0,
    "LimitExceeded.PhoneNumberOneHourLimit": 3600.0,
    "RequestLimitExceeded": 2.0,  # the API's own request rate
    "RequestLimitExceeded.UinLimitExceeded": 2.0,
    "LimitExceeded.GlobalSmsSendingRateLimit": 2.0,
}
_PULL_DAYS = 7  # PullSmsSendStatusByPhoneNumber reaches back 7 days
_PULL_LIMIT = 100  # at most 100 items; Offset is fixed at 0


def e164(phone: str) -> str:
    """Tencent's number format: E.164; a bare 11-digit mainland number gets +86."""
    phone = phone.strip().replace(" ", "")
    if phone.startswith("+"):
        return phone
    if phone.startswith("86") and len(phone) == 13:
        return "+" + phone
    return "+86" + phone


def _seconds_to_shanghai_midnight(now: datetime | None = None) -> float:
    now = (now or datetime.now(UTC)).astimezone(SHANGHAI)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=5, microsecond=0)
    return max(60.0, (midnight - now).total_seconds())


def tencent_error(code: str | None, message: str | None) -> SmsError:
    """Tencent's `code` as an SmsError: permanent, rate limited, or worth another try."""
    code = code or "Unknown"
    message = message or ""
    if code not in PERMANENT_CODES and (code.startswith("LimitExceeded") or code.startswith("RequestLimitExceeded")):
        delay = _RATE_LIMIT_DELAYS.get(code)
        if delay is None:
            delay = _seconds_to_shanghai_midnight() if "Daily" in code else 60.0
        return SmsError(code, message, retryable=True, retry_after=delay)
    permanent = code in PERMANENT_CODES or code.startswith(PERMANENT_PREFIXES)
    return SmsError(code, message, retryable=not permanent)


def _no_answer(exc: TencentCloudSDKException) -> Exception | None:
    """The SDK's wrapper of a transport failure, as the builtin error it stands for (or a retryable SmsError
    when the connection was never made); None for an API answer."""
    code = exc.get_code()
    if code == "ClientNetworkError" and never_connected(exc):
        return not_connected("Tencent SMS", exc)
    if code == "ClientNetworkError":
        cause = exc.__context__
        names = {cls.__name__ for cls in type(cause).__mro__} if cause else set()
        if names & {"Timeout", "ReadTimeout", "ConnectTimeout", "TimeoutError"} or "timed out" in str(exc):
            return TimeoutError(f"Tencent SMS did not answer in time: {exc.get_message()}")
        return ConnectionError(f"no answer from Tencent SMS: {exc.get_message()}")
    if code == "ServerNetworkError":  # an HTTP status other than 200: no API answer
        return ConnectionError(f"Tencent SMS answered HTTP without an API response: {exc.get_message()!r}"[:500])
    if code in ("JSONDecodeError", "KeyError", "ValueError"):  # a reply that is not an API response
        return ConnectionError(f"unreadable answer from Tencent SMS: {code}: {exc.get_message()}")
    return None


# See the module's docstring: Tencent lists a message only once its receipt is in; silence never denies.
STATUS_GRACE = timedelta(minutes=5)


class TencentSmsGateway:
    """The SmsGateway Protocol over Tencent Cloud SMS."""

    status_denies = False

    def __init__(self, settings) -> None:
        self.status_grace = max(STATUS_GRACE, timedelta(seconds=2 * settings.sms_timeout_seconds))
        if not settings.tencent_secret_id or not settings.tencent_secret_key:
            raise SystemExit("the tencent SMS driver needs PARCELCARE_TENCENT_SECRET_ID and "
                             "PARCELCARE_TENCENT_SECRET_KEY")
        if not settings.tencent_sdk_app_id:
            raise SystemExit("the tencent SMS driver needs PARCELCARE_TENCENT_SDK_APP_ID")
        if not settings.sms_sign_name:
            raise SystemExit("the tencent SMS driver needs PARCELCARE_SMS_SIGN_NAME (an approved sign name)")
        self._credential = Credential(settings.tencent_secret_id, settings.tencent_secret_key)
        self._region = settings.tencent_region
        self._endpoint = settings.tencent_endpoint
        self._protocol = settings.tencent_protocol
        self._timeout = settings.sms_timeout_seconds
        self._app_id = settings.tencent_sdk_app_id
        self._sign_name = settings.sms_sign_name
        self._templates = dict(settings.sms_templates)

    def _client(self) -> SmsClient:
        # One client per call: the SDK's HTTP session is not meant to be shared between threads.
        http = HttpProfile(endpoint=self._endpoint, protocol=self._protocol, reqTimeout=self._timeout)
        return SmsClient(self._credential, self._region, ClientProfile(httpProfile=http))

    async def _call(self, action: str, request):
        try:
            return await asyncio.to_thread(getattr(self._client(), action), request)
        except TencentCloudSDKException as exc:
            transport = _no_answer(exc)
            if transport is not None:
                raise transport from exc
            error = tencent_error(exc.get_code(), exc.get_message())
            if action != "SendSms":  # a failed status query says nothing about the message: always retryable
                error = SmsError(error.code, exc.get_message() or "", retryable=True, retry_after=error.retry_after)
            raise error from exc

    async def send(self, sms: OutboundSms) -> SendResult:
        template = self._templates.get(sms.template)
        if not template:
            raise SmsError("TemplateNotMapped", f"no Tencent template id for {sms.template!r} in "
                           "PARCELCARE_SMS_TEMPLATES", retryable=False)
        request = sms_models.SendSmsRequest()
        request.PhoneNumberSet = [e164(sms.phone)]
        request.SmsSdkAppId = self._app_id
        request.SignName = self._sign_name
        request.TemplateId = template
        request.TemplateParamSet = list(sms.params.values())
        request.SessionContext = sms.key
        response = await self._call("SendSms", request)
        statuses = response.SendStatusSet or []
        if not statuses:
            raise ConnectionError("Tencent SMS answered SendSms without a SendStatusSet")
        status = statuses[0]
        if status.Code != "Ok":
            raise tencent_error(status.Code, status.Message)
        return SendResult(provider_id=status.SerialNo, state=SmsState.SENT)

    async def status(self, sms: OutboundSms) -> SendResult | None:
        now = datetime.now(UTC)
        requested_at = sms.requested_at if sms.requested_at.tzinfo else sms.requested_at.replace(tzinfo=UTC)
        begin = max(requested_at - timedelta(minutes=5), now - timedelta(days=_PULL_DAYS) + timedelta(minutes=1))
        request = sms_models.PullSmsSendStatusByPhoneNumberRequest()
        request.BeginTime = int(begin.timestamp())
        request.EndTime = int((now + timedelta(minutes=5)).timestamp())
        request.Offset = 0
        request.Limit = _PULL_LIMIT
        request.PhoneNumber = e164(sms.phone)
        request.SmsSdkAppId = self._app_id
        response = await self._call("PullSmsSendStatusByPhoneNumber", request)
        for item in response.PullSmsSendStatusSet or []:
            if item.SessionContext == sms.key:
                state = {"SUCCESS": SmsState.DELIVERED, "FAIL": SmsState.UNDELIVERED}.get(item.ReportStatus,
                                                                                         SmsState.SENT)
                return SendResult(provider_id=item.SerialNo, state=state)
        return None


def _shanghai_time(text) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(str(text).strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    except ValueError:
        return None


def parse_tencent_receipts(body: bytes | str) -> list[Receipt]:
    """The status callback: a JSON array of reports, matched by `sid` (the SerialNo) or `ext` (SessionContext).

    Tencent's documented callback carries `sid`; `ext` (the SessionContext) is
    there only when that is enabled for the account, so match on either.
    """
    data = json.loads(body)
    if isinstance(data, dict):
        data = [data]
    receipts = []
    for item in data:
        delivered = item.get("report_status") == "SUCCESS"
        ext = item.get("ext")
        error = None
        if not delivered:
            error = ": ".join(str(p) for p in (item.get("errmsg"), item.get("description")) if p) or "undelivered"
        receipts.append(Receipt(
            key=ext if isinstance(ext, str) and ext else None,
            provider_id=item.get("sid") or None,
            delivered=delivered,
            error=error,
            at=_shanghai_time(item.get("user_receive_time")),
        ))
    return receipts
