"""The broadcast clock of one room: control events and which product is pinned when."""

from __future__ import annotations

import bisect
import random

from streams.simulator.catalog import AUDIENCE_PACKAGES, Product
from streams.simulator.scenarios import MIN, RoomScenario

PIN_EVERY_MIN = 5
STOCK_EVERY_MIN = 2
SURGE_LEAD_MIN = 10


class BroadcastClock:
    """Control-event schedule for one room; `pinned(ts)` drives product exposure."""

    def __init__(self, rng: random.Random, start_ms: int, duration_min: int,
                 products: list[Product], scenario: RoomScenario,
                 hosts: list[tuple[int, str, str]] | None = None) -> None:
        self.start_ms = start_ms
        self.end_ms = start_ms + duration_min * MIN
        self.products = products
        order = list(products)
        rng.shuffle(order)
        self.surge_product = order[0] if scenario.surge else None
        self._pin_ts: list[int] = []
        self._pin: list[Product] = []
        rotation = [p for p in order if p is not self.surge_product] or order
        # The surge product is pinned from 10 minutes before its surge to the surge's end, so
        # the window before the jump has as many clicks as the surge window itself.
        pin_win = (scenario.surge[0] - SURGE_LEAD_MIN * MIN, scenario.surge[1]) \
            if scenario.surge else None
        i = 0
        for m in range(0, duration_min, PIN_EVERY_MIN):
            ts = start_ms + m * MIN
            if pin_win and pin_win[0] <= ts < pin_win[1]:
                continue
            self._pin_ts.append(ts)
            self._pin.append(rotation[i % len(rotation)])
            i += 1
        if pin_win and self.surge_product is not None:  # both are set exactly with a surge
            k = bisect.bisect_left(self._pin_ts, pin_win[0])
            self._pin_ts[k:k] = [max(pin_win[0], start_ms), pin_win[1]]
            after = self._pin[k - 1] if k > 0 else rotation[0]
            self._pin[k:k] = [self.surge_product, after]
            self._dedupe_pins()
        self._events = self._schedule(rng, duration_min, scenario, hosts or [])

    def _dedupe_pins(self) -> None:
        seen: dict[int, Product] = {}
        for ts, p in zip(self._pin_ts, self._pin, strict=True):  # parallel lists
            seen[ts] = p
        self._pin_ts = sorted(seen)
        self._pin = [seen[t] for t in self._pin_ts]

    def pinned(self, ts: int) -> Product:
        k = bisect.bisect_right(self._pin_ts, ts) - 1
        return self._pin[max(k, 0)]

    def _schedule(self, rng: random.Random, duration_min: int, scenario: RoomScenario,
                  hosts: list[tuple[int, str, str]]) -> list[tuple[int, dict]]:
        t0, end, d = self.start_ms, self.end_ms, duration_min
        warmup = max(1, round(d * 0.05))
        ev: list[tuple[int, dict]] = [
            (t0, {"type": "broadcast_start", "title": "品牌直播间 · 新品首发"}),
            (t0 + 1, {"type": "phase_change", "phase": "warmup"}),
            (t0 + 2, {"type": "stage_change", "stage": "traffic"}),
            (t0 + warmup * MIN, {"type": "phase_change", "phase": "live"}),
            (t0 + round(d * 0.25) * MIN + 3, {"type": "stage_change", "stage": "conversion"}),
            (t0 + round(d * 0.75) * MIN + 3, {"type": "stage_change", "stage": "retention"}),
            (t0 + round(d * 0.9) * MIN + 4, {"type": "phase_change", "phase": "replay"}),
            (end - 1, {"type": "broadcast_end"}),
        ]
        for ts, product in zip(self._pin_ts, self._pin, strict=True):
            ev.append((ts + 5, {"type": "product_pinned", "product_id": product.product_id,
                                "product_name": product.name, "role": product.role}))
        for ts, host_id, host_name in hosts:
            ev.append((ts, {"type": "host_change", "host_id": host_id, "host_name": host_name}))
        for m in range(d):
            ev.append((t0 + m * MIN + 1000, {
                "type": "ad_spend", "amount": rng.randrange(15000, 40000) / 100,
                "currency": "CNY", "audience_package": rng.choice(AUDIENCE_PACKAGES)}))
        for m in range(0, d, STOCK_EVERY_MIN):
            ts = t0 + m * MIN + 2000
            # Stock is filled in when the event is emitted, from the orders emitted before it.
            ev.append((ts, {"type": "stock_update", "product_id": self.pinned(ts).product_id}))
        out = []
        for ts, body in ev:
            ts = min(ts, end - 1)
            if scenario.stalled(ts) and scenario.stall is not None:  # stalled() implies a stall
                if body["type"] in ("ad_spend", "stock_update", "product_pinned"):
                    continue
                ts = scenario.stall[1] + 10
            out.append((ts, body))
        out.sort(key=lambda x: x[0])
        return out

    @property
    def events(self) -> list[tuple[int, dict]]:
        return self._events
