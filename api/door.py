"""The door: what every request passes before a route sees it, and the last word when a route fails.

- Each request is authenticated and authorised first (api/auth.py's gate), before its body is read.
- Each request gets a correlation id: the `X-Correlation-ID` header of the answer, the
  `correlation_id` of every error body and of the log lines about it (a client's own id is
  kept when it looks like one).
- Bodies are capped (`PARCELCARE_MAX_BODY_BYTES`, 1 MiB): larger is a 413, declared or not,
  before the rest is read.
- JSON is read strictly, once, for every route alike: NaN and Infinity (not JSON), numbers
  beyond a double, nesting deeper than MAX_JSON_DEPTH, a lone surrogate (not a character)
  and NUL (PostgreSQL cannot store it: the ticket's first write would fail and retry for
  ever) are refused with a 422 that says where. NUL in the path or the query likewise.
- An unexpected exception is a JSON 500 naming the correlation id, logged with it and with
  where it happened, never with the exception's text (it may quote a name or a phone), and
  counted in /metrics.
- Every answer is counted and timed in /metrics under its route template.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import traceback
import uuid
from urllib.parse import parse_qsl

from fastapi.routing import iter_route_contexts
from starlette.datastructures import Headers
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics
from api.errors import cut, error_response, problem

log = logging.getLogger("parcelcare.api")

MAX_JSON_DEPTH = 32  # our deepest body is three levels; a receipt push is two
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_PROBLEMS = 20


class _TooLarge(Exception):
    pass


class Door:
    """Pure ASGI middleware, the outermost of the app's own (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, gate=None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Authentication and authorisation (api/auth.py), before the body is read: an anonymous caller
        # cannot make the API read, parse or store anything.
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = Headers(scope=scope).get("x-correlation-id", "")
        if not _CLIENT_ID.fullmatch(cid):
            cid = uuid.uuid4().hex
        scope.setdefault("state", {})["correlation_id"] = cid
        started = time.perf_counter()
        status = 0

        async def send_(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-correlation-id", cid.encode())]}
            await send(message)

        unhandled = False
        try:
            refusal = await self.gate(scope) if self.gate is not None else None
            if refusal is None:
                refusal, receive = await self._admit(scope, receive)
            await (refusal or self.app)(scope, receive, send_)
        except Exception as exc:
            unhandled = True
            log.error("unexpected %s on %s %s [correlation_id=%s]\n%s", type(exc).__name__, scope["method"],
                      _route(scope), cid, "".join(traceback.format_tb(exc.__traceback__)).rstrip())
            if not status:  # nothing sent yet: answer in the one error shape
                msg = f"an unexpected error; the operators can find it by correlation id {cid}"
                await error_response(scope, 500, [problem([], msg, "internal_error")])(scope, receive, send_)
        finally:
            metrics.observe(scope["method"], _route(scope), status or 500, time.perf_counter() - started, unhandled)

    async def _admit(self, scope: Scope, receive: Receive):
        """(an answer refusing the request, or None; the receive the app reads the body from)."""
        where = _nul_outside_body(scope)
        if where is not None:
            msg = "NUL characters (\\u0000) are not allowed: the record cannot store them"
            return error_response(scope, 422, [problem(where, msg, "nul_character")]), receive
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            return self._too_large(scope), receive
        if scope["method"] not in _BODY_METHODS:
            return None, receive
        try:
            body = await _read(receive, self.max_body_bytes)
        except _TooLarge:
            return self._too_large(scope), receive
        problems = body_problems(body, Headers(scope=scope).get("content-type")) if body else []
        if problems:
            return error_response(scope, 422, problems), _replay(b"", receive)
        return None, _replay(body, receive)

    def _too_large(self, scope: Scope):
        limit = self.max_body_bytes
        msg = f"the request body is larger than {limit} bytes ({limit / 1048576:g} MiB), the most this API reads"
        return error_response(scope, 413, [problem(["body"], msg, "too_large")])


async def _read(receive: Receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read at the door, handed to the app as if it came from the client."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # the client's disconnect, when it comes

    return replayed


def _nul_outside_body(scope: Scope) -> list | None:
    if "\x00" in scope["path"]:
        return ["path"]
    for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return ["query", cut(name)]
    return None


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def body_problems(body: bytes, content_type: str | None) -> list[dict]:
    """Why this body cannot be taken, as 422 items; empty when it is strict JSON we can store."""
    if content_type and not _is_json(content_type):
        return [problem(["body"], f"the body must be JSON (Content-Type: application/json), not {cut(content_type)}",
                        "content_type")]
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        return [problem(["body"], f"the JSON is nested too deeply (at most {MAX_JSON_DEPTH} levels)", "json_too_deep")]
    except json.JSONDecodeError as exc:
        return [problem(["body"], f"the body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                        "json_invalid")]
    except ValueError as exc:  # not UTF-8, NaN or Infinity, an integer of thousands of digits
        return [problem(["body"], f"the body is not valid JSON: {cut(str(exc), 200)}", "json_invalid")]
    return _value_problems(data)


def _text_problem(text: str) -> tuple[str, str] | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which the record cannot store", "nul_character"
    if _SURROGATE.search(text):
        return "contains a lone surrogate (\\ud800-\\udfff), which is not a character", "lone_surrogate"
    return None


def _value_problems(data) -> list[dict]:
    problems: list[dict] = []
    stack = [(data, ("body",), 1)]
    while stack and len(problems) < _MAX_PROBLEMS:
        value, loc, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            problems.append(problem(list(loc), f"nested too deeply (at most {MAX_JSON_DEPTH} levels)", "json_too_deep"))
            continue
        if isinstance(value, dict):
            for key, inner in value.items():
                where = (*loc, cut(key))
                found = _text_problem(key)
                if found:
                    problems.append(problem(list(where), f"the field name {found[0]}", found[1]))
                stack.append((inner, where, depth + 1))
        elif isinstance(value, list):
            stack.extend((inner, (*loc, i), depth + 1) for i, inner in enumerate(value))
        elif isinstance(value, str):
            found = _text_problem(value)
            if found:
                problems.append(problem(list(loc), f"the text {found[0]}", found[1]))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(problem(list(loc), "the number is too large", "number_out_of_range"))
    return sorted(problems, key=lambda p: [str(part) for part in p["loc"]])


def _route(scope: Scope) -> str:
    """The route template a request is counted under (never the raw path: no ids, bounded labels)."""
    route = scope.get("route")
    if route is None:  # refused at the door, before routing: find the template it was meant for
        found = match_route(scope.get("app"), scope)
        route = found[0] if found is not None else None
    return getattr(route, "path", "unmatched")


def match_route(app, scope: Scope):
    """(the route a request is for, its path parameters), or None when no route takes it. Included
    routers' routes are matched one by one, so the route carries the whole path template."""
    for route in iter_route_contexts(getattr(app, "routes", ())):
        match, child = route.matches(scope)
        if match == Match.FULL:
            return route, child.get("path_params", {})
    return None
