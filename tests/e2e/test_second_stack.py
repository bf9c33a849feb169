"""A second stack beside the first, as the README shows: other ports, another data dir, and its UI decodes."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.e2e.conftest import make_stack
from tests.e2e.test_stack import ticket_body, until

pytestmark = pytest.mark.e2e


def _banner(stack, label: str) -> str:
    return stack.wait_for_line(lambda line: line.startswith(f"  {label} ")).split(label, 1)[1].strip()


def _data(stack) -> Path:
    return Path(stack.env["PARCELCARE_DATA_DIR"])


def _ui(stack) -> str:
    return f"http://127.0.0.1:{stack.env['PARCELCARE_TEMPORAL_UI_PORT']}"


@pytest.fixture
def two_stacks(tmp_path):
    # No PARCELCARE_DATABASE_URL: each database must follow its own PARCELCARE_DATA_DIR.
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
    stacks = [make_stack(tmp_path / name, None) for name in ("first", "second")]
    yield stacks
    for stack in stacks:
        if stack.proc and stack.proc.poll() is None:
            stack.stop()


async def test_a_second_stack_on_other_ports_keeps_its_own_data_and_decodes_in_its_own_ui(two_stacks):
    first, second = two_stacks
    first.start()
    second.start()
    for stack in (first, second):
        assert _banner(stack, "Database") == f"sqlite:///{_data(stack) / 'parcelcare.db'}"
        assert _banner(stack, "Temporal UI") == _ui(stack)
        assert (_data(stack) / "parcelcare.db").exists()

    async with httpx.AsyncClient(base_url=second.api, timeout=30, headers=second.auth) as http:
        opened = await http.post("/v1/tickets", json=ticket_body("E2E-SECOND"))
        assert opened.status_code == 201, opened.text
        tid = opened.json()["ticket_id"]
        await until(http, tid, lambda v: v["status"] == "awaiting_station")
    async with httpx.AsyncClient(base_url=first.api, timeout=30, headers=first.auth) as http:
        assert (await http.get("/v1/tickets", params={"station": "E2E-SECOND"})).json()["total"] == 0

    # The second UI is told to decode through the second codec server, which lets that UI's origin in.
    endpoint = (_data(second) / "codec-endpoint").read_text().strip()
    async with httpx.AsyncClient(timeout=30) as plain:
        settings = (await plain.get(f"{_ui(second)}/api/v1/settings")).json()
        assert settings["Codec"]["Endpoint"] == endpoint and settings["DisableNewsFetch"] is True
        preflight = {"Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type,x-namespace"}
        own = await plain.options(f"{endpoint}/decode", headers={"Origin": _ui(second), **preflight})
        other = await plain.options(f"{endpoint}/decode", headers={"Origin": _ui(first), **preflight})
        assert own.status_code == 200 and own.headers["access-control-allow-origin"] == _ui(second)
        assert other.status_code >= 400 and "access-control-allow-origin" not in other.headers

        # What the UI does next: POST the history's ciphertext with its origin, and read the ticket in clear.
        raw = await Client.connect(second.temporal_address, data_converter=pydantic_data_converter)
        history = await raw.get_workflow_handle(f"ticket-{tid}").fetch_history()
        sealed = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
        assert b"13812345678" not in sealed.data
        decoded = await plain.post(f"{endpoint}/decode", json={"payloads": [MessageToDict(sealed)]},
                                   headers={"Origin": _ui(second), "X-Namespace": "default"})
        assert decoded.status_code == 200 and decoded.headers["access-control-allow-origin"] == _ui(second)
        opening = json.loads(base64.b64decode(decoded.json()["payloads"][0]["data"]))
        assert opening["ticket_id"] == tid and opening["customer"]["phone"] == "+8613812345678"

    # The banner's CLI command reaches the second stack and decodes through its codec server.
    cli = _banner(second, "Temporal CLI")
    listed = subprocess.run(["bash", "-c", cli], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert f"ticket-{tid}" in listed.stdout
    show = cli.replace(" workflow list ", f" workflow show --workflow-id ticket-{tid} --output json ")
    shown = subprocess.run(["bash", "-c", show], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    started = json.loads(shown.stdout)["events"][0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]
    assert base64.b64decode(started["metadata"]["encoding"]) == b"json/plain"  # decoded by the codec server
    assert json.loads(base64.b64decode(started["data"]))["customer"]["phone"] == "+8613812345678"

    assert second.stop() == 0 and first.stop() == 0
