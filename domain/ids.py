"""Ticket ids: how an open request maps to one ticket and one workflow."""

from __future__ import annotations

import hashlib
import json


def ticket_id_for_key(idempotency_key: str) -> str:
    """A retried open with the same Idempotency-Key maps to the same ticket id."""
    return hashlib.sha256(f"idempotency:{idempotency_key}".encode()).hexdigest()[:16]


def request_fingerprint(payload: dict) -> str:
    """Stable digest of an open request, to tell a retry from a reuse of its key."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def workflow_id(ticket_id: str) -> str:
    return f"ticket-{ticket_id}"
