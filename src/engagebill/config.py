"""Settings, from the environment.

SQLite in the user's data directory is the default, so a first run needs no set-up;
``ENGAGEBILL_DATABASE_URL`` (or ``--db`` on the CLI) points elsewhere, PostgreSQL included.
``ENGAGEBILL_PUBLIC_URL`` is the address recipients' links use; ``ENGAGEBILL_SMTP_URL`` sends
mail through a server, otherwise it is written as .eml files to ``ENGAGEBILL_MAIL_DIR``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir


def data_dir() -> Path:
    return Path(user_data_dir("engagebill", appauthor=False))


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'engagebill.db'}"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    public_url: str = ""  # the address recipients' links point at
    smtp_url: str = ""  # empty: write .eml files to mail_dir instead
    mail_dir: str = ""

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        env = os.environ
        return cls(
            database_url=database_url
            or env.get("ENGAGEBILL_DATABASE_URL")
            or default_database_url(),
            public_url=env.get("ENGAGEBILL_PUBLIC_URL", ""),
            smtp_url=env.get("ENGAGEBILL_SMTP_URL", ""),
            mail_dir=env.get("ENGAGEBILL_MAIL_DIR", "") or str(data_dir() / "mail"),
        )
