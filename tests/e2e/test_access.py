"""`make run` with its doors locked (issue 12): the development key, 401 without it, no secret on a
command line or in an unauthenticated answer, the codec for this OS user only, keys made and revoked
by the command, a station's key held to its own station."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.e2e.test_stack import ticket_body, until

pytestmark = pytest.mark.e2e


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found.extend(children)
            todo.extend(children)
    return found


def _keys_command(stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "security.keys", *args], cwd=ROOT, env=stack.env,
                          capture_output=True, text=True, timeout=60)


async def test_make_run_locks_its_doors_and_shows_no_secret(sqlite_stack):
    stack = sqlite_stack
    stack.start()
    data = Path(stack.env["PARCELCARE_DATA_DIR"])

    # The development key: made once, only this user reads it, and the banner says where it is.
    assert any(line.strip().startswith("Dev admin key") and str(stack.key_file) in line for line in stack.output)
    assert stack.key_file.stat().st_mode & 0o777 == 0o600
    key = stack.key_file.read_text().strip()
    codec = json.loads((data / "codec.json").read_text())

    # No secret on any command line of the stack (what `ps` shows every user of the machine).
    children = _descendants(stack.proc.pid)
    assert len(children) >= 4  # codec, temporal, worker, api
    secrets = [key, codec["token"], *codec["keys"].values()]
    for pid in children:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        assert not [s for s in secrets if s in argv], f"a secret in the command line of {pid}: {argv[:200]}"

    # The UI's settings, served to anyone: the codec's address and nothing that opens it.
    ui = f"http://127.0.0.1:{stack.env['PARCELCARE_TEMPORAL_UI_PORT']}"
    codec_url = f"http://127.0.0.1:{stack.env['PARCELCARE_CODEC_PORT']}"
    async with httpx.AsyncClient(timeout=30) as plain:
        settings = await plain.get(f"{ui}/api/v1/settings")
        assert settings.status_code == 200 and settings.json()["Codec"]["Endpoint"] == codec_url
        assert not [s for s in secrets if s in settings.text]

        # The codec decodes for this OS user's own processes (the browser, the CLI), from the UI's origin only.
        assert (await plain.post(f"{codec_url}/decode", json={"payloads": []})).status_code == 200
        ui_origin = await plain.post(f"{codec_url}/decode", json={"payloads": []}, headers={"Origin": ui})
        assert ui_origin.status_code == 200 and ui_origin.headers["access-control-allow-origin"] == ui
        foreign = await plain.post(f"{codec_url}/decode", json={"payloads": []},
                                   headers={"Origin": "http://127.0.0.1:1"})
        assert foreign.status_code == 403

        # Unauthenticated calls get a readable 401 in the one error shape; /metrics wants a key too.
        for path in ("/v1/tickets", "/metrics", "/v1/stations/E2E-A/dispatches"):
            r = await plain.get(f"{stack.api}{path}")
            assert r.status_code == 401, path
            assert r.json()["detail"][0]["type"] == "unauthenticated" and r.json()["correlation_id"]
        assert (await plain.get(f"{stack.api}/healthz")).status_code == 200

    if os.getuid() == 0:  # another user of the machine reaches the codec over loopback, and is refused
        probe = ("import urllib.request, urllib.error\n"
                 f"req = urllib.request.Request('{codec_url}/decode', data=b'{{\"payloads\": []}}', method='POST',"
                 " headers={'content-type': 'application/json'})\n"
                 "try:\n    print(urllib.request.urlopen(req, timeout=10).status)\n"
                 "except urllib.error.HTTPError as e:\n    print(e.code)\n")
        other = subprocess.run(["/usr/bin/python3", "-c", probe], user="nobody", capture_output=True, text=True,
                               timeout=30, cwd="/")
        assert other.stdout.strip() == "401", other.stdout + other.stderr

    # The README's way: the development key opens, reads and answers.
    async with httpx.AsyncClient(base_url=stack.api, timeout=30, headers=stack.auth) as http:
        tid = (await http.post("/v1/tickets", json=ticket_body("E2E-A"))).json()["ticket_id"]
        await until(http, tid, lambda v: v["status"] == "awaiting_station")
        assert (await http.get("/metrics")).status_code == 200

    # Keys by the command: made and shown once, listed without their secret, revoked from the next request.
    made = _keys_command(stack, "create", "--name", "station-b", "--role", "station", "--station", "E2E-B")
    assert made.returncode == 0, made.stderr
    station_b = next(line.strip() for line in made.stdout.splitlines() if line.strip().startswith("pck_"))
    listed = _keys_command(stack, "list")
    assert "station-b" in listed.stdout and "dev-admin" in listed.stdout
    assert station_b not in listed.stdout and station_b.split("_", 2)[2] not in listed.stdout
    b = {"Authorization": f"Bearer {station_b}"}
    async with httpx.AsyncClient(base_url=stack.api, timeout=30) as http:
        assert (await http.get("/v1/stations/E2E-B/dispatches", headers=b)).status_code == 200
        # A station's key can neither read nor answer another station's dispatch.
        assert (await http.get("/v1/stations/E2E-A/dispatches", headers=b)).status_code == 404
        answer = await http.post(f"/v1/tickets/{tid}/station-replies", json={"station": "E2E-A", "finding": "x"},
                                 headers=b)
        assert answer.status_code == 404
        revoked = _keys_command(stack, "revoke", station_b.split("_")[1])
        assert revoked.returncode == 0 and "revoked" in revoked.stdout
        refused = await http.get("/v1/stations/E2E-B/dispatches", headers=b)
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"][0]["msg"]
    assert not _keys_command(stack, "create", "--name", "station-b", "--role", "ops").returncode == 0  # never reused
    assert stack.stop() == 0


def _readme_commands() -> list[str]:
    """The shell commands of the README's examples, from "The API by example" to the policy file, each
    joined over its continuation lines: the curl calls and the AUTH= and ID= lines they need."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## The API by example"):text.index("## The policy file")]
    commands: list[str] = []
    for block in section.split("```sh")[1:]:
        body = block.split("```", 1)[0]
        current = ""
        for raw in body.splitlines():
            line = raw.strip().split("  # ", 1)[0].rstrip()  # a trailing comment (its quotes are prose)
            if (not line or line.startswith("#")) and not current:
                continue
            current = f"{current} {line}" if current else line
            if current.endswith("\\"):
                current = current[:-1]
                continue
            if current.count("'") % 2 == 0 and current.count("(") <= current.count(")"):
                if current.startswith(("curl ", "AUTH=", "ID=", "KEY=")):
                    commands.append(current)
                current = ""
    return commands


