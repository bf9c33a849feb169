"""Ticket kinds (SPEC §2)."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """SPEC §2."""

    INQUIRY = "inquiry"
    DELAY = "delay"
    LOSS = "loss"
    DAMAGE = "damage"
    SHORTAGE = "shortage"
    SERVICE = "service"
    PICKUP = "pickup"
    CHANGE = "change"
    CONSULT = "consult"
