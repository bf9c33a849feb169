"""Payload encryption (security/codec.py) and the codec server for the Temporal Web UI."""

from __future__ import annotations

import base64
import json
import os

import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from domain.ticket import TicketOpening
from security.codec import (
    DecryptionError,
    EncryptionCodec,
    UnknownKeyError,
    data_converter,
    keys_from_settings,
)
from security.codec_server import create_codec_app
from settings import Settings
from tests.conftest import make_opening
from tests.identity import AUDIENCE

K1, K2 = base64.b64encode(os.urandom(32)).decode(), base64.b64encode(os.urandom(32)).decode()
TOKEN = "s3cret-codec-token"
PHONE, NAME = "13812345678", "张三"


def codec_settings(keys: dict[str, str] | None = None, active: str = "k1", **overrides) -> Settings:
    return Settings(codec_keys={"k1": K1} if keys is None else keys, codec_active_key=active,
                    codec_token=overrides.pop("codec_token", TOKEN), **overrides)


@pytest.fixture
def opening(policy) -> TicketOpening:
    return make_opening(policy)


# --- the codec -------------------------------------------------------------------------------------

async def test_round_trip_of_a_ticket_opening_hides_personal_data(opening):
    converter = data_converter(codec_settings())
    [encrypted] = await converter.encode([opening])

    assert encrypted.metadata["encoding"] == b"binary/encrypted"
    assert encrypted.metadata["encryption-key-id"] == b"k1"
    assert set(encrypted.metadata) == {"encoding", "encryption-key-id"}  # no clear json/plain hint left
    for secret in (PHONE.encode(), NAME.encode("utf-8"), json.dumps(NAME).encode(), b"where is my parcel"):
        assert secret not in encrypted.data
    [plain] = pydantic_data_converter.payload_converter.to_payloads([opening])
    assert PHONE.encode() in plain.data  # the check above would have seen it in clear

    [decoded] = await converter.decode([encrypted], [TicketOpening])
    assert decoded == opening


async def test_each_payload_gets_a_fresh_nonce(opening):
    converter = data_converter(codec_settings())
    first, second = await converter.encode([opening, opening])
    assert first.data[:12] != second.data[:12]
    assert first.data != second.data


def test_no_keys_means_the_plain_pydantic_converter():
    converter = data_converter(Settings(codec_keys={}, codec_active_key=""))
    assert converter is pydantic_data_converter
    assert converter.payload_codec is None
    encrypting = data_converter(codec_settings())
    assert isinstance(encrypting.payload_codec, EncryptionCodec)
    assert type(encrypting.payload_converter) is type(pydantic_data_converter.payload_converter)


def test_keys_come_from_the_environment_as_json(monkeypatch):
    monkeypatch.setenv("PARCELCARE_CODEC_KEYS", json.dumps({"k1": K1, "k2": K2}))
    monkeypatch.setenv("PARCELCARE_CODEC_ACTIVE_KEY", "k2")
    settings = Settings()
    assert settings.codec_keys == {"k1": K1, "k2": K2}
    assert data_converter(settings).payload_codec.active_key == "k2"


@pytest.mark.parametrize("value, message", [
    ("not base64!!", "not valid base64"),
    (base64.b64encode(os.urandom(16)).decode(), "exactly 32 bytes"),
    (base64.b64encode(os.urandom(33)).decode(), "exactly 32 bytes"),
])
def test_bad_keys_are_refused_readably(value, message):
    with pytest.raises(ValueError, match=message) as caught:
        keys_from_settings({"ops-2025": value})
    assert "ops-2025" in str(caught.value)
    assert value not in str(caught.value)  # never print key material


def test_active_key_must_be_configured():
    with pytest.raises(ValueError, match="'k9'.*PARCELCARE_CODEC_ACTIVE_KEY"):
        data_converter(codec_settings(active="k9"))
    with pytest.raises(ValueError, match="must be 32 bytes"):
        EncryptionCodec({"k1": b"short"}, "k1")


async def test_key_rotation_keeps_old_histories_readable(opening):
    [old] = await data_converter(codec_settings({"k1": K1}, "k1")).encode([opening])
    assert old.metadata["encryption-key-id"] == b"k1"

    rotated = data_converter(codec_settings({"k1": K1, "k2": K2}, "k2"))
    assert await rotated.decode([old], [TicketOpening]) == [opening]
    [new] = await rotated.encode([opening])
    assert new.metadata["encryption-key-id"] == b"k2"
    assert await rotated.decode([new], [TicketOpening]) == [opening]

    only_k2 = data_converter(codec_settings({"k2": K2}, "k2"))
    assert await only_k2.decode([new], [TicketOpening]) == [opening]
    with pytest.raises(UnknownKeyError, match="'k1'") as caught:
        await only_k2.decode([old], [TicketOpening])
    assert caught.value.key_id == "k1"


async def test_a_key_of_the_same_id_but_other_bytes_does_not_decrypt(opening):
    [sealed] = await data_converter(codec_settings({"k1": K1}, "k1")).encode([opening])
    impostor = data_converter(codec_settings({"k1": K2}, "k1"))
    with pytest.raises(DecryptionError, match="failed authentication with key id 'k1'"):
        await impostor.decode([sealed], [TicketOpening])


