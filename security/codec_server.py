"""The remote codec server for the Temporal Web UI (and `temporal --codec-endpoint`).

Temporal's protocol: `POST <endpoint>/encode` and `POST <endpoint>/decode` with a JSON body
`{"payloads": [...]}`, each payload in proto3 JSON form, the namespace in header `X-Namespace`.
The UI calls `<endpoint>/decode` from the browser, hence CORS for its origins.

Who may decode (issue 12), on `POST /encode` and `POST /decode`:

- a person, with the OpenID Connect access token the Temporal UI forwards as `Authorization: Bearer`
  (the UI's TEMPORAL_CODEC_PASS_ACCESS_TOKEN), verified like the API's (security/oidc.py), holding one
  of PARCELCARE_CODEC_ROLES (ops by default): production;
- under `make run` only (PARCELCARE_CODEC_LOCAL_USER), any process of the OS user that runs the stack,
  connecting over loopback: that user's browser and Temporal CLI (Linux: security/peer.py). No token
  is handed to the UI, so none is in its settings or on any command line;
- a program showing the shared PARCELCARE_CODEC_TOKEN as `Authorization: Bearer` (scripts; the CLI
  takes it from TEMPORAL_CODEC_AUTH, out of its argv), when one is set.

A token is never taken from the URL: the path form `/<token>/decode` handed the token to every
visitor of the UI (its /api/v1/settings) and to every log of URLs. A browser request is taken only
from the UI's origins (PARCELCARE_CODEC_CORS_ORIGINS); another origin is refused outright.

Run: `python -m security.codec_server` (listens on PARCELCARE_API_HOST:PARCELCARE_CODEC_PORT).
"""

from __future__ import annotations

import hmac
import json
import os
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from temporalio.api.common.v1 import Payload

from security.codec import DecryptionError, EncryptionCodec, codec_from_settings
from security.keys import CredentialRefused
from security.oidc import IdentityProviderUnavailable, OidcVerifier
from security.peer import peer_uid
from settings import Settings, get_settings


class _Refusal(Exception):
    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        self.status, self.error, self.detail, self.headers = status, error, detail, headers


def _token_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def create_codec_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    codec: EncryptionCodec | None = codec_from_settings(settings)  # invalid keys fail here, at start
    oidc = OidcVerifier(settings) if settings.oidc_issuer else None
    origins = frozenset(settings.codec_cors_origins)

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

    challenge = {"WWW-Authenticate": 'Bearer realm="parcelcare-codec"'}

    async def authorize(request: Request) -> None:
        """Let the caller decode, or refuse with the reason (see the module docstring)."""
        origin = request.headers.get("origin")
        if origin is not None and origin not in origins:
            raise _Refusal(403, "forbidden", f"requests from {origin} are not taken; only from the Temporal UI")
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        given = given.strip() if scheme.lower() == "bearer" else ""
        if given and settings.codec_token and _token_matches(given, settings.codec_token):
            return
        if given and oidc is not None and given.count(".") == 2:
            try:
                person = await oidc.principal(given)
            except CredentialRefused as exc:
                raise _Refusal(401, "unauthorized", str(exc), headers=challenge) from None
            except IdentityProviderUnavailable as exc:
                raise _Refusal(503, "identity_provider_unavailable", str(exc)) from None
            if not {r.value for r in person.roles} & set(settings.codec_roles):
                raise _Refusal(403, "forbidden", f"{person.actor} holds none of the roles that may decode "
                                                 f"({', '.join(settings.codec_roles)})")
            return
        if given:
            raise _Refusal(403, "forbidden", "the bearer token is neither the codec token nor a token of the "
                                             "identity provider")
        if settings.codec_local_user and peer_uid(request.scope.get("client"),
                                                  request.scope.get("server")) == os.getuid():
            return
        if not (settings.codec_token or oidc is not None or settings.codec_local_user):
            raise _Refusal(503, "codec_auth_not_set", "the codec server refuses every request until it can tell who "
                                                      "asks: set PARCELCARE_OIDC_ISSUER (people, through the UI) "
                                                      "or PARCELCARE_CODEC_TOKEN (programs)")
        raise _Refusal(401, "unauthorized", "send 'Authorization: Bearer <access token>' (the Temporal UI forwards "
                                            "the signed-in user's), or the codec token", headers=challenge)

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
        await authorize(request)
        return await encode(request)

    @app.post("/decode", tags=["codec"])
    async def decode_bearer(request: Request) -> dict[str, Any]:
        await authorize(request)
        return await decode(request)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


if __name__ == "__main__":
    import uvicorn

    _settings = get_settings()
    uvicorn.run(create_codec_app(_settings), host=_settings.api_host, port=_settings.codec_port,
                access_log=False)  # nothing a log of decode requests would tell is needed
