"""Bring a database to the newest schema: `python -m store.migrate [URL]`."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

from store.db import sync_url

_HERE = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    cfg.attributes["url"] = sync_url(database_url)
    return cfg


def upgrade(database_url: str) -> None:
    url = sync_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), "head")


if __name__ == "__main__":
    from settings import get_settings

    upgrade(sys.argv[1] if len(sys.argv) > 1 else get_settings().database_url)