@pytest.mark.parametrize("where", [0, 11, 12, "middle", -1])  # nonce, ciphertext, tag
async def test_tampering_is_detected(opening, where):
    converter = data_converter(codec_settings())
    [sealed] = await converter.encode([opening])
    data = bytearray(sealed.data)
    index = len(data) // 2 if where == "middle" else where
    data[index] ^= 0x01
    tampered = Payload(metadata=dict(sealed.metadata), data=bytes(data))
    with pytest.raises(DecryptionError, match="altered"):
        await converter.decode([tampered], [TicketOpening])


async def test_relabelling_the_key_id_is_detected(opening):
    converter = data_converter(codec_settings({"k1": K1, "k2": K1}, "k1"))  # same bytes, other id
    [sealed] = await converter.encode([opening])
    relabelled = Payload(metadata={**sealed.metadata, "encryption-key-id": b"k2"}, data=sealed.data)
    with pytest.raises(DecryptionError):
        await converter.decode([relabelled], [TicketOpening])


async def test_unencrypted_payloads_pass_through_decode(opening):
    plain = await pydantic_data_converter.encode([opening, "hello", 42])
    codec = data_converter(codec_settings()).payload_codec
    assert await codec.decode(plain) == plain
    converter = data_converter(codec_settings())
    assert await converter.decode(plain, [TicketOpening, str, int]) == [opening, "hello", 42]


# --- the codec server ------------------------------------------------------------------------------

def client_for(settings: Settings, token: str | None = TOKEN) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_codec_app(settings)),
                             base_url="http://codec.test", headers=headers)


def ui_payload(value: object) -> dict:
    """A payload as the Temporal Web UI sends it: proto3 JSON, bytes as base64."""
    return {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
            "data": base64.b64encode(json.dumps(value, ensure_ascii=False).encode()).decode()}


async def test_server_round_trip_in_the_ui_format():
    original = ui_payload({"name": NAME, "phone": PHONE})
    async with client_for(codec_settings()) as client:
        encoded = await client.post("/encode", json={"payloads": [original]}, headers={"X-Namespace": "default"})
        assert encoded.status_code == 200
        [sealed] = encoded.json()["payloads"]
        assert base64.b64decode(sealed["metadata"]["encoding"]) == b"binary/encrypted"
        assert base64.b64decode(sealed["metadata"]["encryption-key-id"]) == b"k1"
        assert PHONE.encode() not in base64.b64decode(sealed["data"])

        decoded = await client.post("/decode", json={"payloads": [sealed]}, headers={"X-Namespace": "any-namespace"})
        assert decoded.status_code == 200
        assert decoded.json() == {"payloads": [original]}


async def test_server_decodes_what_the_worker_encrypted(opening):
    [sealed] = await data_converter(codec_settings()).encode([opening])
    async with client_for(codec_settings()) as client:
        response = await client.post("/decode", json={"payloads": [MessageToDict(sealed)]})
    assert response.status_code == 200
    [plain] = response.json()["payloads"]
    assert base64.b64decode(plain["metadata"]["encoding"]) == b"json/plain"
    assert json.loads(base64.b64decode(plain["data"]))["customer"]["phone"] == opening.customer.phone


async def test_server_passes_unencrypted_payloads_through():
    original = ui_payload("plain old history")
    async with client_for(codec_settings()) as client:
        response = await client.post("/decode", json={"payloads": [original]})
    assert response.status_code == 200
    assert response.json() == {"payloads": [original]}


@pytest.mark.parametrize("path", [f"/{TOKEN}/decode", f"/{TOKEN}/encode"])
async def test_a_token_in_the_path_opens_nothing(path, opening):
    """Issue 12: the path form put the token in the UI's public settings and in every log of URLs."""
    [sealed] = await data_converter(codec_settings()).encode([opening])
    async with client_for(codec_settings(), token=None) as client:
        response = await client.post(path, json={"payloads": [MessageToDict(sealed)]})
    assert response.status_code in (404, 405)
    assert PHONE not in response.text and MessageToDict(sealed)["data"] not in response.text


async def test_bearer_token_is_the_way_in_and_refusals_echo_nothing(opening):
    original = ui_payload({"phone": PHONE})
    async with client_for(codec_settings()) as client:
        encoded = await client.post("/encode", json={"payloads": [original]})
        assert encoded.status_code == 200 and encoded.json()["payloads"][0] != original
        decoded = await client.post("/decode", json=encoded.json())
        assert decoded.status_code == 200 and decoded.json() == {"payloads": [original]}
    async with client_for(codec_settings(), token=None) as client:
        missing = await client.post("/decode", json=encoded.json())
        wrong = await client.post("/decode", json=encoded.json(), headers={"Authorization": "Bearer nope"})
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == 403
    for refused in (missing, wrong):
        assert PHONE not in refused.text and encoded.json()["payloads"][0]["data"] not in refused.text


