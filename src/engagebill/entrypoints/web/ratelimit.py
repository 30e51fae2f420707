"""The limit on failed private-link lookups: 429 after 10 unknown tokens a minute per address.

A private link's token has 256 bits, so guessing one is hopeless; the limit makes trying
loud and cheap to refuse all the same. It counts only *failed* lookups (unknown tokens), in a
sliding window per client address, in this process's memory. A known token is always looked
up and served, so a recipient whose colleague behind the same address mistyped links keeps
working; revoked and expired tokens are real tokens and do not count.

Each address keeps only its last ``limit + 1`` failure times, and the table of addresses is
bounded, so a flood of addresses cannot exhaust memory. With several worker processes each
has its own window (the limit is then per process).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

DEFAULT_LIMIT = 10
DEFAULT_WINDOW_SECONDS = 60.0
DEFAULT_MAX_ADDRESSES = 100_000


def client_key(host: str | None) -> str:
    """The address a window is kept for. An IPv6 client is counted by its /64, since one
    host usually holds a whole /64 and could otherwise rotate addresses at will."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class FailedLookupLimiter:
    """A sliding window of failed token lookups per client address.

    ``clock`` returns seconds on a monotonic scale; tests pass a hand-driven one.
    """

    def __init__(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        max_addresses: int = DEFAULT_MAX_ADDRESSES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.max_addresses = max_addresses
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        # Sync endpoints run in a thread pool: one lock keeps each window consistent.
        self._lock = threading.Lock()

    def record_failure(self, address: str) -> bool:
        """Count one failed lookup; True when the address is now over the limit.

        Failures answered with 429 count too, so an address that keeps guessing stays
        limited until it has been quiet for a whole window.
        """
        now = self.clock()
        with self._lock:
            window = self._failures.pop(address, None)
            if window is None:
                window = deque(maxlen=self.limit + 1)
            window.append(now)
            self._failures[address] = window  # most recently active last
            self._evict(now)
            return len(window) > self.limit and now - window[0] < self.window_seconds

    def _evict(self, now: float) -> None:
        while len(self._failures) > self.max_addresses:
            # The least recently active address goes first; its window is the stalest.
            self._failures.popitem(last=False)
        stale = now - self.window_seconds
        while self._failures:
            oldest = next(iter(self._failures))
            if self._failures[oldest][-1] >= stale:
                break
            del self._failures[oldest]
