"""Settings, from the environment: where the database is, and little else so far.

SQLite in the user's data directory is the default, so a first run needs no set-up;
``ENGAGEBILL_DATABASE_URL`` (or ``--db`` on the CLI) points elsewhere, PostgreSQL included.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir


def default_database_url() -> str:
    folder = Path(user_data_dir("engagebill", appauthor=False))
    return f"sqlite:///{folder / 'engagebill.db'}"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        return cls(
            database_url=database_url
            or os.environ.get("ENGAGEBILL_DATABASE_URL")
            or default_database_url()
        )
