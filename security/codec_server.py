"""The remote codec server for the Temporal Web UI (and `temporal --codec-endpoint`).

Temporal's protocol: `POST <endpoint>/encode` and `POST <endpoint>/decode` with a JSON body
`{"payloads": [...]}`, each payload in proto3 JSON form, the namespace in header `X-Namespace`.
The UI calls `<endpoint>/decode` from the browser, hence CORS for its origins.

Who may decode: whoever shows the shared token PARCELCARE_CODEC_TOKEN, either in the path
(`--ui-codec-endpoint http://127.0.0.1:8234/<token>`, the UI appends `/decode`) or as
`Authorization: Bearer <token>` on `POST /encode` and `POST /decode`.

Run: `python -m security.codec_server` (listens on PARCELCARE_API_HOST:PARCELCARE_CODEC_PORT).
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from temporalio.api.common.v1 import Payload

from security.codec import DecryptionError, EncryptionCodec, codec_from_settings
from settings import Settings, get_settings


class _Refusal(Exception):
    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        self.status, self.error, self.detail, self.headers = status, error, detail, headers


def _token_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def create_codec_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    codec: EncryptionCodec | None = codec_from_settings(settings)  # invalid keys fail here, at start

    app = FastAPI(
        title="ParcelCare codec server",
        version="0.1.0",
        summary="Encrypts and decrypts Temporal payloads for the Temporal Web UI and CLI.",
        docs_url=None, redoc_url=None, openapi_url=None,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.codec_cors_origins),
        allow_methods=["POST"],
        allow_headers=["content-type", "x-namespace", "authorization"],
        allow_credentials=True,
        max_age=600,
    )

    @app.exception_handler(_Refusal)
    async def refused(_request: Request, exc: _Refusal) -> JSONResponse:
        return JSONResponse({"error": exc.error, "detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    def require_configured() -> str:
        if not settings.codec_token:
            raise _Refusal(503, "codec_token_not_set",
                           "the codec server refuses every request until PARCELCARE_CODEC_TOKEN is set")
        return settings.codec_token

    def check_path_token(token: str) -> None:
        if not _token_matches(token, require_configured()):
            raise _Refusal(403, "forbidden", "the token in the path is not the codec token")

    def check_bearer(request: Request) -> None:
        expected = require_configured()
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise _Refusal(401, "unauthorized", "send 'Authorization: Bearer <codec token>' or use /<token>/decode",
                           headers={"WWW-Authenticate": 'Bearer realm="parcelcare-codec"'})
        if not _token_matches(given.strip(), expected):
            raise _Refusal(403, "forbidden", "the bearer token is not the codec token")

    async def read_payloads(request: Request) -> list[Payload]:
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _Refusal(400, "bad_request", "the body must be JSON: {\"payloads\": [...]}") from None
        items = body.get("payloads") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise _Refusal(400, "bad_request", "the body must be JSON: {\"payloads\": [...]}")
        payloads = []
        for index, item in enumerate(items):
            try:
                payloads.append(ParseDict(item, Payload()))
            except (ParseError, TypeError, ValueError):
                detail = f"payloads[{index}] is not a Temporal payload in proto3 JSON"
                raise _Refusal(400, "bad_request", detail) from None
        return payloads

    def the_codec() -> EncryptionCodec:
        if codec is None:
            raise _Refusal(503, "codec_keys_not_set", "no encryption keys: set PARCELCARE_CODEC_KEYS "
                                                      "and PARCELCARE_CODEC_ACTIVE_KEY")
        return codec

    def respond(payloads: list[Payload]) -> dict[str, Any]:
        return {"payloads": [MessageToDict(p) for p in payloads]}

    async def encode(request: Request) -> dict[str, Any]:
        active = the_codec()
        return respond(await active.encode(await read_payloads(request)))

    async def decode(request: Request) -> dict[str, Any]:
        active = the_codec()
        payloads = await read_payloads(request)
        try:
            return respond(await active.decode(payloads))
        except DecryptionError as exc:
            raise _Refusal(400, "cannot_decrypt", str(exc)) from None

    @app.post("/encode", tags=["codec"])
    async def encode_bearer(request: Request) -> dict[str, Any]:
        check_bearer(request)
        return await encode(request)

    @app.post("/decode", tags=["codec"])
    async def decode_bearer(request: Request) -> dict[str, Any]:
        check_bearer(request)
        return await decode(request)

    @app.post("/{token}/encode", tags=["codec"])
    async def encode_path(token: str, request: Request) -> dict[str, Any]:
        check_path_token(token)
        return await encode(request)

    @app.post("/{token}/decode", tags=["codec"])
    async def decode_path(token: str, request: Request) -> dict[str, Any]:
        check_path_token(token)
        return await decode(request)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


if __name__ == "__main__":
    import uvicorn

    _settings = get_settings()
    uvicorn.run(create_codec_app(_settings), host=_settings.api_host, port=_settings.codec_port,
                access_log=False)  # the access log would print path tokens
