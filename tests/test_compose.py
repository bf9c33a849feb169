"""The production stack: docker-compose.yml, Dockerfile and .dockerignore (docs/production.md).

Two layers of checks:

- A real Compose implementation (`docker compose` v2 and/or Debian's `docker-compose` v1,
  whichever are installed) parses and interpolates the file: `config -q` must pass with the
  secrets set, and must refuse, naming the variable, when one is missing. With no parser the
  test is skipped locally and fails in CI (`CI` set), which installs one (.ci/run).
- Structural checks with PyYAML, always: pinned images, the one-shot jobs and their order, a
  worker that scales, no secret literals, the search attributes. The shell scripts of the two
  Temporal jobs are also run here, against fake `temporal` / `temporal-sql-tool` commands.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from workflows.visibility import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"

# Dummy values for the variables the file requires (`${VAR:?...}`).
REQUIRED_SECRETS = {
    "PARCELCARE_POSTGRES_PASSWORD": "dummy-db-password",
    "PARCELCARE_CODEC_KEYS": '{"k1": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}',
    "PARCELCARE_CODEC_ACTIVE_KEY": "k1",
    "PARCELCARE_OIDC_ISSUER": "https://idp.example/realms/carrier",
    "PARCELCARE_UI_OIDC_CLIENT_SECRET": "dummy-ui-client-secret",
    "PARCELCARE_PHONE_HASH_KEY": "dummy-phone-hash-key",
}
ONE_SHOT_JOBS = {"temporal-schema", "temporal-setup", "migrate"}
PROJECT_SERVICES = {"migrate", "api", "worker", "codec"}
EXPECTED_SERVICES = {"postgres", "temporal-schema", "temporal", "temporal-setup", "temporal-ui", "codec",
                     "migrate", "api", "worker"}
EXPECTED_SEARCH_ATTRIBUTES = {
    "TicketKind": "Keyword", "TicketStatus": "Keyword", "Carrier": "Keyword", "Station": "Keyword",
    "Province": "Keyword", "Urgent": "Bool", "EscalationTier": "Int", "NextDeadline": "Datetime",
    "Breached": "Bool",
}
# (TEMPORAL_CODEC_PASS_ACCESS_TOKEN is a switch: whether the UI forwards the user's token, not a token.)
_SECRET_NAME = re.compile(r"PASSWORD|PWD|SECRET|(?<!PASS_ACCESS_)TOKEN|CODEC_KEYS|ACCESS_KEY")
_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}")


# --- a real Compose parser ----------------------------------------------------------------------

def _parsers() -> list[tuple[str, list[str]]]:
    found = []
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        found.append(("docker compose", [docker, "compose"]))
    v1 = shutil.which("docker-compose")
    if v1:
        found.append(("docker-compose", [v1]))
    return found


PARSERS = _parsers()


@pytest.fixture(params=PARSERS or [None], ids=[name for name, _ in PARSERS] or ["no-parser"])
def compose(request, tmp_path):
    """Runs `<compose> -f docker-compose.yml ARGS` in a clean environment: the dummy secrets (or
    those given), no variables of the caller's shell and an empty env file instead of ./.env."""
    if request.param is None:
        reason = ("no Compose parser: install Debian's docker-compose (apt-get install docker-compose) "
                  "or the docker compose plugin")
        if os.environ.get("CI"):
            pytest.fail(f"CI must validate docker-compose.yml with a real parser: {reason}")
        pytest.skip(reason)
    _, argv = request.param
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    home = tmp_path / "home"
    home.mkdir()

    def run(*args: str, secrets: dict[str, str] = REQUIRED_SECRETS) -> subprocess.CompletedProcess:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8", **secrets}
        return subprocess.run(
            [*argv, "--env-file", str(env_file), "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE), *args],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )

    return run


def test_compose_config_is_valid(compose):
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr
    result = compose("config")
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)["services"]
    assert set(resolved) == EXPECTED_SERVICES
    assert resolved["api"]["environment"]["PARCELCARE_DATABASE_URL"] == (
        "postgresql://parcelcare:dummy-db-password@postgres:5432/parcelcare")
    ui = resolved["temporal-ui"]["environment"]
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == "http://localhost:8234"  # no token: anyone may read the UI's settings
    assert ui["TEMPORAL_AUTH_PROVIDER_URL"] == REQUIRED_SECRETS["PARCELCARE_OIDC_ISSUER"]
    assert resolved["api"]["environment"]["PARCELCARE_OIDC_ISSUER"] == REQUIRED_SECRETS["PARCELCARE_OIDC_ISSUER"]
    assert resolved["codec"]["environment"]["PARCELCARE_CODEC_KEYS"] == REQUIRED_SECRETS["PARCELCARE_CODEC_KEYS"]


@pytest.mark.parametrize("missing", sorted(REQUIRED_SECRETS))
def test_compose_refuses_a_missing_secret(compose, missing):
    secrets = {k: v for k, v in REQUIRED_SECRETS.items() if k != missing}
    result = compose("config", "-q", secrets=secrets)
    assert result.returncode != 0
    assert missing in result.stderr, f"the error should name {missing}: {result.stderr}"


# --- structure, with PyYAML ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(spec) -> dict:
    return spec["services"]


def _default(value: str) -> str:
    """A value as Compose resolves it with no variables set (`${X:-d}` -> d)."""
    return _REFERENCE.sub(lambda m: m["arg"] if m["op"] in (":-", "-") else "", value)


def _depends(service: dict) -> dict[str, str]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (cond or {}).get("condition", "service_started") for name, cond in deps.items()}


