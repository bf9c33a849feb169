"""Dispatches to stations: how a ticket is sent, why, and what the station sees (R-CLK-2/3/4)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, computed_field

from domain.kinds import Kind


class DispatchRoute(StrEnum):
    DIRECT = "direct"  # 直派调度: straight to the station, answered within 2 working hours (R-CLK-2)
    ASSOCIATED = "associated"  # 关联调度: through regional CS, answered within 4 working hours (R-CLK-3)


DISPATCH_RULES = {DispatchRoute.DIRECT: "R-CLK-2", DispatchRoute.ASSOCIATED: "R-CLK-3"}


class DispatchPurpose(StrEnum):
    VERIFY = "verify"  # look into the parcel and reply (R-INQ-4, R-LOSS-1, R-DMG-3)
    DECLARE_LOSS = "declare_loss"  # the origin station declares the loss in the system (R-LOSS-2)
    ARRANGE_CHANGE = "arrange_change"  # redirect, return or change data as agreed (R-CHG)
    STATION_HEAD = "station_head"  # the station's head answers a service complaint (R-SVC)
    NETWORK_MANAGER = "network_manager"  # the area's network manager checks the station, helps locate (R-LOSS-1)


class DispatchOrder(BaseModel):
    """What the responsible station is asked (no customer data: stations don't need it)."""

    ticket_id: str
    round: int
    station: str
    kind: Kind
    waybill: str | None
    description: str
    purpose: DispatchPurpose = DispatchPurpose.VERIFY
    priority: bool = False  # fresh and food parcels first (R-CHG)
    route: DispatchRoute = DispatchRoute.DIRECT
    answer_due_at: datetime | None = None  # R-CLK-2 / R-CLK-3
    acknowledged_at: datetime | None = None
    dispatched_at: datetime
    due_at: datetime | None  # the coordination deadline the station is held to (R-CLK-4); None: no answer owed
    answered_at: datetime | None = None
    settled_at: datetime | None = None  # no longer waits for the station: the ticket closed or moved past it

    @computed_field  # type: ignore[prop-decorator]
    @property
    def answered_in_time(self) -> bool | None:
        """R-KPI: was the dispatch answered (taken on or fed back) by its R-CLK-2/3 deadline? None: not yet."""
        answered = self.acknowledged_at or self.answered_at
        if answered is None or self.answer_due_at is None:
            return None
        return answered <= self.answer_due_at
