"""`make demo` (issue 14) against a served API with its worker: every ticket opens, and the desk has work."""

from __future__ import annotations

import httpx

from demo import Demo, tickets


def test_the_demo_opens_each_kind_and_leaves_a_callback_waiting_on_the_desk(served_api):
    lines: list[str] = []
    with httpx.Client(base_url=served_api.url, headers=served_api.auth, timeout=30) as http:
        shown = Demo(http, lines.append).run()
        kinds = [t["kind"] for t in shown]
        assert kinds == [body["kind"] for _, body in tickets()]
        assert len(lines) == len(shown) and all(t["ticket_id"] in line for t, line in zip(shown, lines, strict=True))
        inquiry = shown[0]
        assert inquiry["status"] == "awaiting_callback"
        assert inquiry["owner"] and inquiry["owner"].startswith("key:")
        assert [n["text"] for n in inquiry["notes"]] == ["客户希望 18:00 后回电 / call back after 18:00"]
        consult = shown[-1]
        assert consult["status"] == "closed"
        mine = http.get("/v1/tickets", params={"owner": "me", "closed": "false"}).json()["items"]
        assert inquiry["ticket_id"] in [t["ticket_id"] for t in mine]
