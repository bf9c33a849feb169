"""One error shape for every 4xx and 5xx: FastAPI's validation list, whatever went wrong.

    {"detail": [{"loc": ["body", "customer", "phone"], "msg": "…", "type": "intake_rule"}],
     "correlation_id": "5f0c…"}

`loc` says where (`body`, `query`, `path`, `header` and the field's path; empty when the
request as a whole is meant), `msg` is for a person, `type` for a program. Every reason is
listed at once. The correlation id is also in the `X-Correlation-ID` header and in every log
line about the request. A 422 echoes `input` only when it is a short scalar: a megabyte
description is never sent back.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import types
import typing
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

from domain.intake import IntakeRejected
from domain.policy import PolicyError

log = logging.getLogger("parcelcare.api")

# What a 422 may echo of the input: short scalars only (never a document, never bytes).
_ECHO_LIMIT = 100
# Field names and loc parts are the client's own keys: a 1 MB key is cut, not sent back.
_NAME_LIMIT = 64
_MSG_LIMIT = 1000
# How long a client should wait before retrying a 503.
RETRY_AFTER_SECONDS = 5

# The record cannot be reached: refused connections, a locked SQLite file, an exhausted pool.
RECORD_OUTAGES = (OperationalError, InterfaceError, PoolTimeout)

_TYPES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
          413: "too_large", 415: "unsupported_media_type", 422: "invalid", 503: "unavailable"}


def not_found(ticket_id: str) -> HTTPException:
    return HTTPException(404, f"no ticket {ticket_id}")


def conflict(ticket_id: str, reason: str) -> HTTPException:
    return HTTPException(409, f"ticket {ticket_id}: {reason}")


def problem(loc: list, msg: str, type_: str) -> dict:
    """One item of an error body; loc parts and the message are cut short and made printable."""
    return {"loc": [cut(part) if isinstance(part, str) else part for part in loc], "msg": cut(msg, _MSG_LIMIT),
            "type": type_}


def invalid(loc: list, msg: str, type_: str) -> RequestValidationError:
    """A 422 in the shape of FastAPI's own validation errors."""
    return RequestValidationError([problem(loc, msg, type_)])


def correlation_id(scope_or_request) -> str:
    scope = scope_or_request.scope if isinstance(scope_or_request, Request) else scope_or_request
    return scope.get("state", {}).get("correlation_id", "")


def error_response(scope_or_request, status: int, detail: list[dict], headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "correlation_id": correlation_id(scope_or_request)},
                        status_code=status, headers=headers)


def cut(text: str, limit: int = _NAME_LIMIT) -> str:
    """At most `limit` characters, with NUL and lone surrogates spelled out (they cannot be sent)."""
    text = text if len(text) <= limit else text[:limit] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")


def _echo(value: Any) -> tuple[bool, Any]:
    """Whether `value` may be echoed as `input`, and as what."""
    if value is None or isinstance(value, bool):
        return True, value
    if isinstance(value, int):
        return abs(value) < 10**18, value
    if isinstance(value, float):
        return math.isfinite(value), value
    if isinstance(value, str):
        return len(value) <= _ECHO_LIMIT, value
    return False, None


def _plain(value: Any) -> Any:
    """A ctx value as JSON can carry it: an exception or an object as its text, cut short."""
    if value is None or isinstance(value, bool | int | str):
        return cut(value, 200) if isinstance(value, str) else value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return cut(str(value), 200)


def clean(error: dict, request: Request | None = None) -> dict:
    """One validation error as we answer it: loc cut short, input echoed only when small."""
    loc = list(error.get("loc", ()))
    item = problem(loc, str(error.get("msg", "")), str(error.get("type", "invalid")))
    if error.get("type") == "extra_forbidden" and loc and loc[0] == "body":
        item["msg"] = cut(_unknown_field_message(request, [*loc[:-1], item["loc"][-1]]), _MSG_LIMIT)
    echo, value = _echo(error.get("input"))
    if echo and "input" in error:
        item["input"] = cut(value, _ECHO_LIMIT) if isinstance(value, str) else value
    if error.get("ctx"):
        item["ctx"] = {str(k): _plain(v) for k, v in error["ctx"].items()}
    return item


# --- unknown fields: name the ones the body takes ----------------------------------------

def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds (through Optional, Annotated, list), or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, typing.Annotated, list, tuple):
        for arg in typing.get_args(annotation):
            model = _model_in(arg)
            if model is not None:
                return model
    return None


def _unknown_field_message(request: Request | None, loc: list) -> str:
    field = loc[-1]
    body_field = getattr(request.scope.get("route"), "body_field", None) if request is not None else None
    model = _model_in(body_field.field_info.annotation) if body_field is not None else None
    for key in loc[1:-1]:  # walk down to the object that holds the unknown field
        if model is None or isinstance(key, int):
            continue
        inner = model.model_fields.get(key)
        model = _model_in(inner.annotation) if inner is not None else None
    if model is None:
        return f"unknown field {field!r}"
    fields = ", ".join(model.model_fields)
    template = getattr(model, "unknown_field_message", "unknown field {field!r}; the fields here are: {fields}")
    return template.format(field=field, fields=fields)


# --- handlers ---------------------------------------------------------------------------

def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request, 422, [clean(e, request) for e in exc.errors()])

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        if not isinstance(detail, list):  # a sentence: one item about the request as a whole
            detail = [problem([], str(detail), _TYPES.get(exc.status_code, "error"))]
        headers = exc.headers
        allowed = _documented_methods(request) if exc.status_code == 405 else None
        if allowed:  # every method the path takes, as documented, not only those of the first route matched
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        return error_response(request, exc.status_code, detail, headers=headers)

    @app.exception_handler(IntakeRejected)
    async def _intake(request: Request, exc: IntakeRejected) -> JSONResponse:
        # Each reason names its field as the request body does (customer.phone, shipment.ship_date).
        detail = [problem(["body", *e.field.split(".")], e.message, "intake_rule") for e in exc.errors]
        return error_response(request, 422, detail)

    @app.exception_handler(PolicyError)
    async def _policy(request: Request, exc: PolicyError) -> JSONResponse:
        return _unavailable(request, "policy", f"the policy file cannot be used: {exc}")

    @app.exception_handler(RPCError)
    async def _temporal(request: Request, exc: RPCError) -> JSONResponse:
        return _unavailable(request, "temporal", f"the workflow service is unavailable: {exc.message}")

    async def _record(request: Request, exc: Exception) -> JSONResponse:
        # The exception's text may hold SQL and (without hide_parameters) values: only its kind is logged.
        log.warning("record unavailable (%s) [correlation_id=%s]", type(exc).__name__, correlation_id(request))
        return _unavailable(request, "database",
                            "the record (database) is unavailable; nothing was changed, try again shortly")

    for outage in RECORD_OUTAGES:
        app.add_exception_handler(outage, _record)

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:  # the connection dropped under the statement: an outage too
            return await _record(request, exc)
        raise exc  # anything else is a bug: the door answers a 500 with a correlation id


def _documented_methods(request: Request) -> list[str] | None:
    """The methods the OpenAPI document gives the request's path, or None for a path it omits."""
    for template, operations in request.app.openapi()["paths"].items():
        if _path_pattern(template).fullmatch(request.url.path):
            return sorted(method.upper() for method in operations)
    return None


@functools.lru_cache(maxsize=256)
def _path_pattern(template: str) -> re.Pattern:
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)))


def _unavailable(request: Request, what: str, msg: str) -> JSONResponse:
    return error_response(request, 503, [problem([], msg, f"{what}_unavailable")],
                          headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
