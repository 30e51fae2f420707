"""Settings, from the environment.

SQLite in the user's data directory is the default, so a first run needs no set-up;
``ENGAGEBILL_DATABASE_URL`` (or ``--db`` on the CLI) points elsewhere, PostgreSQL included.
``ENGAGEBILL_PUBLIC_URL`` is the address recipients' links use; ``ENGAGEBILL_SMTP_URL`` sends
mail through a server, otherwise it is written as .eml files to ``ENGAGEBILL_MAIL_DIR``.
``ENGAGEBILL_SECRET_KEY`` signs forms and sessions (one value for all app servers).
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
    # Signs CSRF fields and sessions; every app server of one deployment needs the same one.
    secret_key: str = ""

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
            secret_key=env.get("ENGAGEBILL_SECRET_KEY", ""),
        )


def local_secret_key(folder: Path) -> str:
    """A secret kept in a file beside the data (mode 0600), for one-server set-ups that set
    no ENGAGEBILL_SECRET_KEY: forms keep working across restarts."""
    import secrets

    path = folder / "secret_key"
    if path.exists():
        return path.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(key)
    return key
