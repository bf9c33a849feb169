"""The real stack: `devstack.py` (what `make run` runs) with its own ports, data and a seconds policy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from devstack import stack_ports
from security.codec import data_converter
from settings import Settings
from tests.conftest import ROOT, _postgres_database

# Product configuration, not a test hook: the same file format with durations in seconds.
SECONDS_POLICY = """
version = "e2e-seconds"

[calendars.default]
timezone = "Asia/Shanghai"
hours = { daily = ["08:00-18:00"] }

[calendars.always]
timezone = "UTC"
hours = { daily = ["00:00-24:00"] }

[clocks]
# Promises the tests keep are long enough for a busy machine; those they watch pass are seconds.
reply_promise = "10 minutes"
callback = "10 minutes"
coordination_deadline = "4 working seconds on always"
callback_retry = "60 seconds"
loss_confirmation = "5 seconds"

[carriers.best]
name = "Best Express"
waybill = '^\\d{12}$'
"""


@dataclass
class Stack:
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    output: list[str] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.env['PARCELCARE_API_PORT']}"

    @property
    def temporal_address(self) -> str:
        return self.env["PARCELCARE_TEMPORAL_ADDRESS"]

    @property
    def key_file(self) -> Path:
        return Path(self.env["PARCELCARE_DATA_DIR"]) / "dev-admin.key"

    @property
    def auth(self) -> dict[str, str]:
        """The development admin key `make run` made, as the README's examples send it."""
        return {"Authorization": f"Bearer {self.key_file.read_text().strip()}"}

    def data_converter(self):
        """The converter the stack's processes use: payloads encrypted with the key `make run` made."""
        local = json.loads((Path(self.env["PARCELCARE_DATA_DIR"]) / "codec.json").read_text())
        settings = Settings(codec_keys=local["keys"], codec_active_key=local["active"])
        return data_converter(settings)

    def start(self, timeout: float = 120) -> None:
        self.output.clear()
        self.proc = subprocess.Popen(
            [sys.executable, "devstack.py"], cwd=ROOT, env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        ready = threading.Event()

        def pump(stream) -> None:
            for line in stream:
                self.output.append(line.rstrip())
                if "Press Ctrl-C" in line:
                    ready.set()

        threading.Thread(target=pump, args=(self.proc.stdout,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("stack did not start:\n" + "\n".join(self.output))

    def wait_for_line(self, predicate, timeout: float = 60) -> str:
        """The first line the supervisor printed that satisfies `predicate`, waiting for it if need be."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((line for line in list(self.output) if predicate(line)), None)
            if found is not None:
                return found
            time.sleep(0.1)
        raise AssertionError("the supervisor never said it; it said:\n" + "\n".join(self.output))

    def children(self) -> dict[str, int]:
        """The stack's processes by name (as devstack.py names them), from the supervisor's children."""
        assert self.proc is not None
        names = {"worker.py": "worker", "api.app:create_app": "api", "security.codec_server": "codec",
                 "start-dev": "temporal"}
        found = {}
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            for pid in (task / "children").read_text().split():
                try:
                    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                except FileNotFoundError:
                    continue
                for arg, name in names.items():
                    if arg.encode() in argv:
                        found[name] = int(pid)
        return found

    def stop(self) -> int:
        """Ctrl-C, as a person would; returns the supervisor's exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        time.sleep(0.3)  # let the output pump drain
        return self.proc.returncode


# The same ladders as the default policy, in seconds on the 24x7 calendar.
LADDER_POLICY = SECONDS_POLICY + """
[[ladders]]
name = "ems"
start = "coordination_deadline"

[[ladders.tiers]]
rule = "R-ESC-1"
after = "0 seconds"
role = "provincial_cs_director"
template = "escalation"

[[ladders.tiers]]
rule = "R-ESC-2"
after = "3 working seconds on always"
role = "provincial_vp"
template = "escalation"

[[ladders.tiers]]
rule = "R-ESC-3"
after = "2 working seconds on always"
role = "hq_cs"
template = "escalation"
answer_within = "2 seconds"

[messages.templates]
escalation = "工单{ticket}(运单{waybill})站点{station}未按时反馈({rule}),请督办。"
"""


def make_stack(tmp: Path, database_url: str | None, policy_text: str = SECONDS_POLICY, **env_extra: str) -> Stack:
    """A stack on free ports with its data under `tmp`; database_url None: the default, in the data dir."""
    policy = tmp / "policy.toml"
    policy.write_text(policy_text)
    env = {
        **{k: v for k, v in os.environ.items() if k != "PARCELCARE_DATABASE_URL"},
        "PARCELCARE_DATA_DIR": str(tmp / "data"),
        **({"PARCELCARE_DATABASE_URL": database_url} if database_url else {}),
        **stack_ports(),
        "PARCELCARE_POLICY": str(policy),
        "PARCELCARE_TASK_QUEUE": "e2e-tickets",
        **env_extra,
    }
    return Stack(env)


@pytest.fixture
def sqlite_stack(tmp_path):
    stack = make_stack(tmp_path, f"sqlite:///{tmp_path / 'data' / 'parcelcare.db'}")
    yield stack
    if stack.proc and stack.proc.poll() is None:
        stack.stop()


@pytest.fixture
def postgres_stack(tmp_path):
    """On PostgreSQL, as in production, where one answers; SQLite otherwise."""
    url, drop = _postgres_database()
    stack = make_stack(tmp_path, url or f"sqlite:///{tmp_path / 'data' / 'parcelcare.db'}")
    yield stack
    if stack.proc and stack.proc.poll() is None:
        stack.stop()
    if drop:
        drop()


@pytest.fixture
def ladder_stack(tmp_path):
    stack = make_stack(tmp_path, f"sqlite:///{tmp_path / 'data' / 'parcelcare.db'}", LADDER_POLICY)
    yield stack
    if stack.proc and stack.proc.poll() is None:
        stack.stop()
