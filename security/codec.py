"""Payload encryption: every Temporal payload leaves the process as AES-256-GCM ciphertext.

Customer names, phones and addresses travel in workflow inputs, signals and results, and the Temporal
server keeps histories for the retention period; with this codec it only ever stores ciphertext.

Several keys may be configured (key id -> key) so a key can be rotated without breaking old histories:
new payloads are encrypted with the active key and name its id in their metadata; old payloads decode
with the key they name. Payloads that were never encrypted pass through decode unchanged.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec

if TYPE_CHECKING:
    from settings import Settings

ENCODING = b"binary/encrypted"
METADATA_ENCODING = "encoding"
METADATA_KEY_ID = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the GCM standard nonce


class DecryptionError(ValueError):
    """An encrypted payload could not be decrypted: unknown key id, wrong key or tampered data."""


class UnknownKeyError(DecryptionError):
    """The payload names a key id that is not configured (removed too early after a rotation?)."""

    def __init__(self, key_id: str, known: Sequence[str]) -> None:
        self.key_id = key_id
        super().__init__(
            f"payload was encrypted with key id {key_id!r}, which is not configured "
            f"(PARCELCARE_CODEC_KEYS has: {', '.join(sorted(known)) or 'no keys'}); "
            "keep a retired key until no history within retention uses it"
        )


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over each whole serialized payload (its metadata included), with a random 12-byte
    nonce prepended to the ciphertext. The key id is authenticated as associated data."""

    def __init__(self, keys: dict[str, bytes], active_key: str) -> None:
        if not keys:
            raise ValueError("EncryptionCodec needs at least one key")
        for key_id, key in keys.items():
            if not key_id:
                raise ValueError("encryption key ids must not be empty")
            if len(key) != KEY_BYTES:
                raise ValueError(f"encryption key {key_id!r} must be {KEY_BYTES} bytes, got {len(key)}")
        if active_key not in keys:
            raise ValueError(
                f"active encryption key {active_key!r} is not among the configured keys "
                f"({', '.join(sorted(keys))}); set PARCELCARE_CODEC_ACTIVE_KEY to one of them"
            )
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key = active_key

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.active_key.encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.active_key].encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(metadata={METADATA_ENCODING: ENCODING, METADATA_KEY_ID: key_id}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get(METADATA_ENCODING) != ENCODING:
            return payload  # written before encryption was switched on
        raw_id = payload.metadata.get(METADATA_KEY_ID)
        if raw_id is None:
            raise DecryptionError(f"encrypted payload carries no {METADATA_KEY_ID!r} metadata")
        key_id = raw_id.decode("utf-8", errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownKeyError(key_id, list(self._ciphers))
        if len(payload.data) <= NONCE_BYTES:
            raise DecryptionError(f"encrypted payload (key id {key_id!r}) is too short to hold a nonce")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, raw_id)
        except InvalidTag:
            raise DecryptionError(
                f"encrypted payload failed authentication with key id {key_id!r}: it was altered "
                "or encrypted with a different key of that id"
            ) from None
        original = Payload()
        original.ParseFromString(plain)
        return original


def keys_from_settings(raw: Mapping[str, str]) -> dict[str, bytes]:
    """Key id -> key bytes from key id -> base64; each must decode to exactly 32 bytes."""
    keys: dict[str, bytes] = {}
    for key_id, encoded in raw.items():
        if not key_id:
            raise ValueError("PARCELCARE_CODEC_KEYS: key ids must not be empty")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise ValueError(f"PARCELCARE_CODEC_KEYS[{key_id!r}] is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise ValueError(
                f"PARCELCARE_CODEC_KEYS[{key_id!r}] must be base64 of exactly {KEY_BYTES} bytes "
                f"(AES-256), got {len(key)} bytes; make one with: "
                "python -c 'import os, base64; print(base64.b64encode(os.urandom(32)).decode())'"
            )
        keys[key_id] = key
    return keys


def codec_from_settings(settings: Settings) -> EncryptionCodec | None:
    """The encryption codec the settings describe, or None when no keys are configured."""
    if not settings.codec_keys:
        return None
    return EncryptionCodec(keys_from_settings(settings.codec_keys), settings.codec_active_key)


def data_converter(settings: Settings) -> DataConverter:
    """The pydantic data converter, encrypting payloads when PARCELCARE_CODEC_KEYS is set."""
    codec = codec_from_settings(settings)
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)
