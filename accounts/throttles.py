"""Throttles that hold across server processes and cannot be escaped by a forged address.

Counters live in the shared cache (settings.CACHES "default": the database cache, or Redis), so every
gunicorn worker and every server process counts the same attempts. A client is its address as DRF's
`get_ident` reads it: REMOTE_ADDR, or the X-Forwarded-For entry added by our own proxies when
NODEWORKS_TRUSTED_PROXIES (REST_FRAMEWORK NUM_PROXIES) says how many there are.

The count is a sliding window approximated from two fixed windows (the current one, plus the previous
one weighted by how much of it still overlaps the last `period`): no burst of twice the rate at a window
edge, two cache keys per client, and each attempt is one atomic increment (nodeworks_server/cache.py),
so parallel attempts from several processes are all counted.
"""

import contextlib
import math
import time
from dataclasses import dataclass

from django.core.cache import cache
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int  # seconds

    @classmethod
    def parse(cls, rate: str) -> "Rate":
        """DRF's notation: "10/min", "20/hour", "5/s", "100/day"."""
        count, period = ScopedRateThrottle().parse_rate(rate)
        return cls(limit=count, period=period)


def client_ident(request) -> str:
    """The client's address, the way every throttle of the API reads it (DRF's rule, NUM_PROXIES)."""
    return BaseThrottle().get_ident(request)


class SlidingWindow:
    """Attempts of one key (e.g. "login:<address>") within the last `rate.period` seconds."""

    def __init__(self, key: str, rate: Rate, *, now: float | None = None):
        self.rate = rate
        self.now = time.time() if now is None else now
        window = int(self.now // rate.period)
        self.elapsed = self.now - window * rate.period  # seconds into the current window
        self.current_key = f"throttle:{key}:{window}"
        self.previous_key = f"throttle:{key}:{window - 1}"

    def _previous_weight(self) -> float:
        previous = cache.get(self.previous_key) or 0
        return previous * (1 - self.elapsed / self.rate.period)

    def count(self) -> float:
        return (cache.get(self.current_key) or 0) + self._previous_weight()

    def take(self) -> float | None:
        """Counts one attempt. None: allowed; else refused (and not counted): the seconds to wait."""
        weight = self._previous_weight()
        # Kept two periods: the next window reads it as its previous one.
        cache.add(self.current_key, 0, timeout=2 * self.rate.period + 1)
        try:
            current = cache.incr(self.current_key)
        except ValueError:  # expired between add and incr (a clock far off): start again from one
            cache.set(self.current_key, 1, timeout=2 * self.rate.period + 1)
            current = 1
        if current + weight <= self.rate.limit:
            return None
        self.give_back()
        return self.retry_after(current - 1, weight)

    def give_back(self) -> None:
        """Un-counts one attempt taken (a refused one, or a success that a failure counter must not hold)."""
        with contextlib.suppress(ValueError):
            cache.decr(self.current_key)

    def retry_after(self, current: float, weight: float) -> int:
        """Seconds until one more attempt fits, `current` attempts being counted in this window."""
        limit, period = self.rate.limit, self.rate.period
        previous = weight / (1 - self.elapsed / period) if self.elapsed < period else 0
        if current + 1 <= limit and previous > 0:
            # This window has room once enough of the previous one has slid out.
            fraction = 1 - (limit - current - 1) / previous
            return max(1, math.ceil(fraction * period - self.elapsed))
        # Only the next window: this one's count then weighs as the previous one.
        to_next = period - self.elapsed
        fraction = max(0.0, 1 - (limit - 1) / current) if current > 0 else 0.0
        return max(1, math.ceil(to_next + fraction * period))


class SharedScopedRateThrottle(ScopedRateThrottle):
    """DRF's ScopedRateThrottle (`throttle_scope` on the view, rates in DEFAULT_THROTTLE_RATES), counted
    in the shared cache by an atomic increment instead of a per-process history list."""

    def allow_request(self, request, view):
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        window = SlidingWindow(f"{self.scope}:{self.get_ident(request)}", Rate(self.num_requests, self.duration))
        self._wait = window.take()
        return self._wait is None

    def wait(self):
        return self._wait
