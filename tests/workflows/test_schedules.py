"""The quality reports' Temporal Schedules (SPEC §9, R-KPI) on the dev server (the time-skipping server has no
Schedules): created idempotently at start-up, Asia/Shanghai, and each run stores its report once."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.calendar import HolidaySource
from schedules import ensure_schedules
from store.quality import QualityStore
from tests.workflows.conftest import running_worker
from workflows.visibility import SEARCH_ATTRIBUTES

DEV_SERVER = Path(sys.executable).parent / "temporal"


@pytest.fixture(scope="module")
async def dev_env():
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER), data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES, dev_server_extra_args=["--log-level", "error"],
    )
    yield env
    await env.shutdown()


async def test_r_kpi_schedules_are_created_once_weekly_on_monday_and_monthly_on_the_1st_to_6th(dev_env):
    client = dev_env.client
    assert await ensure_schedules(client, "queue-a") == ["quality-weekly", "quality-monthly"]
    assert await ensure_schedules(client, "queue-b") == ["quality-weekly", "quality-monthly"]  # a restart
    listed = sorted([s.id async for s in await client.list_schedules()])
    assert listed.count("quality-weekly") == 1 and listed.count("quality-monthly") == 1
    weekly = await client.get_schedule_handle("quality-weekly").describe()
    spec = weekly.schedule.spec
    assert spec.time_zone_name == "Asia/Shanghai"
    cal = spec.calendars[0]
    assert [(r.start, r.end) for r in cal.day_of_week] == [(1, 1)] and [r.start for r in cal.hour] == [7]
    action = weekly.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow) and action.task_queue == "queue-b"  # brought up to date
    monthly = (await client.get_schedule_handle("quality-monthly").describe()).schedule.spec.calendars[0]
    assert [(r.start, r.end) for r in monthly.day_of_month] == [(1, 6)] and [r.start for r in monthly.hour] == [7]
    # The next weekly run is a Monday 07:00 in Shanghai.
    upcoming = weekly.info.next_action_times[0].astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert (upcoming.weekday(), upcoming.hour, upcoming.minute) == (0, 7, 0)


async def test_r_kpi_a_run_stores_its_report_once_and_never_changes_it(dev_env, ticket_store):
    client = dev_env.client
    quality = QualityStore(ticket_store.engine)
    async with running_worker(dev_env, ticket_store, HolidaySource(None)) as queue:
        await ensure_schedules(client, queue)
        handle = client.get_schedule_handle("quality-weekly")
        for _ in range(2):  # the second run covers the same week: nothing new is written
            before = (await handle.describe()).info.num_actions
            await handle.trigger()
            deadline = time.monotonic() + 60
            while True:
                info = (await handle.describe()).info
                if info.num_actions > before and not info.running_actions:
                    break
                assert time.monotonic() < deadline, "the scheduled run did not finish"
                await asyncio.sleep(0.2)
        items, total = await quality.reports("weekly", None, 10, 0)
    assert total == 1 and items[0]["report_id"].startswith("weekly-") and "-W" in items[0]["period"]
    stored = await quality.report(items[0]["report_id"])
    assert [i["rule"] for i in stored["body"]["indicators"]] == [f"R-KPI-{n}" for n in range(1, 7)]
    assert stored["body"]["scorecard_spec"][0]["name"] == "customer_service"
