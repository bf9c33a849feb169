"""Station adapters: the local outbox (see the store tests) and the HTTP driver, over real HTTP."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from activities.adapters.station import HttpStationGateway
from domain.dispatch import DispatchOrder
from domain.kinds import Kind
from settings import Settings
from worker import station_gateway


class _StationSystem(BaseHTTPRequestHandler):
    received: list[tuple[str, dict, dict]] = []
    fail_next = False

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.path, dict(self.headers), body))
        status = 503 if type(self).fail_next else 201
        type(self).fail_next = False
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def station_system():
    _StationSystem.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StationSystem)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


ORDER = DispatchOrder(
    ticket_id="abc", round=2, station="SH-PD-01", kind=Kind.INQUIRY, waybill="123456789012",
    description="where", dispatched_at=datetime(2025, 1, 1, tzinfo=UTC),
    due_at=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=20),
)


async def test_http_driver_posts_the_dispatch_with_an_idempotency_key(station_system):
    await HttpStationGateway(station_system).dispatch(ORDER)
    (path, headers, body), = _StationSystem.received
    assert path == "/dispatches"
    assert headers["Idempotency-Key"] == "abc:2"
    assert body["waybill"] == "123456789012" and body["due_at"] == "2025-01-01T20:00:00Z"
    assert "customer" not in body  # stations get no customer data


async def test_http_driver_raises_on_a_failed_delivery_so_the_activity_retries(station_system):
    _StationSystem.fail_next = True
    with pytest.raises(httpx.HTTPStatusError):
        await HttpStationGateway(station_system).dispatch(ORDER)


def test_http_driver_without_a_url_is_a_clear_startup_error():
    with pytest.raises(SystemExit, match="PARCELCARE_STATION_GATEWAY_URL"):
        station_gateway(Settings(station_gateway="http"), store=None)