async def test_a_server_that_can_tell_nobody_refuses_everyone():
    async with client_for(codec_settings(codec_token=""), token=None) as client:
        anonymous = await client.post("/decode", json={"payloads": []})
        empty_bearer = await client.post("/decode", json={"payloads": []}, headers={"Authorization": "Bearer "})
        healthz = await client.get("/healthz")
    assert anonymous.status_code == 503 and "PARCELCARE_OIDC_ISSUER" in anonymous.json()["detail"]
    assert empty_bearer.status_code == 503
    assert healthz.status_code == 200 and healthz.json() == {"status": "ok"}


async def test_server_reports_an_unknown_key_readably(opening):
    [sealed] = await data_converter(codec_settings({"old": K1}, "old")).encode([opening])
    async with client_for(codec_settings({"k2": K2}, "k2")) as client:
        response = await client.post("/decode", json={"payloads": [MessageToDict(sealed)]})
        malformed = await client.post("/decode", content=b"not json")
    assert response.status_code == 400
    assert "'old'" in response.json()["detail"]
    assert malformed.status_code == 400


async def test_server_without_keys_says_so():
    async with client_for(Settings(codec_keys={}, codec_active_key="", codec_token=TOKEN)) as client:
        response = await client.post("/encode", json={"payloads": [ui_payload(1)]})
    assert response.status_code == 503
    assert "PARCELCARE_CODEC_KEYS" in response.json()["detail"]


async def test_cors_preflight_allows_the_ui_origin_only():
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type,x-namespace,authorization"}
    async with client_for(codec_settings()) as client:
        allowed = await client.options("/decode", headers={"Origin": "http://localhost:8233", **preflight})
        foreign = await client.options("/decode", headers={"Origin": "https://evil.example", **preflight})
        actual = await client.post("/decode", json={"payloads": []}, headers={"Origin": "http://127.0.0.1:8233"})
        # A page elsewhere that gets the browser to POST anyway (a "simple" request needs no preflight)
        # is refused outright, not just denied the answer by the browser.
        forged = await client.post("/decode", json={"payloads": []}, headers={"Origin": "https://evil.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:8233"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    allowed_headers = allowed.headers["access-control-allow-headers"].lower()
    assert all(h in allowed_headers for h in ("content-type", "x-namespace", "authorization"))
    assert "access-control-allow-origin" not in foreign.headers
    assert foreign.status_code >= 400
    assert actual.status_code == 200 and actual.headers["access-control-allow-origin"] == "http://127.0.0.1:8233"
    assert forged.status_code == 403 and "evil.example" in forged.json()["detail"]


# --- who decodes in production: the person signed in to the UI, by the token it forwards ------------

def oidc_codec_settings(issuer, **overrides) -> Settings:
    return codec_settings(codec_token="", **issuer.settings(), **overrides)


async def test_the_ui_users_access_token_decodes_for_ops_only(issuer, opening):
    [sealed] = await data_converter(codec_settings()).encode([opening])
    body = {"payloads": [MessageToDict(sealed)]}
    ops = issuer.token("ops-ann", roles=["ops"])
    agent = issuer.token("agent-bo", roles=["agent"])
    expired = issuer.token("ops-old", roles=["ops"], expires_in=-120)
    elsewhere = issuer.token("ops-other-app", roles=["ops"], audience="another-app")
    async with client_for(oidc_codec_settings(issuer), token=None) as client:
        answers = {name: await client.post("/decode", json=body, headers={"Authorization": f"Bearer {token}"})
                   for name, token in [("ops", ops), ("agent", agent), ("expired", expired),
                                       ("elsewhere", elsewhere)]}
    assert answers["ops"].status_code == 200
    assert json.loads(base64.b64decode(answers["ops"].json()["payloads"][0]["data"]))["customer"]["phone"] \
        == opening.customer.phone
    assert answers["agent"].status_code == 403 and "ops" in answers["agent"].json()["detail"]
    assert answers["expired"].status_code == 401 and "expired" in answers["expired"].json()["detail"]
    assert answers["elsewhere"].status_code == 401 and AUDIENCE in answers["elsewhere"].json()["detail"]
    for name in ("agent", "expired", "elsewhere"):
        assert opening.customer.phone not in answers[name].text


async def test_the_roles_that_decode_are_a_setting(issuer):
    agent = issuer.token("agent-bo", roles=["agent"])
    async with client_for(oidc_codec_settings(issuer, codec_roles=["ops", "agent"]), token=None) as client:
        response = await client.post("/decode", json={"payloads": []}, headers={"Authorization": f"Bearer {agent}"})
    assert response.status_code == 200


async def test_cors_origins_follow_the_ui_port_of_a_second_stack():
    """A stack whose UI is on another port (PARCELCARE_TEMPORAL_UI_PORT) decodes in that UI, not in the first's."""
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace"}
    async with client_for(codec_settings(temporal_ui_port=18233)) as client:
        own = await client.options("/decode", headers={"Origin": "http://127.0.0.1:18233", **preflight})
        first = await client.options("/decode", headers={"Origin": "http://localhost:8233", **preflight})
    assert own.status_code == 200 and own.headers["access-control-allow-origin"] == "http://127.0.0.1:18233"
    assert first.status_code >= 400 and "access-control-allow-origin" not in first.headers
