"""Posting webhook calls over HTTP with the standard library (no extra client needed)."""

from __future__ import annotations

import urllib.error
import urllib.request


class UrllibSender:
    def __init__(self, *, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only, checked at registration
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