def _script(service: dict) -> str:
    """The shell script of a job (entrypoint sh -c, command [script]), as the container's shell sees it."""
    assert service["entrypoint"][0] == "/bin/sh" and service["entrypoint"][-1].endswith("c")
    (script,) = service["command"]
    return script.replace("$$", "$")


def test_compose_spec_without_version_and_with_the_services(spec, services):
    assert "version" not in spec
    assert set(services) == EXPECTED_SERVICES
    assert "temporalio/auto-setup" not in COMPOSE_FILE.read_text(encoding="utf-8")


def test_every_image_is_pinned(services):
    for name, service in services.items():
        image = service.get("image")
        assert image or "build" in service, f"{name} has neither image nor build"
        if image is None:
            continue
        resolved = _default(image)
        ref, _, tag = resolved.rpartition(":")
        assert ref and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest", f"{name}: image {image!r} is not pinned"
        if name not in PROJECT_SERVICES:
            assert re.fullmatch(r"\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?", tag), f"{name}: {image!r} is not an exact version"
    assert re.fullmatch(r"postgres:16\.\d+(-\w+)?", services["postgres"]["image"])
    server = services["temporal"]["image"]
    assert re.fullmatch(r"temporalio/server:1\.[23]\d\.\d+", server)
    # The schema belongs to the server version: the tools that write it must be the same version.
    version = server.split(":")[1]
    for job in ("temporal-schema", "temporal-setup"):
        assert services[job]["image"] == f"temporalio/admin-tools:{version}"
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:")


def test_project_services_use_the_project_image(services):
    images = {_default(services[name]["image"]) for name in PROJECT_SERVICES}
    assert len(images) == 1
    for name in PROJECT_SERVICES:
        assert services[name]["build"]["context"] == "."
    assert services["migrate"]["command"] == ["python", "-m", "store.migrate"]
    assert services["worker"]["command"] == ["python", "worker.py"]
    assert services["api"]["command"][:3] == ["uvicorn", "--factory", "api.app:create_app"]
    assert services["codec"]["command"][:3] == ["uvicorn", "--factory", "security.codec_server:create_codec_app"]
    assert "--port" in services["codec"]["command"] and "8234" in services["codec"]["command"]


