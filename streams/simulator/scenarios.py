"""Scenario effects on one room: interaction rate, cart surge, stall window, complaint burst."""

from __future__ import annotations

from dataclasses import dataclass

from streams.simulator.config import SimConfig

MIN = 60_000
BASE_INTERACTION_RATE = 0.15
LOW_INTERACTION_RATE = 0.008
LOW_INTERACTION_MINUTES = 30
CART_SURGE_FACTOR = 1.7
BASE_NEGATIVE_SHARE = 0.01
BURST_NEGATIVE_SHARE = 0.7
BURST_EXTRA_COMPLAINT = 0.25  # share of users entering during the burst who add a complaint


def _window(duration: int, start: int, length: int) -> tuple[int, int]:
    """A scenario window in broadcast minutes, pulled earlier when the broadcast is short."""
    length = max(1, min(length, duration // 4 or 1))
    start = max(0, min(start, duration - 2 * length))
    return start, start + length


@dataclass(frozen=True)
class RoomScenario:
    """Effects for one room, as absolute epoch-ms windows (end exclusive)."""

    start_ms: int
    low_interaction_until: int | None = None
    surge: tuple[int, int] | None = None
    stall: tuple[int, int] | None = None
    complaints: tuple[int, int] | None = None

    @classmethod
    def build(cls, config: SimConfig, room_id: str) -> RoomScenario:
        names = config.scenarios_for(room_id)
        t0, d = config.start_ms, config.duration_min

        def absolute(win: tuple[int, int]) -> tuple[int, int]:
            return t0 + win[0] * MIN, t0 + win[1] * MIN

        return cls(
            start_ms=t0,
            low_interaction_until=(t0 + min(LOW_INTERACTION_MINUTES, d) * MIN
                                   if "low-early-interaction" in names else None),
            surge=absolute(_window(d, 40, 10)) if "cart-surge" in names else None,
            stall=absolute(_window(d, 20, 3)) if "stream-stall" in names else None,
            complaints=absolute(_window(d, 45, 5)) if "negative-comments" in names else None,
        )

    def interaction_rate(self, ts: int) -> float:
        if self.low_interaction_until is not None and ts < self.low_interaction_until:
            return LOW_INTERACTION_RATE
        return BASE_INTERACTION_RATE

    def cart_factor(self, ts: int, is_surge_product: bool) -> float:
        if is_surge_product and self.surge and self.surge[0] <= ts < self.surge[1]:
            return CART_SURGE_FACTOR
        return 1.0

    def stalled(self, ts: int) -> bool:
        return self.stall is not None and self.stall[0] <= ts < self.stall[1]

    def in_complaints(self, ts: int) -> bool:
        return self.complaints is not None and self.complaints[0] <= ts < self.complaints[1]

    def negative_share(self, ts: int) -> float:
        return BURST_NEGATIVE_SHARE if self.in_complaints(ts) else BASE_NEGATIVE_SHARE

    def describe(self, room_id: str, surge_product: str | None) -> list[dict]:
        """The scenario windows, for the truth file."""
        out = []
        if self.low_interaction_until is not None:
            out.append({"name": "low-early-interaction", "room_id": room_id,
                        "start_ms": self.start_ms, "end_ms": self.low_interaction_until})
        for name, win in (("cart-surge", self.surge), ("stream-stall", self.stall),
                          ("negative-comments", self.complaints)):
            if win is not None:
                item = {"name": name, "room_id": room_id, "start_ms": win[0], "end_ms": win[1]}
                if name == "cart-surge":
                    item["product_id"] = surge_product
                out.append(item)
        return out