async def test_the_readmes_examples_work_with_the_printed_development_key(sqlite_stack):
    """Done when: from a fresh clone, the README's examples work with the printed development key. Each
    example is run as written (only the host and port are this stack's): none is refused for want of a
    credential or a role, none fails, and the open and the reads answer."""
    stack = sqlite_stack
    stack.start()
    commands = _readme_commands()
    assert len([c for c in commands if c.startswith("curl ")]) >= 15
    data = Path(stack.env["PARCELCARE_DATA_DIR"])
    workdir = data.parent
    (workdir / ".data").symlink_to(data)  # the README reads .data/dev-admin.key from the checkout
    host = stack.api.removeprefix("http://")
    script = ["set -u"]
    calls = [n for n, c in enumerate(commands) if c.startswith(("curl ", "ID=$(curl "))]
    for n, command in enumerate(commands):
        command = command.replace("localhost:8000", host)
        if command.startswith("curl "):
            script.append(f"echo \"{n} $({command[:4]} -o /dev/null -w '%{{http_code}}'{command[4:]})\"")
        else:
            script.append(command)
        if command.startswith("ID=$(curl "):
            # An open that keeps its id from its own answer: the ticket it names is there to read.
            script.append(f"echo \"{n} $(curl -s -o /dev/null -w '%{{http_code}}' -H \"$AUTH\" "
                          f"{host}/v1/tickets/$ID)\" \"$ID\"")
            script.append("sleep 3")  # the record and the station's outbox follow the workflow
        if "station-replies" in command:
            script.append("sleep 2")
    run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=workdir, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    answers = {int(n): rest for n, *rest in (line.split() for line in run.stdout.splitlines())}
    statuses = {n: int(rest[0]) for n, rest in answers.items()}
    assert sorted(statuses) == calls
    for n, status in statuses.items():
        assert status not in (401, 403) and status < 500, f"{commands[n]} -> {status}"
    opens = [n for n in calls if commands[n].startswith("ID=$(curl ")]
    assert len(opens) == 2  # the inquiry and the loss, each read back by the id its own answer gave
    assert all(statuses[n] == 200 for n in opens), [commands[n] for n in opens]
    assert len({answers[n][1] for n in opens}) == 2
    assert any("Idempotency-Key: crm-call-4711" in commands[n] for n in opens)
    for n, command in enumerate(commands):
        if command.startswith("curl -s -H \"$AUTH\" '") or command.startswith("curl -s -H \"$AUTH\" localhost"):
            assert statuses[n] == 200, f"{command} -> {statuses[n]}"
    assert stack.stop() == 0
