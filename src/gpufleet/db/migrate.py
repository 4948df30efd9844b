"""Bring a database to the newest schema with the migrations shipped inside the package."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

SCRIPT_LOCATION = "gpufleet.db:migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    return cfg


def head() -> str | None:
    """The newest revision the package ships."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def upgrade(engine: Engine) -> None:
    """Apply every migration the database lacks; a database already at head costs one query."""
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head():
        return
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