def test_one_shot_jobs_and_the_dependency_order(services):
    for job in ONE_SHOT_JOBS:
        assert services[job].get("restart", "no") == "no", f"{job} is a one-shot job"
        assert not services[job].get("ports"), f"{job} publishes no port"
    completed = "service_completed_successfully"
    assert _depends(services["temporal-schema"]) == {"postgres": "service_healthy"}
    assert _depends(services["temporal"]) == {"temporal-schema": completed}
    assert _depends(services["temporal-setup"]) == {"temporal": "service_healthy"}
    assert _depends(services["migrate"]) == {"postgres": "service_healthy"}
    for name in ("api", "worker"):
        assert _depends(services[name]) == {"migrate": completed, "temporal-setup": completed}
    assert "temporal" in _depends(services["temporal-ui"])
    for name in ("postgres", "temporal", "api", "codec"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has a healthcheck"
    assert "/healthz" in " ".join(services["api"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_the_long_running_services_publish_their_ports(services):
    def published(name: str) -> set[str]:
        return {_default(p).rsplit(":", 1)[1] for p in services[name].get("ports", [])}

    assert published("api") == {"8000"}
    assert published("codec") == {"8234"}
    assert published("temporal-ui") == {"8080"}


def test_the_worker_scales(services):
    worker = services["worker"]
    assert "container_name" not in worker
    assert "hostname" not in worker
    assert not worker.get("ports"), "a fixed host port would stop --scale worker=N"
    assert worker.get("stop_grace_period")
    assert not any("container_name" in s for s in services.values())


def test_the_common_environment_is_shared(spec, services):
    common = spec["x-parcelcare-env"]
    assert common["PARCELCARE_TEMPORAL_ADDRESS"] == "temporal:7233"
    assert _default(common["PARCELCARE_DATABASE_URL"]).endswith("@postgres:5432/parcelcare")
    assert common["PARCELCARE_DATABASE_URL"].startswith("postgresql://")
    for name in ("migrate", "api", "worker"):
        env = services[name]["environment"]
        assert {k: env[k] for k in common} == common, f"{name} takes the common environment"


def test_no_secret_is_written_in_the_file(spec, services):
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    # Every reference to a secret variable is `${VAR:?message}` or a pass-through: never a default.
    for ref in _REFERENCE.finditer(text):
        if _SECRET_NAME.search(ref["name"]):
            assert ref["op"] in (":?", "?"), f"${{{ref['name']}...}} must be required, never defaulted"
    environments = [spec["x-parcelcare-env"], *(s.get("environment", {}) for s in services.values())]
    for env in environments:
        assert isinstance(env, dict), "environment is written as a mapping"
        for key, value in env.items():
            if _SECRET_NAME.search(key) and value is not None:
                assert _REFERENCE.fullmatch(str(value)), f"{key} must come from the environment, not {value!r}"
    codec = services["codec"]["environment"]
    for key in ("PARCELCARE_CODEC_KEYS", "PARCELCARE_CODEC_ACTIVE_KEY"):
        ref = _REFERENCE.fullmatch(codec[key])
        assert ref and ref["name"] == key and ref["op"] == ":?", key
    assert "PARCELCARE_CODEC_CORS_ORIGINS" in codec
    assert "PARCELCARE_CODEC_TOKEN" not in text  # issue 12: no shared token, in a path or anywhere
    # The database URL's password is a reference too.
    url = spec["x-parcelcare-env"]["PARCELCARE_DATABASE_URL"]
    parts = re.fullmatch(r"postgresql://(?P<user>\$\{[^}]*\}):(?P<password>\$\{[^}]*\})@postgres:5432/parcelcare", url)
    assert parts, url
    password = _REFERENCE.fullmatch(parts["password"])
    assert password["name"] == "PARCELCARE_POSTGRES_PASSWORD" and password["op"] == ":?"


def test_the_ui_reaches_temporal_and_the_codec(services):
    env = services["temporal-ui"]["environment"]
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["TEMPORAL_CORS_ORIGINS"]
    assert _default(env["TEMPORAL_CODEC_ENDPOINT"]) == "http://localhost:8234"


def test_the_ui_signs_people_in_is_read_only_and_the_codec_checks_their_token(services):
    """Issue 12: the UI behind the identity provider, no write actions for ops, the codec server verifying the
    access token the UI forwards (never a shared token in the UI's public settings)."""
    ui = services["temporal-ui"]["environment"]
    assert ui["TEMPORAL_AUTH_ENABLED"] == "true" and ui["TEMPORAL_AUTH_TYPE"] == "oidc"
    issuer = "${PARCELCARE_OIDC_ISSUER:?"
    assert ui["TEMPORAL_AUTH_PROVIDER_URL"].startswith(issuer) and ui["TEMPORAL_AUTH_ISSUER_URL"].startswith(issuer)
    assert ui["TEMPORAL_AUTH_CLIENT_SECRET"].startswith("${PARCELCARE_UI_OIDC_CLIENT_SECRET:?")
    assert _default(ui["TEMPORAL_AUTH_CALLBACK_URL"]) == "http://localhost:8080/auth/sso/callback"
    assert ui["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    assert ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true"
    codec = services["codec"]["environment"]
    assert codec["PARCELCARE_OIDC_ISSUER"].startswith(issuer)
    assert _default(codec["PARCELCARE_OIDC_AUDIENCE"]) == _default(ui["TEMPORAL_AUTH_CLIENT_ID"])
    assert _default(codec["PARCELCARE_CODEC_ROLES"]) == '["ops"]'


def test_temporal_takes_only_clients_with_a_certificate(spec, services):
    """Mutual TLS on the frontend; the worker, the API, the UI and the setup job each bring their own."""
    server = services["temporal"]["environment"]
    assert server["TEMPORAL_TLS_REQUIRE_CLIENT_AUTH"] == "true"
    assert server["TEMPORAL_TLS_CLIENT1_CA_CERT"] and server["TEMPORAL_TLS_FRONTEND_CERT"]
    mounts = {name: [_default(v) for v in services[name].get("volumes", [])]
              for name in ("temporal", "api", "worker", "temporal-ui", "temporal-setup")}
    assert mounts["temporal"] == ["./tls/temporal:/etc/temporal/tls:ro"]
    assert mounts["api"] == ["./tls/api:/etc/parcelcare/tls:ro"]
    assert mounts["worker"] == ["./tls/worker:/etc/parcelcare/tls:ro"]
    assert mounts["temporal-setup"] == ["./tls/admin:/etc/parcelcare/tls:ro"]
    assert mounts["temporal-ui"] == ["./tls/ui:/etc/temporal-ui/tls:ro"]
    common = spec["x-parcelcare-env"]
    assert common["PARCELCARE_TEMPORAL_TLS_CERT"] == "/etc/parcelcare/tls/client.pem"
    assert common["PARCELCARE_TEMPORAL_TLS_SERVER_NAME"] == server["TEMPORAL_TLS_FRONTEND_SERVER_NAME"] == "temporal"
    ui = services["temporal-ui"]["environment"]
    assert ui["TEMPORAL_TLS_CERT"].startswith("/etc/temporal-ui/tls/") and ui["TEMPORAL_TLS_SERVER_NAME"] == "temporal"


def test_temporal_runs_on_postgresql(services):
    env = services["temporal"]["environment"]
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "postgres"
    assert (env["DBNAME"], env["VISIBILITY_DBNAME"]) == ("temporal", "temporal_visibility")
    assert env["BIND_ON_IP"] == "0.0.0.0"


def _search_attributes(services) -> dict[str, str]:
    pairs = services["temporal-setup"]["environment"]["PARCELCARE_SEARCH_ATTRIBUTES"].split()
    return dict(pair.split("=", 1) for pair in pairs)


def test_the_setup_job_registers_the_search_attributes(services):
    registered = _search_attributes(services)
    assert registered == EXPECTED_SEARCH_ATTRIBUTES
    # Every attribute the workflows set must be registered, with the same type.
    cli_type = {"KEYWORD": "Keyword", "BOOL": "Bool", "INT": "Int", "DATETIME": "Datetime", "TEXT": "Text",
                "DOUBLE": "Double", "KEYWORD_LIST": "KeywordList"}
    for key in SEARCH_ATTRIBUTES:
        assert registered.get(key.name) == cli_type[key.indexed_value_type.name], key.name


def test_the_job_scripts_leave_nothing_for_compose_to_interpolate(services):
    for job in ("temporal-schema", "temporal-setup", "temporal"):
        raw = services[job]["command"][0]
        assert not re.search(r"\$[{A-Za-z_(]", raw.replace("$$", "")), f"{job}: write $$ for the shell's $"


# --- the job scripts, run against fakes ---------------------------------------------------------

def _fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _run_job(service: dict, tmp_path: Path, fakes: dict[str, str]) -> tuple[subprocess.CompletedProcess, list[str]]:
    sh = shutil.which("sh")
    if sh is None:
        pytest.skip("no POSIX sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for name, body in {"sleep": "exit 0\n", **fakes}.items():
        _fake(bin_dir, name, f'echo "{name} $*" >> "{log}"\n{body}')
    env = {"PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}", "STATE": str(tmp_path)}
    for key, value in service["environment"].items():
        env[key] = _default(str(value)) if "?" not in str(value) else "dummy"
    result = subprocess.run([sh, "-euc", _script(service)], env=env, capture_output=True, text=True, timeout=60)
    calls = log.read_text().splitlines() if log.exists() else []
    return result, [c for c in calls if not c.startswith("sleep")]


def test_the_schema_job_sets_up_and_migrates_both_schemas(services, tmp_path):
    result, calls = _run_job(services["temporal-schema"], tmp_path, {"temporal-sql-tool": "exit 0\n"})
    assert result.returncode == 0, result.stderr
    connect = "temporal-sql-tool --plugin postgres12 --ep postgres --port 5432 --user parcelcare"
    v12 = "/etc/temporal/schema/postgresql/v12"
    assert calls == [
        f"{connect} --db temporal create",
        f"{connect} --db temporal setup-schema -v 0.0",
        f"{connect} --db temporal update-schema -d {v12}/temporal/versioned",
        f"{connect} --db temporal_visibility create",
        f"{connect} --db temporal_visibility setup-schema -v 0.0",
        f"{connect} --db temporal_visibility update-schema -d {v12}/visibility/versioned",
    ]


def test_the_schema_job_fails_when_a_step_fails(services, tmp_path):
    failing = 'case "$*" in *update-schema*) echo "boom" >&2; exit 1;; esac\nexit 0\n'
    result, calls = _run_job(services["temporal-schema"], tmp_path, {"temporal-sql-tool": failing})
    assert result.returncode != 0
    assert len(calls) == 3  # stopped at the first update-schema


# A fake Temporal CLI: healthy after two tries, namespace absent, the search attribute create
# answers from $STATE/sa.mode: "ok", "exists" (already there) or "other" (already, other type).
_FAKE_TEMPORAL = r"""
case "$*" in
  "operator cluster health"*)
    n=$(cat "$STATE/health" 2>/dev/null || echo 0); echo $((n + 1)) > "$STATE/health"
    [ "$n" -ge 2 ] && exit 0; echo "unavailable" >&2; exit 1 ;;
  "operator namespace describe"*)
    [ -f "$STATE/ns" ] && exit 0; echo "Namespace not found" >&2; exit 1 ;;
  "operator namespace create"*)
    touch "$STATE/ns"; echo "Namespace created"; exit 0 ;;
  "operator search-attribute create"*)
    case "$(cat "$STATE/sa.mode")" in
      ok) echo "Search attributes have been added"; exit 0 ;;
      exists) echo "Error: search attribute already exists" >&2; exit 1 ;;
      other) echo "Error: search attribute X already exists and has different type Int" >&2; exit 1 ;;
    esac ;;
esac
echo "unexpected: $*" >&2; exit 2
"""


def test_the_setup_job_creates_the_namespace_and_the_attributes(services, tmp_path):
    (tmp_path / "sa.mode").write_text("ok")
    result, calls = _run_job(services["temporal-setup"], tmp_path, {"temporal": _FAKE_TEMPORAL})
    assert result.returncode == 0, result.stderr
    address = "--address temporal:7233"
    tls = ("--tls-ca-path /etc/parcelcare/tls/ca.pem --tls-cert-path /etc/parcelcare/tls/client.pem "
           "--tls-key-path /etc/parcelcare/tls/client.key --tls-server-name temporal")
    assert all(c.endswith(tls) for c in calls), calls  # every call with the admin certificate (mutual TLS)
    assert f"temporal operator namespace create {address} --namespace parcelcare --retention 720h {tls}" in calls
    created = [c for c in calls if "search-attribute create" in c]
    assert created == [f"temporal operator search-attribute create {address} --namespace parcelcare "
                       f"--name {name} --type {kind} {tls}" for name, kind in EXPECTED_SEARCH_ATTRIBUTES.items()]


def test_the_setup_job_can_run_again(services, tmp_path):
    (tmp_path / "ns").touch()
    (tmp_path / "sa.mode").write_text("exists")
    result, calls = _run_job(services["temporal-setup"], tmp_path, {"temporal": _FAKE_TEMPORAL})
    assert result.returncode == 0, result.stderr
    assert not any("namespace create" in c for c in calls)
    assert sum("search-attribute create" in c for c in calls) == len(EXPECTED_SEARCH_ATTRIBUTES)
    assert "already exists" in result.stdout


def test_the_setup_job_refuses_an_attribute_of_another_type(services, tmp_path):
    (tmp_path / "sa.mode").write_text("other")
    result, _ = _run_job(services["temporal-setup"], tmp_path, {"temporal": _FAKE_TEMPORAL})
    assert result.returncode != 0
    assert "different type" in result.stderr


# --- the image ----------------------------------------------------------------------------------

def test_the_dockerfile():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    instructions = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    (base,) = [line for line in instructions if line.startswith("FROM ")]
    assert re.fullmatch(r"FROM python:3\.11\.\d+-slim-bookworm", base), base
    assert "pip install --no-cache-dir -r requirements.lock" in text
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the image runs as a non-root user"
    cmd = [line for line in instructions if line.startswith("CMD ")][-1]
    assert cmd == 'CMD ["uvicorn", "--factory", "api.app:create_app", "--host", "0.0.0.0", "--port", "8000"]'


def test_the_dockerignore():
    entries = {line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()}
    for needed in (".venv", ".data", ".git", "tests/histories", ".env"):
        assert needed in entries, needed
    assert entries & {"__pycache__", "**/__pycache__"}
