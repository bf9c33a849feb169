"""`make run`'s supervisor, settings and access log, on real child processes (the whole stack: tests/e2e)."""

from __future__ import annotations

import io
import logging
import os
import sys
import time

import pytest

from devstack import RestartPolicy, Stack, StackStopped
from settings import ROOT, MaskedAccessLog, Settings, configure_logging, mask_request_target

CRASH = [sys.executable, "-c", "import sys; sys.exit(3)"]
LIVE = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def supervised(tmp_path):
    lines: list[str] = []
    stack = Stack(Settings(data_dir=tmp_path), RestartPolicy(first_delay=0.1, max_delay=0.4, stable_after=2.0,
                                                             give_up_after=4), say=lines.append)
    yield stack, lines
    stack.stop()


def _run_until(stack: Stack, done, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "supervision never got there"
        stack.check(time.monotonic())
        time.sleep(0.05)


def test_a_killed_process_is_restarted_with_a_line_saying_so(supervised):
    stack, lines = supervised
    first = stack._spawn("worker", LIVE)
    first.kill()
    _run_until(stack, lambda: any("restarted" in line for line in lines))
    assert lines[0].startswith("worker exited (killed by SIGKILL) after 0s; restarting it in 0.1s")
    assert str(stack.logs / "worker.log") in lines[0]
    [(name, second)] = stack.procs
    assert name == "worker" and second.pid != first.pid and second.poll() is None
    assert lines[1] == f"worker restarted (pid {second.pid})"
    log = (stack.logs / "worker.log").read_text()
    assert "exited (killed by SIGKILL)" in log and "restarting" in log


def test_quick_crashes_back_off_then_the_supervisor_gives_up_and_says_why(supervised):
    stack, lines = supervised
    stack._spawn("api", CRASH)
    with pytest.raises(StackStopped) as stopped:
        _run_until(stack, lambda: False)
    delays = [line.split("restarting it in ")[1].split("s")[0] for line in lines if "restarting it in" in line]
    assert delays == ["0.1", "0.2", "0.4"]  # doubling, capped at max_delay
    assert "its 3 crashes in a row soon after starting (the stack stops at 4)" in lines[-2]
    assert str(stopped.value).startswith("api exited (exit code 3); it crashed 4 times in a row, each within 2s")
    assert "not restarted again and the stack stops" in str(stopped.value)


def test_a_run_longer_than_stable_after_starts_the_count_again(tmp_path):
    lines: list[str] = []
    stack = Stack(Settings(data_dir=tmp_path), RestartPolicy(first_delay=0.1, stable_after=0.5, give_up_after=2),
                  say=lines.append)
    try:
        proc = stack._spawn("worker", LIVE)
        for _ in range(3):  # three deaths, each after a stable run: never two quick ones in a row
            time.sleep(0.6)
            proc.kill()
            _run_until(stack, lambda dead=proc: stack.children[0].proc is not dead)
            proc = stack.children[0].proc
        assert sum("restarted" in line for line in lines) == 3 and "crashes in a row" not in " ".join(lines)
    finally:
        stack.stop()


def test_the_temporal_servers_death_stops_the_stack_saying_why(supervised):
    stack, lines = supervised
    stack._spawn("codec", LIVE)
    stack._spawn("temporal", CRASH, fatal="the worker and the API cannot work without it")
    with pytest.raises(StackStopped) as stopped:
        _run_until(stack, lambda: False)
    assert str(stopped.value).startswith("temporal exited (exit code 3), so the stack stops: the worker and the "
                                         "API cannot work without it; see ")
    assert lines == []


def test_the_data_dir_moves_the_database_and_the_ui_port_moves_the_codec_origins(tmp_path):
    moved = Settings(data_dir=tmp_path / "second", temporal_ui_port=18233)
    assert moved.database_url == f"sqlite:///{tmp_path / 'second' / 'parcelcare.db'}"
    assert moved.codec_cors_origins == ["http://localhost:18233", "http://127.0.0.1:18233"]
    assert Settings().codec_cors_origins == ["http://localhost:8233", "http://127.0.0.1:8233"]
    on_a_host = Settings(temporal_address="10.0.0.5:7233", temporal_ui_port=8300)
    assert "http://10.0.0.5:8300" in on_a_host.codec_cors_origins
    explicit = Settings(data_dir=tmp_path, database_url="postgresql://db/parcelcare",
                        codec_cors_origins=["https://ui.example"])
    assert explicit.database_url == "postgresql://db/parcelcare"
    assert explicit.codec_cors_origins == ["https://ui.example"]


@pytest.mark.parametrize(("target", "logged"), [
    ("/v1/tickets/0123abcd0123abcd", "/v1/tickets/0123abcd0123abcd"),
    ("/v1/tickets?phone=13812345678&breached=true", "/v1/tickets?phone=*&breached=*"),
    ("/v1/tickets?13812345678", "/v1/tickets?*=*"),
    ("/v1/tickets?", "/v1/tickets?"),
    ("/docs", "/docs"),
])
def test_request_targets_lose_query_values(target, logged):
    assert mask_request_target(target) == logged


def test_the_access_log_goes_through_the_process_handler_masked(tmp_path):
    root, access = logging.getLogger(), logging.getLogger("uvicorn.access")
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate, lg.filters[:]) for lg in (root, access)]
    try:
        configure_logging(Settings(data_dir=tmp_path), "api")
        configure_logging(Settings(data_dir=tmp_path), "api")  # twice, as a restarted factory would: one filter
        out = io.StringIO()
        root.handlers[0].setStream(out)
        access.setLevel(logging.INFO)
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                    "/v1/tickets?phone=13812345678", "1.1", 200)
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "DELETE",
                    "/v1/directory/hq_cs/hq/13900000001", "1.1", 204)
        assert sum(isinstance(f, MaskedAccessLog) for f in access.filters) == 1
    finally:
        for lg, handlers, level, propagate, filters in saved:
            lg.handlers[:], lg.filters[:], lg.propagate = handlers, filters, propagate
            lg.setLevel(level)
    lines = out.getvalue()
    assert 'api uvicorn.access INFO 127.0.0.1:5000 - "GET /v1/tickets?phone=* HTTP/1.1" 200' in lines
    assert '"DELETE /v1/directory/hq_cs/hq/139****0001 HTTP/1.1" 204' in lines  # RedactingFilter's, as everywhere
    assert "13812345678" not in lines and "13900000001" not in lines


