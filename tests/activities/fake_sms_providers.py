"""Fake Aliyun and Tencent SMS services on 127.0.0.1, speaking each provider's wire protocol.

Test helpers, not product code. The real SDKs talk to them: point
PARCELCARE_ALIYUN_ENDPOINT / PARCELCARE_TENCENT_ENDPOINT at `host_port` with
protocol "http" (see `env()`), from this process or from a worker subprocess.
All state lives in the fake object, behind a lock; signatures are not verified.

    with FakeAliyun() as aliyun:
        aliyun.fail_next("isv.BUSINESS_LIMIT_CONTROL")   # the next SendSms is refused with that code
        aliyun.stall_next(2.0)                           # the next SendSms is accepted, answered 2 s late
        aliyun.drop_next(2.0)                            # the next SendSms never reaches the service: no answer
        aliyun.listed_after = 1.5                        # QuerySendDetails lists a message 1.5 s after acceptance
        aliyun.received                                  # every SendSms, in order
        aliyun.report(key, delivered=True)               # what the status query says of a message

Aliyun (RPC API 2017-05-25): the action is the `x-acs-action` header (the V3
signature the current SDK uses) or the `Action` query/form parameter (the older
signature); parameters come in the query string and/or a form body; answers are
JSON, business refusals (isv.*, isp.*) with HTTP 200 and a `Code`, gateway
errors (Throttling.*, signature, ...) with an HTTP error status.

Tencent (API 3.0, 2021-01-11): POST with a JSON body and the `X-TC-Action`
header (or `Action` in the query/form); answers are always HTTP 200 with
{"Response": {...}}, a refusal as Response.Error or, for per-number refusals,
as SendStatusSet[].Code.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import threading
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, fake: _FakeProvider) -> None:
        self.fake = fake
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.server.fake._serve(self)

    do_GET = do_POST

    def log_message(self, *args):
        pass


class _Request:
    """What arrived: the action, and every parameter from the query string and the body."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self.headers = {k.lower(): v for k, v in handler.headers.items()}
        length = int(self.headers.get("content-length") or 0)
        self.raw = handler.rfile.read(length) if length else b""
        self.query = dict(parse_qsl(urlsplit(handler.path).query, keep_blank_values=True))
        self.params: dict[str, Any] = dict(self.query)
        content_type = self.headers.get("content-type", "")
        if self.raw and "json" in content_type:
            body = json.loads(self.raw.decode("utf-8"))
            if isinstance(body, dict):
                self.params.update(body)
        elif self.raw and "form" in content_type:
            self.params.update(parse_qsl(self.raw.decode("utf-8"), keep_blank_values=True))


