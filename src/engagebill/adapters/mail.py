"""Mailers: SMTP (a real mail server) and a folder of .eml files (for trying engagebill out).

``ENGAGEBILL_SMTP_URL`` chooses SMTP, e.g. ``smtp://user:pass@mail.example:587?starttls=1``
(``smtps://`` for implicit TLS); otherwise messages are written to ``ENGAGEBILL_MAIL_DIR``.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class SmtpMailer:
    def __init__(self, url: str, *, timeout: float = 20.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("the SMTP URL must start with smtp:// or smtps://")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username or "")
        self.password = unquote(parts.password or "")
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true")
        self.timeout = timeout

    def send(self, message: EmailMessage) -> None:
        if self.implicit_tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.starttls:
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password)
            client.send_message(message)


class FolderMailer:
    """Writes each message to ``<folder>/<message id>.eml``, atomically."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", str(message["Message-ID"]).strip("<>"))
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(message.as_bytes())
        os.replace(temporary, self.folder / f"{name}.eml")
