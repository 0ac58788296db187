"""One room's audience funnel: exposure → enter → product funnel → order, plus interactions."""

from __future__ import annotations

import random

from streams.simulator.audience.pool import BuyerPool, Quota
from streams.simulator.catalog import (
    ENTRY_RATE,
    NEGATIVE_COMMENTS,
    NEUTRAL_COMMENTS,
    PD_CHANNELS,
    REGIONS,
    SOURCE_WEIGHTS,
    SOURCES,
    Product,
)
from streams.simulator.clock import BroadcastClock
from streams.simulator.hosts import age_band
from streams.simulator.scenarios import BURST_EXTRA_COMPLAINT, MIN, RoomScenario

RETURNING_SHARE = 0.03  # exposures that go to a past buyer of the brand
REFUND_SHARE = 0.03
PRIVATE_DOMAIN_SHARE = 0.04
Timed = tuple[int, dict]


class RoomAudience:
    """Generates the viewer events of one room, one broadcast minute at a time."""

    def __init__(self, rng: random.Random, room_index: int, seed: int, clock: BroadcastClock,
                 scenario: RoomScenario, pool: BuyerPool, exposures_per_min: float) -> None:
        self.rng, self.clock, self.sc, self.pool = rng, clock, scenario, pool
        self.lam = exposures_per_min
        self.user_prefix = f"u{seed}-{room_index}-"
        self.order_prefix = f"o{seed}-{room_index}-"
        self.n_users = self.n_orders = 0
        self.busy_until: dict[str, int] = {}
        self.q_entry = {s: Quota(rng) for s in SOURCES}
        self.q_inter = Quota(rng)
        self.q_neg = Quota(rng)
        self.q_ctr = {p.product_id: Quota(rng) for p in clock.products}
        self.q_cart = {p.product_id: Quota(rng) for p in clock.products}
        self.q_order = {p.product_id: Quota(rng) for p in clock.products}

    def minute(self, m: int) -> list[Timed]:
        """Every event of the sessions whose room exposure falls in broadcast minute `m`."""
        rng = self.rng
        ramp = min(1.0, 0.6 + 0.08 * m)
        n = max(0, round(self.lam * ramp * (1 + 0.04 * rng.gauss(0, 1))))
        base = self.clock.start_ms + m * MIN
        out: list[Timed] = []
        for off in sorted(rng.randrange(MIN) for _ in range(n)):
            ts = base + off
            if not self.sc.stalled(ts) and ts < self.clock.end_ms - 1000:
                self._session(ts, out)
        return out

    def _new_user(self) -> str:
        self.n_users += 1
        return f"{self.user_prefix}{self.n_users}"

    def _session(self, ts: int, out: list[Timed]) -> None:
        rng, sc = self.rng, self.sc
        user = self.pool.pick(rng, ts) if rng.random() < RETURNING_SHARE else None
        if user is not None and self.busy_until.get(user, 0) >= ts:
            user = None  # still watching this room: no second, overlapping session
        loyal = user is not None
        if user is not None:
            source = rng.choice(("follow", "private_domain"))
            enters = rng.random() < 0.8
        else:
            user = self._new_user()
            source = rng.choices(SOURCES, SOURCE_WEIGHTS)[0]
            enters = self.q_entry[source].hit(ENTRY_RATE[source])
        out.append((ts, {"type": "room_exposure", "user_id": user, "source": source}))
        t_in = ts + rng.randrange(1000, 15000)
        if not enters or sc.stalled(t_in) or t_in >= self.clock.end_ms - 2000:
            return
        out.append((t_in, {"type": "enter", "user_id": user, "source": source,
                           "region": rng.choice(REGIONS), "age_band": age_band(user)}))
        stay = min(int(rng.expovariate(1 / 240_000)) + 20_000, self.clock.end_ms - 1 - t_in)
        self._products(user, t_in, stay, loyal, out)
        self._interactions(user, t_in, stay, out)
        t_out = t_in + stay
        if sc.stalled(t_out) and sc.stall is not None:  # stalled() implies a stall window
            t_out = min(sc.stall[1] + rng.randrange(5000), self.clock.end_ms - 1)
        out.append((t_out, {"type": "leave", "user_id": user, "watch_ms": t_out - t_in}))
        self.busy_until[user] = t_out

    def _products(self, user: str, t_in: int, stay: int, loyal: bool, out: list[Timed]) -> None:
        rng = self.rng
        seen: list[Product] = []
        if rng.random() < 0.75:
            seen.append(self.clock.pinned(t_in))
        for p in rng.sample(self.clock.products, rng.randint(3, 4) if loyal else rng.randint(0, 2)):
            if p not in seen:
                seen.append(p)
        for p in seen:
            self._product_chain(user, p, t_in, stay, loyal, out)

    def _product_chain(self, user: str, p: Product, t_in: int, stay: int, loyal: bool,
                       out: list[Timed]) -> None:
        rng, sc, pid = self.rng, self.sc, p.product_id
        # Close to entering, so decisions are drawn in (nearly) event-time order.
        t = t_in + min(rng.randrange(2_000, 20_000), int(stay * 0.3))
        leave = t_in + stay
        if sc.stalled(t):
            return
        out.append((t, {"type": "product_exposure", "user_id": user, "product_id": pid}))
        t = self._step(t, leave, 2_000, 20_000)
        if not self.q_ctr[pid].hit(p.ctr) or sc.stalled(t):
            return
        out.append((t, {"type": "product_click", "user_id": user, "product_id": pid}))
        rate = p.cart_rate * sc.cart_factor(t, p is self.clock.surge_product)
        t = self._step(t, leave, 3_000, 30_000)
        if not self.q_cart[pid].hit(rate) or sc.stalled(t):
            return
        qty = rng.choices((1, 2, 3), (80, 15, 5))[0]
        out.append((t, {"type": "cart_add", "user_id": user, "product_id": pid, "quantity": qty}))
        t = self._step(t, leave, 5_000, 60_000)
        buys = rng.random() < 0.9 if loyal else self.q_order[pid].hit(p.order_rate)
        if not buys or sc.stalled(t):
            return
        self.n_orders += 1
        order = {"type": "order", "user_id": user,
                 "order_id": f"{self.order_prefix}{self.n_orders}", "product_id": pid,
                 "quantity": qty, "amount": p.price_cents * qty / 100,
                 "currency": "CNY", "status": "paid"}
        out.append((t, order))
        self.pool.add(t, user)
        if rng.random() < REFUND_SHARE:
            t_ref = t + rng.randrange(2 * MIN, 15 * MIN)
            if t_ref < self.clock.end_ms - 1 and not sc.stalled(t_ref):
                out.append((t_ref, {**order, "status": "refunded"}))

    def _step(self, t: int, leave: int, low: int, high: int) -> int:
        """The next funnel step: seconds later, but always before the viewer leaves."""
        room = (leave - t) // 4
        return t + min(self.rng.randrange(low, high), room)

    def _interactions(self, user: str, t_in: int, stay: int, out: list[Timed]) -> None:
        rng, sc = self.rng, self.sc
        if self.q_inter.hit(sc.interaction_rate(t_in)):
            t = t_in + int(stay * rng.uniform(0.02, 0.3))
            kind = rng.choices(("like", "comment", "share", "follow"), (45, 35, 10, 10))[0]
            self._interact(user, kind, t, out)
            if rng.random() < 0.5:
                self._interact(user, "like", t + int(stay * rng.uniform(0.05, 0.5)), out)
            if rng.random() < 0.3:
                self._interact(user, "comment", t + int(stay * rng.uniform(0.05, 0.5)), out)
        if sc.in_complaints(t_in) and rng.random() < BURST_EXTRA_COMPLAINT:
            t = t_in + int(stay * rng.uniform(0.02, 0.5))
            if not sc.stalled(t):
                out.append((t, {"type": "comment", "user_id": user,
                                "text": rng.choice(NEGATIVE_COMMENTS)}))
        if rng.random() < PRIVATE_DOMAIN_SHARE:
            t = t_in + int(stay * rng.uniform(0.3, 0.8))
            if not sc.stalled(t):
                out.append((t, {"type": "private_domain_join", "user_id": user,
                                "channel": rng.choice(PD_CHANNELS)}))

    def _interact(self, user: str, kind: str, t: int, out: list[Timed]) -> None:
        if self.sc.stalled(t):
            return
        body: dict = {"type": kind, "user_id": user}
        if kind == "like":
            body["count"] = self.rng.randint(1, 30)
        elif kind == "comment":
            negative = self.q_neg.hit(self.sc.negative_share(t))
            body["text"] = self.rng.choice(NEGATIVE_COMMENTS if negative else NEUTRAL_COMMENTS)
        out.append((t, body))
