"""Advisory commits against a real broker: they land while it answers, and when it goes away
they neither hold the KPI loop nor the stop (aiokafka's commit waits for a coordinator forever)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer

from streams.worker.commits import AdvisoryCommits
from tests.streams.worker.conftest import wait_for
from tests.streams.worker.test_broker_outage import proxied  # noqa: F401 - a fixture

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def _member(ours, topic: str) -> AIOKafkaConsumer:
    """A group member that owns `topic`'s partitions (the worker's consumer settings)."""
    consumer = AIOKafkaConsumer(topic, **ours.kafka.client_kwargs(), **ours.kafka.group_kwargs(),
                                group_id=f"g{uuid.uuid4().hex[:8]}", enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()

    async def owns() -> bool:
        await consumer.getmany(timeout_ms=100)
        return bool(consumer.assignment())

    await wait_for(owns, 20, "partitions assigned")
    return consumer


async def test_commits_land_while_the_broker_answers(proxied):  # noqa: F811 - fixture
    ours, topics, _ = proxied
    topic = topics.inputs[0]
    consumer = await _member(ours, topic)
    failures: list[int] = []
    commits = AdvisoryCommits(interval_s=60, on_failure=lambda: failures.append(1))
    try:
        owned = sorted(consumer.assignment())
        for i, tp in enumerate(owned):
            commits.passed(tp.topic, tp.partition, 10 + i)
        commits.passed(topic, 999, 5)  # not owned: never sent
        await commits.commit(consumer, force=True)
        assert not commits.in_flight
        assert [await consumer.committed(tp) for tp in owned] == [10 + i for i in range(len(owned))]
        assert failures == []
        # within the interval a second commit waits for the next one
        commits.passed(owned[0].topic, owned[0].partition, 50)
        await commits.commit(consumer)
        assert await consumer.committed(owned[0]) == 10
    finally:
        await commits.close()
        await consumer.stop()


async def test_a_commit_when_the_broker_goes_holds_nobody(proxied):  # noqa: F811 - fixture
    ours, topics, proxy = proxied
    consumer = await _member(ours, topics.inputs[0])
    failures: list[int] = []
    commits = AdvisoryCommits(interval_s=0, timeout_s=1.0, on_failure=lambda: failures.append(1))
    try:
        tp = sorted(consumer.assignment())[0]
        await proxy.cut()
        commits.passed(tp.topic, tp.partition, 7)
        # The loop's call only starts the commit: it must come back although nothing answers.
        await asyncio.wait_for(commits.commit(consumer), 0.5)
        assert commits.in_flight
        commits.passed(tp.topic, tp.partition, 8)
        await asyncio.wait_for(commits.commit(consumer), 0.5)  # one in flight: 8 waits
        # A forced commit (stop, revocation) waits for the one in flight and its own, each
        # ending by its deadline: the first two attempts fail, counted.
        await asyncio.wait_for(commits.commit(consumer, force=True), 5)
        assert not commits.in_flight
        assert len(failures) == 2
    finally:
        await commits.close()
        await proxy.restore()
        await consumer.stop()
