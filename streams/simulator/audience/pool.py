"""Smooth rate draws (error diffusion) and the per-brand pool of returning buyers."""

from __future__ import annotations

import random


class Quota:
    """Decides yes/no so the running share of yeses tracks `rate` tightly.

    Error diffusion instead of independent coin flips: baseline KPIs stay stationary
    and smooth even in small windows, so an alert engine sees no spurious jumps.
    """

    __slots__ = ("acc",)

    def __init__(self, rng: random.Random) -> None:
        self.acc = rng.random()

    def hit(self, rate: float) -> bool:
        self.acc += rate
        if self.acc >= 1.0:
            self.acc -= 1.0
            return True
        return False


class BuyerPool:
    """Buyers of one brand with the time of their first paid order, shared by its rooms."""

    def __init__(self) -> None:
        self._buyers: list[tuple[int, str]] = []
        self._known: set[str] = set()

    def add(self, ts: int, user_id: str) -> None:
        if user_id not in self._known:
            self._known.add(user_id)
            self._buyers.append((ts, user_id))

    def pick(self, rng: random.Random, before_ts: int) -> str | None:
        """A buyer whose first purchase happened before `before_ts`, or None."""
        for _ in range(3):
            if not self._buyers:
                return None
            ts, user = self._buyers[rng.randrange(len(self._buyers))]
            if ts < before_ts:
                return user
        return None
