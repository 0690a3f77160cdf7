"""Alembic migrations: the only way the schema changes. `python -m shared_lib.migrations`
upgrades the database named by STREAMFN_DATABASE_URL to the newest revision."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import MetaData

HERE = Path(__file__).resolve().parent


def metadata() -> MetaData:
    """Every table the domains declare (each in its own models.py), to compare with the
    newest revision or autogenerate the next one."""
    from shared_lib.db import Base

    for models in sorted(HERE.parent.glob("*/models.py")):
        importlib.import_module(f"shared_lib.{models.parent.name}.models")
    return Base.metadata


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(HERE))
    return config


def upgrade(revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(), revision)