class _FakeProvider:
    """A threaded HTTP server on 127.0.0.1 whose state lives in this object."""

    action_header = ""

    def __init__(self, port: int = 0) -> None:
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.received: list[dict[str, Any]] = []  # every SendSms, accepted or not, in order
        self.requests: list[tuple[str, dict[str, Any]]] = []  # every request: (action, parameters)
        self._failures: deque[tuple[str, str, str | None, bool | None]] = deque()
        self._stalls: deque[float] = deque()
        self._drops: deque[float] = deque()

    # -- lifecycle -------------------------------------------------------
    def start(self) -> _FakeProvider:
        if self._server is None:
            self._stopping.clear()
            self._server = _Server(("127.0.0.1", self._port), self)
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"{type(self).__name__}:{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes stalled handlers
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake is not started")
        return self._server.server_address[1]

    @property
    def host_port(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host_port}"

    # -- scripting -------------------------------------------------------
    def fail_next(self, code: str, times: int = 1, message: str | None = None, action: str = "SendSms",
                  per_number: bool | None = None) -> None:
        """Answer the next `times` requests of `action` with the error `code` (nothing is sent)."""
        with self._lock:
            self._failures.extend([(action, code, message, per_number)] * times)

    def stall_next(self, seconds: float, times: int = 1) -> None:
        """Accept the next `times` SendSms, then answer only after `seconds` (after the client gave up)."""
        with self._lock:
            self._stalls.extend([seconds] * times)

    def drop_next(self, seconds: float, times: int = 1) -> None:
        """The next `times` SendSms are lost on the way in (never accepted); the line stays silent `seconds`."""
        with self._lock:
            self._drops.extend([seconds] * times)

    def _take_drop(self) -> float | None:
        with self._lock:
            return self._drops.popleft() if self._drops else None

    def report(self, key: str, delivered: bool | None) -> None:
        """Set the carrier's receipt for the accepted message `key`: True, False, or None (none yet)."""
        with self._lock:
            for message in self.received:
                if message["key"] == key and message["accepted"]:
                    message["delivered"] = delivered
                    return
        raise KeyError(key)

    def accepted(self) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.received if m["accepted"]]

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self.requests.clear()
            self._failures.clear()
            self._stalls.clear()
            self._drops.clear()

    # -- serving ---------------------------------------------------------
    def _take_failure(self, action: str):
        with self._lock:
            for i, failure in enumerate(self._failures):
                if failure[0] == action:
                    del self._failures[i]
                    return failure
        return None

    def _take_stall(self) -> float:
        with self._lock:
            return self._stalls.popleft() if self._stalls else 0.0

    def _action(self, request: _Request) -> str:
        return request.headers.get(self.action_header) or str(request.params.get("Action") or "")

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        request = _Request(handler)
        action = self._action(request)
        with self._lock:
            self.requests.append((action, dict(request.params)))
        status, body, stall = self._answer(action, request)
        if stall:
            self._stopping.wait(stall)
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", self.content_type)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:
            pass  # the client gave up (a stalled answer)

    content_type = "application/json"

    def _answer(self, action: str, request: _Request) -> tuple[int, dict, float]:
        raise NotImplementedError


def _request_id() -> str:
    return str(uuid.uuid4()).upper()


_serials = itertools.count(1)


