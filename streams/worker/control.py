"""The Faust agent of the low-volume control topic: control events land in Redis like the rest."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from aiokafka.errors import KafkaError

from schemas.decode import DeadLetter, DeadLetterReason, decode
from streams.kpi.buckets import is_late
from streams.kpi.fold import BatchFolder
from streams.worker.deadletter import Rejected
from streams.worker.dedup import PartitionMemory
from streams.worker.engine import REDIS_ERRORS
from streams.worker.retry import retry

if TYPE_CHECKING:
    import faust

    from streams.worker.app import Runtime

log = logging.getLogger(__name__)


class ControlHandler:
    """Applies each batch of control messages, with its offsets, in one atomic Redis step.

    Faust commits the agent's offsets to Kafka at least once; the Redis offsets of the group
    `<group_id>-control` make a redelivered message a no-op, so counted control KPIs
    (ad_spend) stay exact across crashes.
    """

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.group = f"{rt.worker.group_id}-control"
        self.memory = PartitionMemory(rt.worker.dedup_size)
        self.grace_ms = rt.kpi.grace_s * 1000

    async def handle(self, messages: list[tuple[str, int, int, bytes | None, bytes | None]]
                     ) -> None:
        """Apply (topic, partition, offset, key, value) messages in one atomic Redis step."""
        rt = self.rt
        cap = rt.worker.retry_cap_s
        stored = await retry(lambda: rt.store.load_offsets(self.group), rt.engine.redis,
                             REDIS_ERRORS, cap_s=cap)
        now_ms = int(time.time() * 1000)
        folder = BatchFolder(rt.kpi)
        m = rt.metrics
        rejected: list[Rejected] = []
        offsets: dict[tuple[str, int], int] = {}
        counts: dict[tuple[str, int], list[int]] = {}
        for topic, partition, offset, key, value in messages:
            tp = (topic, partition)
            if offset < stored.get(tp, 0):
                continue  # already applied before a restart or a rebalance
            offsets[tp] = max(offsets.get(tp, 0), offset + 1)
            c = counts.setdefault(tp, [0, 0, 0])  # consumed, dead, duplicates
            c[0] += 1
            ev = decode(value, now_ms=now_ms)
            ids = self.memory.ids(tp)
            wm = self.memory.watermarks.get(tp)
            if isinstance(ev, DeadLetter):
                ids.skip()
            elif ids.seen(ev.event_id):
                c[2] += 1
                continue
            elif is_late(ev.ts, wm, self.grace_ms):
                ev = DeadLetter(DeadLetterReason.late, f"ts is {(wm - ev.ts) / 1000:.0f}s "
                                f"behind the partition watermark (grace {self.grace_ms // 1000}s)")
            if isinstance(ev, DeadLetter):
                c[1] += 1
                rejected.append(Rejected(topic, partition, offset, key, value, ev))
                continue
            self.memory.watermarks[tp] = max(ev.ts, wm or ev.ts)
            folder.add(ev)
            m.events.labels(ev.type).inc()
        if not offsets:
            return
        await retry(lambda: rt.engine.sink.send(rejected), rt.engine.broker, (KafkaError,),
                    cap_s=cap)
        delta = folder.take()
        await retry(lambda: rt.store.apply(delta, offsets, self.group, now_ms),
                    rt.engine.redis, REDIS_ERRORS, cap_s=cap)
        for r in rejected:
            m.dead_letters.labels(r.why.reason.value).inc()
        for (topic, partition), (n, dead, dups) in counts.items():
            m.count_partition(topic, partition, n, n - dead, dead, dups)
        m.last_apply = time.time()


def register_control_agent(app: faust.App, rt: Runtime) -> None:
    """One Faust agent on the control topic, raw bytes in (decoding is ours, not Faust's)."""
    handler = ControlHandler(rt)
    topic = app.topic(rt.topics.control, key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw")

    @app.agent(topic, name=f"{rt.worker.app_id}-control")
    async def control(stream):
        async for events in stream.take_events(1000, within=0.05):
            await handler.handle([(e.message.topic, e.message.partition, e.message.offset,
                                   e.message.key, e.message.value) for e in events])
