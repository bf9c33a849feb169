"""Claims adapters: the HTTP driver over real HTTP, the local outbox, and the factory."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from activities.adapters.claims import HttpClaimsGateway, OutboxClaimsGateway, claims_gateway
from domain.claims import ClaimDetails, ClaimFiling
from domain.customer import Customer, CustomerRole
from domain.kinds import Kind
from settings import Settings
from store.claims import ClaimStore
from store.db import create_engine_for
from store.migrate import upgrade


class _ClaimsSystem(BaseHTTPRequestHandler):
    received: list[tuple[str, dict, dict]] = []
    status = 201
    hang: threading.Event | None = None  # when set: hold the answer until the event fires

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.path, dict(self.headers), body))
        if type(self).hang is not None:
            type(self).hang.wait(5)
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def claims_system():
    _ClaimsSystem.received, _ClaimsSystem.status, _ClaimsSystem.hang = [], 201, None
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ClaimsSystem)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    if _ClaimsSystem.hang is not None:
        _ClaimsSystem.hang.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
async def gateway(claims_system):
    g = HttpClaimsGateway(claims_system + "/", timeout=0.2)
    yield g
    await g.aclose()


FILING = ClaimFiling(
    ticket_id="abc", kind=Kind.DAMAGE, carrier="best", waybill="123456789012",
    claimant=Customer(name="李四", phone="+8613912345678", role=CustomerRole.SENDER),
    details=ClaimDetails(contents="vase", declared_value=Decimal("3999.90"), packaging="carton",
                         freight=Decimal("12.50"), insured=False),
    reason="damage accepted", filed_at=datetime(2025, 1, 1, 8, tzinfo=UTC),
)


async def test_http_driver_posts_the_filing_with_an_idempotency_key(gateway):
    await gateway.file(FILING)
    (path, headers, body), = _ClaimsSystem.received
    assert path == "/claims"
    assert headers["Idempotency-Key"] == "claim:abc"
    assert headers["Content-Type"] == "application/json"
    assert body == FILING.model_dump(mode="json")
    assert body["details"]["declared_value"] == "3999.90"  # exact, not a float
    assert body["filed_at"] == "2025-01-01T08:00:00Z"
    assert ClaimFiling.model_validate(body) == FILING


async def test_http_driver_counts_a_409_as_already_filed(gateway):
    _ClaimsSystem.status = 409
    await gateway.file(FILING)  # no exception: the claims system has it
    assert len(_ClaimsSystem.received) == 1


@pytest.mark.parametrize("status", [500, 503])
async def test_http_driver_raises_on_a_server_error_so_the_activity_retries(gateway, status):
    _ClaimsSystem.status = status
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await gateway.file(FILING)
    assert caught.value.response.status_code == status


async def test_http_driver_raises_on_a_client_error_other_than_409(gateway):
    _ClaimsSystem.status = 422
    with pytest.raises(httpx.HTTPStatusError):
        await gateway.file(FILING)


async def test_http_driver_times_out_when_the_claims_system_never_answers(gateway):
    _ClaimsSystem.hang = threading.Event()
    with pytest.raises(httpx.TimeoutException):
        await gateway.file(FILING)
    assert len(_ClaimsSystem.received) == 1  # it got the request; the answer never came


async def test_http_driver_raises_when_nothing_listens():
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    g = HttpClaimsGateway(f"http://127.0.0.1:{port}", timeout=0.5)
    with pytest.raises(httpx.ConnectError):
        await g.file(FILING)
    await g.aclose()


async def test_http_driver_uses_a_client_it_is_given_and_leaves_it_open(claims_system):
    async with httpx.AsyncClient() as client:
        g = HttpClaimsGateway(claims_system, client=client, timeout=1.0)
        await g.file(FILING)
        await g.aclose()
        assert not client.is_closed
    assert [r[0] for r in _ClaimsSystem.received] == ["/claims"]


async def test_outbox_gateway_files_once(sqlite_url):
    upgrade(sqlite_url)
    engine = create_engine_for(sqlite_url)
    store = ClaimStore(engine)
    gateway = claims_gateway(Settings(claims_gateway="outbox"), store)
    assert isinstance(gateway, OutboxClaimsGateway)
    await gateway.file(FILING)
    await gateway.file(FILING)  # an activity retry
    items, total = await store.claims(pending_only=True, limit=10, offset=0)
    await engine.dispose()
    assert total == 1 and items[0].ticket_id == "abc" and items[0].details == FILING.details


async def test_factory_builds_the_http_driver_when_given_a_url():
    gateway = claims_gateway(Settings(claims_gateway="http", claims_gateway_url="http://x"), store=None)
    assert isinstance(gateway, HttpClaimsGateway)
    await gateway.aclose()


def test_http_driver_without_a_url_is_a_clear_startup_error():
    with pytest.raises(SystemExit, match="PARCELCARE_CLAIMS_GATEWAY_URL"):
        claims_gateway(Settings(claims_gateway="http"), store=None)