def test_the_readme_shows_the_banner_make_run_prints(monkeypatch):
    """Addresses, the ticket view link and the CLI codec command, for the default settings."""
    for name in [n for n in os.environ if n.startswith("PARCELCARE_")]:
        monkeypatch.delenv(name)
    banner = Stack(Settings()).banner().replace(str(ROOT), "/…")
    assert "--codec-endpoint \"$(cat /…/.data/codec-endpoint)\"" in banner
    assert f"```\n{banner}\n```" in (ROOT / "README.md").read_text()


def test_search_attributes_wait_for_a_frontend_that_is_not_healthy_yet(tmp_path, monkeypatch):
    """The dev server's port opens before its frontend serves: the connect then fails with a RuntimeError
    ("Frontend is not healthy yet"), which the start waits out instead of giving up (a CI run did)."""
    import devstack

    calls: list[str] = []

    async def connect(settings):
        calls.append("connect")
        if len(calls) < 3:
            raise RuntimeError("Failed client connect: Frontend is not healthy yet")
        return "client"

    async def register(client):
        calls.append(f"register {client}")

    monkeypatch.setattr(devstack, "connect_temporal", connect)
    monkeypatch.setattr(devstack, "register_search_attributes", register)
    Stack(Settings(data_dir=tmp_path))._register_search_attributes()
    assert calls == ["connect", "connect", "connect", "register client"]
