"""Topic routing by event type, and idempotent topic creation."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.exceptions import StreamsError
from streams.settings import KafkaSettings, TopicSettings

log = logging.getLogger(__name__)


class TopicsMissing(StreamsError):
    """Input topics that do not exist (and are not to be created here)."""

TOPIC_OF_TYPE: dict[str, str] = {
    **dict.fromkeys(("room_exposure", "enter", "leave"), "views"),
    **dict.fromkeys(("comment", "like", "share", "follow", "private_domain_join"), "interactions"),
    **dict.fromkeys(("product_exposure", "product_click", "cart_add"), "products"),
    "order": "orders",
    **dict.fromkeys(
        (
            "broadcast_start", "broadcast_end", "stage_change", "phase_change",
            "product_pinned", "ad_spend", "stock_update", "host_change",
        ),
        "control",
    ),
}


def topic_for(event_type: str | None, topics: TopicSettings) -> str:
    """The default topic for an event type; unknown types go to `views` (they dead-letter there)."""
    return topics.name(TOPIC_OF_TYPE.get(event_type or "", "views"))


def all_topics(topics: TopicSettings) -> list[str]:
    return topics.inputs + topics.outputs


async def create_topics(kafka: KafkaSettings, topics: TopicSettings) -> dict[str, str]:
    """Create every roompulse topic that does not exist yet; return {topic: 'created'|'exists'}."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs(), client_id="roompulse-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = all_topics(topics)
        missing = [t for t in wanted if t not in existing]
        if missing:
            await admin.create_topics(
                [NewTopic(t, topics.partitions, topics.replication_factor) for t in missing]
            )
        # Tansu cannot add partitions later, so report a mismatch loudly instead of hiding it.
        present = [t for t in wanted if t in existing]
        # describe_topics([]) describes EVERY topic; only check the ones that existed.
        described = await admin.describe_topics(present) if present else []
        for desc in described:
            count = len(desc.get("partitions", []))
            if count and count != topics.partitions:
                log.warning(
                    "topic %s has %d partitions, configured %d (not changed)",
                    desc.get("topic"), count, topics.partitions,
                )
        return {t: ("created" if t in missing else "exists") for t in wanted}
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def read_from_earliest(kafka: KafkaSettings, topics: list[str], *,
                             missing_ok: bool = False) -> AsyncIterator[AIOKafkaConsumer]:
    """A started consumer without a group, assigned every partition of `topics` at its earliest
    offset (Tansu answers seek-to-end wrongly, so readers start at the beginning)."""
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        existing = await consumer.topics()  # also fetches the partitions of every topic
        missing = [t for t in topics if t not in existing]
        if missing and not missing_ok:

            raise TopicsMissing(f"no such topic(s): {', '.join(missing)} (run `roompulse topics "
                             "create`)")
        tps = [TopicPartition(t, p) for t in topics
               for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        yield consumer
    finally:
        await consumer.stop()
