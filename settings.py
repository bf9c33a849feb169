"""One settings object for every process, read from PARCELCARE_* environment variables."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.client import Client

from domain.policy import Policy, parse_policy

ROOT = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARCELCARE_", extra="ignore")

    data_dir: Path = ROOT / ".data"
    # Any SQLAlchemy URL; PostgreSQL in production. Unset: SQLite in the data directory, so that moving
    # PARCELCARE_DATA_DIR moves everything a stack keeps (a second stack beside the first shares nothing).
    database_url: str = ""
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
    task_queue: str = "parcelcare-tickets"
    policy: Path = ROOT / "policy" / "default.toml"
    # Company additions to mainland China's holidays (closures, extra working days, next year's notice).
    holidays: Path = ROOT / "policy" / "holidays.toml"
    station_gateway: Literal["outbox", "http"] = "outbox"
    station_gateway_url: str | None = None  # base URL of the station system, for "http"
    claims_gateway: Literal["outbox", "http"] = "outbox"
    claims_gateway_url: str | None = None  # base URL of the claims system, for "http"
    # SMS (issue 5): "local" writes to the outbox only; "aliyun" and "tencent" send through the
    # providers' official SDKs. Secrets come from the environment, never from the repository.
    sms_driver: Literal["local", "aliyun", "tencent"] = "local"
    # Our template names (policy) -> the provider's approved template code / id.
    sms_templates: dict[str, str] = {}
    sms_sign_name: str = ""
    aliyun_access_key_id: str = ""
    aliyun_access_key_secret: str = ""
    aliyun_endpoint: str = "dysmsapi.aliyuncs.com"  # host; tests point it at a local fake
    aliyun_protocol: Literal["https", "http"] = "https"
    tencent_secret_id: str = ""
    tencent_secret_key: str = ""
    tencent_endpoint: str = "sms.tencentcloudapi.com"
    tencent_protocol: Literal["https", "http"] = "https"
    tencent_region: str = "ap-guangzhou"
    tencent_sdk_app_id: str = ""
    sms_timeout_seconds: float = 10.0
    # How long after a send the provider's status query is trusted (R-ESC-5); unset: the driver's own,
    # documented in activities/adapters/sms_aliyun.py / sms_tencent.py (Aliyun 60 s, Tencent 5 min, local 0).
    sms_status_grace_seconds: float | None = Field(default=None, ge=0)
    # Payload encryption (security/codec.py): key id -> base64 of a 32-byte AES key, as JSON in
    # PARCELCARE_CODEC_KEYS; new payloads use the active key, old ones decode with the key they name.
    codec_keys: dict[str, str] = {}
    codec_active_key: str = ""
    # The codec server (security/codec_server.py) for the Temporal Web UI: its shared token and origins.
    codec_token: str = ""
    # Unset: the dev UI's own origins on PARCELCARE_TEMPORAL_UI_PORT, so a stack on other ports still decodes.
    codec_cors_origins: list[str] = []
    codec_port: int = 8234
    # Operations (issue 6): logs as readable text (make run) or JSON (production); the worker's
    # Prometheus endpoint (Temporal runtime metrics; 0 turns it off) and its shutdown grace period.
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"
    worker_metrics_port: int = 0
    metrics_host: str = "127.0.0.1"  # 0.0.0.0 in a container, so Prometheus can scrape the worker
    worker_grace_seconds: float = 30.0
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Scale (issue 13). `make run` starts this many workers and API processes on one Temporal server and one
    # database (API process i listens on api_port + i, worker i's metrics on worker_metrics_port + i); in
    # production each is a replica of its own service behind a load balancer.
    worker_processes: int = Field(default=1, ge=1, le=16)
    api_processes: int = Field(default=1, ge=1, le=16)
    # A worker keeps this many tickets' workflows in memory; a ticket evicted from the cache is replayed
    # from its history when its timer or a signal wakes it (bench/stack.py measures both).
    worker_max_cached_workflows: int = Field(default=1000, ge=0)
    worker_max_concurrent_activities: int = Field(default=100, ge=1)
    worker_max_concurrent_workflow_tasks: int = Field(default=100, ge=1)
    # Connections each process holds to PostgreSQL (SQLite ignores these): pool + overflow per process.
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    # The desk (issue 14): the key of the phone hashes the record searches by (HMAC-SHA256; any long random
    # text). Unset: the one `make run` keeps in the data directory (phone-hash.key), else a development key.
    phone_hash_key: str = ""
    # The largest request body the API reads (413 beyond): a ticket is a few KiB, a receipt push tens.
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    # Who may call (issue 12; security/oidc.py, security/keys.py). People: OpenID Connect bearer tokens
    # of this issuer, for this audience, signed with a key of the issuer's JWKS (unset URL: the issuer's
    # discovery document names it). Unset issuer: API keys only. The claims that carry the roles and
    # scopes are named here; a dotted name reaches into a nested claim (Keycloak: realm_access.roles).
    oidc_issuer: str = ""
    oidc_audience: str = ""
    oidc_jwks_url: str = ""
    oidc_algorithms: list[str] = ["RS256"]
    oidc_leeway_seconds: int = Field(default=30, ge=0, le=300)
    # A token naming a key id the cached JWKS lacks refetches it, at most this often (a flood of made-up key
    # ids cannot hammer the identity provider); a key the issuer just rotated in may wait this long.
    oidc_jwks_refresh_seconds: float = Field(default=30, ge=0)
    oidc_actor_claim: str = "sub"
    oidc_roles_claim: str = "roles"
    oidc_role_prefix: str = ""  # e.g. "parcelcare:" when the claim carries other applications' roles too
    oidc_carriers_claim: str = "parcelcare_carriers"
    oidc_stations_claim: str = "parcelcare_stations"
    # The codec server decodes for people holding one of these roles (a token the UI forwards), and,
    # under `make run` only, for any process of the same OS user over loopback (codec_local_user).
    codec_roles: list[str] = ["ops"]
    codec_local_user: bool = False
    # Temporal's frontend with mutual TLS (production): the CA that signed the server's certificate,
    # this process's client certificate and key, and the name the server's certificate carries.
    temporal_tls_ca: Path | None = None
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_server_name: str = ""

    @property
    def dev_key_file(self) -> Path:
        """Where `make run` keeps its development admin key (mode 0600)."""
        return self.data_dir / "dev-admin.key"

    @property
    def phone_key_file(self) -> Path:
        return self.data_dir / "phone-hash.key"

    @property
    def phone_key(self) -> bytes:
        """The key of the record's phone hashes: configured, else `make run`'s own, else the development one."""
        if self.phone_hash_key:
            return self.phone_hash_key.encode("utf-8")
        if self.phone_key_file.exists():
            return self.phone_key_file.read_text(encoding="utf-8").strip().encode("utf-8")
        from store.repository import DEV_PHONE_KEY

        return DEV_PHONE_KEY

    @model_validator(mode="after")
    def _derived_defaults(self) -> Settings:
        self.data_dir = self.data_dir.absolute()  # children of `make run` see the same place whatever their cwd
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'parcelcare.db'}"
        if not self.codec_cors_origins:
            self.codec_cors_origins = ui_origins(self.temporal_address, self.temporal_ui_port)
        return self


def ui_origins(temporal_address: str, ui_port: int) -> list[str]:
    """The origins a browser shows for the dev server's UI: it listens on the server's own host."""
    host = temporal_address.rpartition(":")[0] or "127.0.0.1"
    hosts = dict.fromkeys(["localhost", "127.0.0.1", *([host] if host not in ("0.0.0.0", "") else [])])
    return [f"http://{h}:{ui_port}" for h in hosts]


def get_settings() -> Settings:
    return Settings()


def load_policy(path: Path) -> Policy:
    """The policy file as it is now; re-read only when it changes on disk."""
    stat = path.stat()
    return _parse_cached(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _parse_cached(path: str, _mtime_ns: int, _size: int) -> Policy:
    return parse_policy(Path(path).read_text(encoding="utf-8"))


# Mainland mobiles and landlines as they may turn up in a log line: E.164, national, with spaces
# or dashes (an access log's path, a library's error, a URL-encoded "+"). Waybills (12 digits) do not
# match, nor do digits inside a hex token (a correlation id, a hash).
_PHONE = re.compile(r"(?:(?<=%2B)|(?<![0-9A-Za-z+]))(?:\+?86[ -]?)?"
                    r"(?:1[3-9]\d[ -]?\d{4}[ -]?\d{4}|0\d{2,3}[ -]?\d{7,8})(?![0-9A-Za-z])")


# An API key (security/keys.py) in a log line (a receipt URL's ?key=): its public id kept, its secret not.
_API_KEY = re.compile(r"(pck_[0-9a-f]{12}_)[A-Za-z0-9_-]+")


def redact(text: str) -> str:
    """Every API key's secret masked (pck_<id>_****), and every phone number as 138****5678: its first
    three and last four digits kept."""
    text = _API_KEY.sub(r"\1****", text)

    def mask(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group())
        if len(digits) > 11 and digits.startswith("86"):
            digits = digits[2:]
        return digits[:3] + "****" + digits[-4:] if len(digits) >= 7 else "****"
    return _PHONE.sub(mask, text)


class RedactingFilter(logging.Filter):
    """The last guard of logs: no phone number, whatever logged it (uvicorn's access log with a
    directory path, a driver's error). Names are kept out at the source: nothing logs them, and
    the record's engines hide SQL parameters (store/db.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info:  # formatted once, here, masked; formatters use exc_text when exc_info is gone
            record.exc_text = redact(record.exc_text or logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure_logging(settings: Settings, process: str) -> None:
    """One logging setup per process. Messages carry ticket and workflow ids, never names or phones
    (the code masks phones and keeps names out of log calls; RedactingFilter masks what slips)."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    if settings.log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                           static_fields={"process": process}))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {process} %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # uvicorn's access log (when uvicorn runs this process) through the same handler, so its lines get a
    # time and the JSON form, with query values masked.
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = [handler]
    access.propagate = False  # its parent "uvicorn" has uvicorn's own handler, which would print it again
    if not any(isinstance(f, MaskedAccessLog) for f in access.filters):  # before RedactingFilter, which
        access.addFilter(MaskedAccessLog())  # would flatten the record's arguments into its message
    # uvicorn.error keeps uvicorn's own handler and does not propagate: guard both loggers themselves too.
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


_PARAM_NAME = re.compile(r"[A-Za-z_][\w.\[\]-]{0,40}")


def mask_request_target(target: str) -> str:
    """/v1/tickets?phone=138…&breached=true -> /v1/tickets?phone=*&breached=*: parameter names are kept
    (which filters were used), never their values (a search by phone or name). Phones in the path are
    RedactingFilter's, like every phone in a log line."""
    path, sep, query = target.partition("?")
    if not sep:
        return path
    names = [part.partition("=")[0] for part in query.split("&") if part]
    return path + "?" + "&".join(f"{n if _PARAM_NAME.fullmatch(n) else '*'}=*" for n in names)


class MaskedAccessLog(logging.Filter):
    """uvicorn logs `'%s - "%s %s HTTP/%s" %d'` with the path and query string as the third argument."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], mask_request_target(args[2]), args[3], args[4])
        return True


async def connect_temporal(settings: Settings, runtime=None) -> Client:
    """A Temporal client that speaks pydantic models, with payloads encrypted when codec keys are set
    (security/codec.py), for the API and the worker alike."""
    from security.codec import data_converter  # imported here: security imports this module

    return await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace, data_converter=data_converter(settings),
        tls=temporal_tls(settings), **({"runtime": runtime} if runtime is not None else {}),
    )


def temporal_tls(settings: Settings):
    """Mutual TLS to Temporal's frontend when a client certificate is configured (production), else plain
    gRPC (the dev server of `make run`). Both halves of the pair are needed; half is a mistake, said at start."""
    from temporalio.service import TLSConfig

    cert, key, ca = settings.temporal_tls_cert, settings.temporal_tls_key, settings.temporal_tls_ca
    if cert is None and key is None:
        return TLSConfig(server_root_ca_cert=ca.read_bytes(), domain=settings.temporal_tls_server_name or None) \
            if ca is not None else False
    if cert is None or key is None:
        raise ValueError("PARCELCARE_TEMPORAL_TLS_CERT and PARCELCARE_TEMPORAL_TLS_KEY go together")
    return TLSConfig(server_root_ca_cert=ca.read_bytes() if ca is not None else None,
                     client_cert=cert.read_bytes(), client_private_key=key.read_bytes(),
                     domain=settings.temporal_tls_server_name or None)
