"""A small deterministic workload with exact expected KPIs (tests, the bench's latency phase)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import orjson

from streams.produce import EventProducer
from streams.settings import KafkaSettings, TopicSettings
from streams.topics import TOPIC_OF_TYPE

# One cycle per step: every room KPI counter below moves by a known amount.
CYCLE = ("room_exposure", "enter", "like", "comment", "product_exposure", "product_click",
         "cart_add", "order")
COUNTED = {"room_exposure": "exposures", "enter": "entries", "comment": "comments",
           "product_exposure": "product_exposures", "product_click": "product_clicks",
           "cart_add": "cart_adds", "order": "orders"}
LIKE_COUNT = 2
ORDER_AMOUNT = 10.5


@dataclass
class Workload:
    """Messages as (topic kind, key, value), and what the KPIs must say after them."""

    messages: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    expected: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    bad: Counter = field(default_factory=Counter)  # dead-letter reason -> count
    duplicates: int = 0
    late: int = 0  # events 10 minutes behind the watermark: applied all the same

    @property
    def rooms(self) -> list[str]:
        return sorted(self.expected)


def event(etype: str, eid: str, room: str, ts: int, user: str) -> dict:
    ev = {"type": etype, "event_id": eid, "room_id": room, "ts": ts, "user_id": user,
          "platform": "douyin", "brand_id": "brand-1"}
    if etype in ("room_exposure", "enter"):
        ev["source"] = "search"
    elif etype == "like":
        ev["count"] = LIKE_COUNT
    elif etype == "comment":
        ev["text"] = "looks good"
    elif etype in ("product_exposure", "product_click", "cart_add"):
        ev["product_id"] = "p-1"
    elif etype == "order":
        ev.update(order_id=f"o-{eid}", product_id="p-1", amount=ORDER_AMOUNT)
    return ev


def build(rooms: int, steps: int, now_ms: int, *, tag: str = "w", dup_every: int = 0,
          bad_every: int = 0, late_every: int = 0, step_ms: int = 10) -> Workload:
    """`steps` cycles per room; every `dup_every`-th event is sent twice, every `bad_every`-th
    step adds a non-JSON message, every `late_every`-th step adds a like 10 minutes behind its
    neighbours (late data counts: it is applied to its own bucket, and expected in the KPIs)."""
    w = Workload()
    n = len(CYCLE)
    first_ts = now_ms - steps * n * step_ms
    for r in range(1, rooms + 1):
        room = f"{tag}-room-{r}"
        key = room.encode()
        w.expected[room]  # every room appears, even if nothing is counted
        for s in range(steps):
            for i, etype in enumerate(CYCLE):
                k = s * n + i
                ts = first_ts + k * step_ms
                ev = event(etype, f"{room}-{k}", room, ts, f"u-{r}-{s % 7}")
                value = orjson.dumps(ev)
                w.messages.append((TOPIC_OF_TYPE[etype], key, value))
                _expect(w.expected[room], etype)
                if dup_every and k % dup_every == dup_every - 1:
                    w.messages.append((TOPIC_OF_TYPE[etype], key, value))
                    w.duplicates += 1
            if bad_every and s % bad_every == bad_every - 1:
                w.messages.append(("views", key, b"not json {"))
                w.bad["not_json"] += 1
            if late_every and s % late_every == late_every - 1:
                ev = event("like", f"{room}-late-{s}", room, ts - 600_000, "u-late")
                w.messages.append(("interactions", key, orjson.dumps(ev)))
                _expect(w.expected[room], "like")
                w.late += 1
    return w


def _expect(c: Counter, etype: str) -> None:
    if etype in COUNTED:
        c[COUNTED[etype]] += 1
    if etype == "like":
        c["likes"] += LIKE_COUNT
    if etype == "order":
        c["gmv"] += ORDER_AMOUNT  # type: ignore[assignment]  # a Counter holds a float sum fine


async def produce(kafka: KafkaSettings, topics: TopicSettings,
                  messages: list[tuple[str, bytes, bytes]]) -> None:
    async with EventProducer(kafka, topics) as producer:
        for kind, key, value in messages:
            await producer.send_raw(topics.name(kind), key, value)
