"""One settings object for every process, read from PARCELCARE_* environment variables."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.client import Client

from domain.policy import Policy, parse_policy

ROOT = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARCELCARE_", extra="ignore")

    data_dir: Path = ROOT / ".data"
    # Any SQLAlchemy URL; SQLite under .data/ by default, PostgreSQL in production.
    database_url: str = f"sqlite:///{ROOT / '.data' / 'parcelcare.db'}"
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
    # Payload encryption (security/codec.py): key id -> base64 of a 32-byte AES key, as JSON in
    # PARCELCARE_CODEC_KEYS; new payloads use the active key, old ones decode with the key they name.
    codec_keys: dict[str, str] = {}
    codec_active_key: str = ""
    # The codec server (security/codec_server.py) for the Temporal Web UI: its shared token and origins.
    codec_token: str = ""
    codec_cors_origins: list[str] = ["http://localhost:8233", "http://127.0.0.1:8233"]
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


def get_settings() -> Settings:
    return Settings()


def load_policy(path: Path) -> Policy:
    """The policy file as it is now; re-read only when it changes on disk."""
    stat = path.stat()
    return _parse_cached(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _parse_cached(path: str, _mtime_ns: int, _size: int) -> Policy:
    return parse_policy(Path(path).read_text(encoding="utf-8"))


def configure_logging(settings: Settings, process: str) -> None:
    """One logging setup per process. Messages carry ticket and workflow ids, never names or phones
    (the code masks phones and keeps names out of log calls)."""
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                           static_fields={"process": process}))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {process} %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)


async def connect_temporal(settings: Settings, runtime=None) -> Client:
    """A Temporal client that speaks pydantic models, with payloads encrypted when codec keys are set
    (security/codec.py), for the API and the worker alike."""
    from security.codec import data_converter  # imported here: security imports this module

    return await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace, data_converter=data_converter(settings),
        **({"runtime": runtime} if runtime is not None else {}),
    )
