"""`make demo` (issue 14): its walk drives every kind to its end on the real stack, printing each step.

The stack runs a seconds policy (the e2e one, shorter than policy/demo.toml so the test stays quick); the
walk is the same code `make demo` runs.
"""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from demo_walk import PEOPLE, Walk, scenarios
from domain.policy import parse_policy
from settings import ROOT
from tests.e2e.conftest import make_stack
from tests.e2e.test_promises_over_http import POLICY

pytestmark = pytest.mark.e2e


def test_the_demo_policy_runs_the_long_clocks_in_seconds():
    """R-CLK-4, R-CLK-5 and the ladder's tiers, shrunk by the policy file (product configuration)."""
    demo = parse_policy((ROOT / "policy" / "demo.toml").read_text())
    for clock in (demo.clocks.loss_confirmation, demo.clocks.coordination_deadline):
        assert not clock.working and timedelta(seconds=clock.seconds) <= timedelta(minutes=2)


async def test_the_demo_walks_each_kind_to_its_end_printing_every_step(tmp_path):
    stack = make_stack(tmp_path, f"sqlite:///{tmp_path / 'data' / 'parcelcare.db'}", POLICY)
    stack.start()
    lines: list[str] = []
    try:
        with httpx.Client(base_url=stack.api, headers=stack.auth, timeout=30) as http:
            finals = Walk(http, lines.append, poll=0.2).run(timeout=240)
    finally:
        stack.stop()
    kinds = {s.body["kind"] for s in scenarios(date.today())}
    assert set(finals) == kinds, "\n".join(lines[-40:])
    assert all(v["status"] == "closed" for v in finals.values())
    # The inquiry's station kept silent until the ladder's top (R-ESC-1..3) was texted, then answered.
    inquiry = [s["action"] for s in finals["inquiry"]["steps"]]
    assert inquiry.index("station_replied") > max(i for i, a in enumerate(inquiry) if a == "escalated")
    texted = {s["data"]["role"] for s in finals["inquiry"]["steps"] if s["action"] == "escalated"}
    assert {"provincial_cs_director", "provincial_vp", "hq_cs"} <= texted <= {role for role, _, _ in PEOPLE}
    # The loss was never answered: confirmed by the clock (R-CLK-5) and paid.
    loss = [s["action"] for s in finals["loss"]["steps"]]
    assert "loss_confirmed" in loss and "station_replied" not in loss
    assert finals["loss"]["resolution"] == "claim_paid"
    # Every step the tickets recorded was printed, in +08:00.
    printed = [line for line in lines if "+08:00" in line]
    assert len(printed) == sum(len(v["steps"]) for v in finals.values())