class FakeAliyun(_FakeProvider):
    """Aliyun Dysmsapi 2017-05-25: SendSms and QuerySendDetails."""

    action_header = "x-acs-action"
    content_type = "application/json;charset=utf-8"
    version = "2017-05-25"

    def __init__(self, port: int = 0, delivered: bool | None = None, listed_after: float = 0.0) -> None:
        super().__init__(port)
        self.default_delivered = delivered  # the receipt of an accepted message: None = not in yet
        # QuerySendDetails lists an accepted message (receipt or not) shortly after acceptance: this long.
        self.listed_after = listed_after

    def env(self) -> dict[str, str]:
        """Environment that points the aliyun driver at this fake (add templates and sign name)."""
        return {"PARCELCARE_SMS_DRIVER": "aliyun", "PARCELCARE_ALIYUN_ENDPOINT": self.host_port,
                "PARCELCARE_ALIYUN_PROTOCOL": "http", "PARCELCARE_ALIYUN_ACCESS_KEY_ID": "fake-ak",
                "PARCELCARE_ALIYUN_ACCESS_KEY_SECRET": "fake-secret"}

    @staticmethod
    def _gateway_error(status: int, code: str, message: str) -> tuple[int, dict, float]:
        return status, {"RequestId": _request_id(), "HostId": "dysmsapi.aliyuncs.com", "Code": code,
                        "Message": message,
                        "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Dysmsapi"}, 0.0

    @classmethod
    def _error(cls, code: str, message: str | None) -> tuple[int, dict, float]:
        if code.startswith(("isv.", "isp.")):  # business refusals come as HTTP 200 with a Code
            return 200, {"RequestId": _request_id(), "Code": code, "Message": message or code}, 0.0
        status = (503 if code.startswith("ServiceUnavailable") else 500 if code.startswith("InternalError")
                  else 403 if code.startswith("Forbidden") else 404 if code.endswith("NotFound") else 400)
        return cls._gateway_error(status, code, message or code)

    def _answer(self, action: str, request: _Request) -> tuple[int, dict, float]:
        params = request.params
        if "authorization" not in request.headers and "Signature" not in params:
            return self._gateway_error(400, "IncompleteSignature", "The request signature does not conform to "
                                       "Aliyun standards.")
        version = request.headers.get("x-acs-version") or params.get("Version")
        if version != self.version:
            return self._gateway_error(400, "InvalidVersion", f"Specified parameter Version is not valid: {version}")
        if action == "SendSms":
            return self._send_sms(params)
        if action == "QuerySendDetails":
            return self._query_send_details(params)
        return self._gateway_error(404, "InvalidAction.NotFound", f"Specified api is not found: {action}")

    def _send_sms(self, params: dict) -> tuple[int, dict, float]:
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                return self._gateway_error(400, f"Missing{name}", f"{name} is mandatory for this action.")
        try:
            template_params = json.loads(params["TemplateParam"]) if params.get("TemplateParam") else {}
        except ValueError:
            template_params = None
        message: dict[str, Any] = {
            "action": "SendSms", "key": params.get("OutId"), "out_id": params.get("OutId"),
            "phone": params["PhoneNumbers"], "sign_name": params["SignName"], "template": params["TemplateCode"],
            "params": template_params, "biz_id": None, "accepted": False, "answer": None,
            "sent_at": datetime.now(UTC), "delivered": self.default_delivered,
        }
        failure = self._take_failure("SendSms")
        dropped = self._take_drop()
        if dropped is not None:  # lost before the service: nothing accepted, and no answer in time
            message["answer"] = "dropped"
            with self._lock:
                self.received.append(message)
            return 503, {"Code": "ServiceUnavailable", "Message": "dropped", "RequestId": _request_id()}, dropped
        if failure is not None:
            answer = self._error(failure[1], failure[2])
        elif not isinstance(template_params, dict) or not all(isinstance(v, str) for v in template_params.values()):
            answer = self._error("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        elif not re.fullmatch(r"(\+86|0086|86)?1\d{10}|\d{6,15}", params["PhoneNumbers"]):
            answer = self._error("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        else:
            message["accepted"] = True
            message["biz_id"] = f"{random.randrange(10**17, 10**18)}^{next(_serials)}"
            answer = (200, {"RequestId": _request_id(), "Code": "OK", "Message": "OK",
                            "BizId": message["biz_id"]}, 0.0)
        message["answer"] = answer[1].get("Code")
        stall = self._take_stall() if message["accepted"] else 0.0
        with self._lock:
            self.received.append(message)
        return answer[0], answer[1], stall

    def _query_send_details(self, params: dict) -> tuple[int, dict, float]:
        for name in ("PhoneNumber", "SendDate", "PageSize", "CurrentPage"):
            if not params.get(name):
                return self._gateway_error(400, f"Missing{name}", f"{name} is mandatory for this action.")
        failure = self._take_failure("QuerySendDetails")
        if failure is not None:
            return self._error(failure[1], failure[2])
        size, page = int(params["PageSize"]), int(params["CurrentPage"])
        if not 1 <= size <= 50 or page < 1:
            return self._error("isv.INVALID_PARAMETERS", "PageSize must be 1..50, CurrentPage >= 1")
        phone = _aliyun_national(params["PhoneNumber"])
        with self._lock:
            listed_by = datetime.now(UTC) - timedelta(seconds=self.listed_after)
            matches = [m for m in self.received if m["accepted"] and _aliyun_national(m["phone"]) == phone
                       and m["sent_at"] <= listed_by
                       and m["sent_at"].astimezone(SHANGHAI).strftime("%Y%m%d") == params["SendDate"]]
            matches.reverse()  # newest first, as Aliyun lists them
            dtos = [self._detail(m) for m in matches[(page - 1) * size: page * size]]
        return 200, {"RequestId": _request_id(), "Code": "OK", "Message": "OK", "TotalCount": len(matches),
                     "SmsSendDetailDTOs": {"SmsSendDetailDTO": dtos}}, 0.0

    @staticmethod
    def _detail(message: dict) -> dict:
        sent = message["sent_at"].astimezone(SHANGHAI)
        delivered = message["delivered"]
        return {
            "PhoneNum": _aliyun_national(message["phone"]),
            "SendStatus": 1 if delivered is None else 3 if delivered else 2,
            "ErrCode": "" if delivered is None else "DELIVERED" if delivered else "UNDELIV",
            "TemplateCode": message["template"],
            "Content": f"【{message['sign_name']}】" + json.dumps(message["params"], ensure_ascii=False),
            "SendDate": sent.strftime("%Y-%m-%d %H:%M:%S"),
            "ReceiveDate": "" if delivered is None else (sent + timedelta(seconds=3)).strftime("%Y-%m-%d %H:%M:%S"),
            "OutId": message["out_id"],
        }


def _aliyun_national(phone: str) -> str:
    for prefix in ("+86", "0086", "86"):
        if phone.startswith(prefix) and len(phone) == len(prefix) + 11:
            return phone[len(prefix):]
    return phone.lstrip("+")


# Refusals that Tencent reports per number in SendStatusSet rather than as Response.Error.
_PER_NUMBER = ("LimitExceeded.PhoneNumber", "LimitExceeded.DeliveryFrequencyLimit",
               "FailedOperation.PhoneNumberInBlacklist", "InvalidParameterValue.IncorrectPhoneNumber",
               "FailedOperation.PhoneNumberParseFail")


class FakeTencent(_FakeProvider):
    """Tencent Cloud SMS 2021-01-11: SendSms and PullSmsSendStatusByPhoneNumber."""

    action_header = "x-tc-action"
    content_type = "application/json"  # exactly this: the SDK reads Response.Error only for this type
    version = "2021-01-11"

    def __init__(self, port: int = 0, delivered: bool | None = True) -> None:
        super().__init__(port)
        # The receipt of an accepted message; the status pull lists a message only once it has one.
        self.default_delivered = delivered

    def env(self) -> dict[str, str]:
        """Environment that points the tencent driver at this fake (add templates and sign name)."""
        return {"PARCELCARE_SMS_DRIVER": "tencent", "PARCELCARE_TENCENT_ENDPOINT": self.host_port,
                "PARCELCARE_TENCENT_PROTOCOL": "http", "PARCELCARE_TENCENT_SECRET_ID": "fake-id",
                "PARCELCARE_TENCENT_SECRET_KEY": "fake-key", "PARCELCARE_TENCENT_SDK_APP_ID": "1400000001"}

    @staticmethod
    def _error(code: str, message: str | None = None) -> tuple[int, dict, float]:
        return 200, {"Response": {"Error": {"Code": code, "Message": message or code},
                                  "RequestId": str(uuid.uuid4())}}, 0.0

    def _answer(self, action: str, request: _Request) -> tuple[int, dict, float]:
        params = request.params
        if "authorization" not in request.headers and "Signature" not in params:
            return self._error("AuthFailure.SignatureFailure", "The request has no signature.")
        version = request.headers.get("x-tc-version") or params.get("Version")
        if version != self.version:
            return self._error("NoSuchVersion", f"The requested version {version} does not exist.")
        if action == "SendSms":
            return self._send_sms(params)
        if action == "PullSmsSendStatusByPhoneNumber":
            return self._pull_status(params)
        return self._error("InvalidAction", f"The action {action} does not exist.")

    def _send_sms(self, params: dict) -> tuple[int, dict, float]:
        phones = params.get("PhoneNumberSet") or []
        if not phones:
            return self._error("MissingParameter.EmptyPhoneNumberSet", "PhoneNumberSet is empty.")
        for name in ("SmsSdkAppId", "TemplateId"):
            if not params.get(name):
                return self._error("MissingParameter", f"The parameter {name} is missing.")
        phone = phones[0]
        message: dict[str, Any] = {
            "action": "SendSms", "key": params.get("SessionContext"), "session_context": params.get("SessionContext"),
            "phone": phone, "phones": list(phones), "sdk_app_id": params["SmsSdkAppId"],
            "sign_name": params.get("SignName"), "template": params["TemplateId"],
            "params": list(params.get("TemplateParamSet") or []), "serial_no": None, "accepted": False,
            "answer": None, "sent_at": datetime.now(UTC), "delivered": self.default_delivered,
        }
        request_id = str(uuid.uuid4())
        failure = self._take_failure("SendSms")
        code = failure[1] if failure else None
        if code is None and not re.fullmatch(r"\+?\d{6,15}", phone):
            code = "InvalidParameterValue.IncorrectPhoneNumber"
        if code is not None:
            per_number = failure[3] if failure and failure[3] is not None else code.startswith(_PER_NUMBER)
            message["answer"] = code
            with self._lock:
                self.received.append(message)
            if not per_number:
                return self._error(code, failure[2] if failure else None)
            status = {"SerialNo": "", "PhoneNumber": phone, "Fee": 0, "SessionContext": message["key"] or "",
                      "Code": code, "Message": (failure[2] if failure else None) or code, "IsoCode": "CN"}
            return 200, {"Response": {"SendStatusSet": [status], "RequestId": request_id}}, 0.0
        message["accepted"] = True
        message["answer"] = "Ok"
        message["serial_no"] = f"3369:{random.randrange(10**27, 10**28)}"
        stall = self._take_stall()
        with self._lock:
            self.received.append(message)
        status = {"SerialNo": message["serial_no"], "PhoneNumber": phone, "Fee": 1,
                  "SessionContext": message["key"] or "", "Code": "Ok", "Message": "send success", "IsoCode": "CN"}
        return 200, {"Response": {"SendStatusSet": [status], "RequestId": request_id}}, stall

    def _pull_status(self, params: dict) -> tuple[int, dict, float]:
        for name in ("BeginTime", "Limit", "PhoneNumber", "SmsSdkAppId"):
            if params.get(name) in (None, ""):
                return self._error("MissingParameter", f"The parameter {name} is missing.")
        if params.get("Offset") not in (None, 0):
            return self._error("InvalidParameterValue.OffsetVerifyFail", "Offset must be 0.")
        if not 0 < int(params["Limit"]) <= 100:
            return self._error("InvalidParameterValue.LimitVerifyFail", "Limit must be 1..100.")
        failure = self._take_failure("PullSmsSendStatusByPhoneNumber")
        if failure is not None:
            return self._error(failure[1], failure[2])
        begin = datetime.fromtimestamp(int(params["BeginTime"]), UTC)
        end = datetime.fromtimestamp(int(params["EndTime"]), UTC) if params.get("EndTime") else datetime.now(UTC)
        phone = _e164(params["PhoneNumber"])
        with self._lock:
            items = [self._status(m) for m in self.received
                     if m["accepted"] and m["delivered"] is not None and _e164(m["phone"]) == phone
                     and m["sdk_app_id"] == params["SmsSdkAppId"] and begin <= m["sent_at"] <= end]
        return 200, {"Response": {"PullSmsSendStatusSet": items[: int(params["Limit"])],
                                  "RequestId": str(uuid.uuid4())}}, 0.0

    @staticmethod
    def _status(message: dict) -> dict:
        phone = _e164(message["phone"])
        return {"UserReceiveTime": int(message["sent_at"].timestamp()) + 3, "CountryCode": "86",
                "SubscriberNumber": phone[3:] if phone.startswith("+86") else phone.lstrip("+"),
                "PhoneNumber": phone, "SerialNo": message["serial_no"],
                "ReportStatus": "SUCCESS" if message["delivered"] else "FAIL",
                "Description": "用户短信送达成功" if message["delivered"] else "用户短信未送达",
                "SessionContext": message["key"] or ""}


def _e164(phone: str) -> str:
    if phone.startswith("+"):
        return phone
    return "+" + phone if phone.startswith("86") and len(phone) == 13 else "+86" + phone
