"""publish(): enqueue in order, wait for acknowledgements until a deadline, never send twice.

The producer here is a list of futures the test resolves itself: what is under test is the
waiting and the classification, not a broker (tests/streams/worker/test_alerts_without_broker.py
runs the real one, cut by a proxy)."""

from __future__ import annotations

import asyncio

import pytest

from alerts.sinks.errors import DeliveryError
from alerts.sinks.publish import publish
from tests.alerts.sinks.conftest import make_alert

aio = pytest.mark.asyncio(loop_scope="session")


class Producer:
    """Enqueues into `sent` and hands out one delivery future per message."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.acks: list[asyncio.Future] = []

    async def __call__(self, topic: str, key: bytes, value: bytes) -> asyncio.Future:
        self.sent.append(value)
        fut = asyncio.get_running_loop().create_future()
        self.acks.append(fut)
        return fut

    async def enqueued(self, n: int) -> None:
        while len(self.acks) < n:
            await asyncio.sleep(0.001)


def items(*rooms: str):
    return [(make_alert(room=r), r.encode(), r.encode()) for r in rooms]


@aio
async def test_acknowledged_within_the_deadline_is_sent():
    p = Producer()
    task = asyncio.create_task(publish(p, "t", items("r1", "r2"), name="t", wait_s=5))
    await p.enqueued(2)
    for f in p.acks:
        f.set_result(None)
    assert await task == "sent"
    assert p.sent == [b"r1", b"r2"]  # in order


@aio
async def test_unacknowledged_at_the_deadline_is_unconfirmed_and_not_sent_again():
    p = Producer()
    assert await publish(p, "t", items("r1", "r2"), name="t", wait_s=0.05) == "unconfirmed"
    assert p.sent == [b"r1", b"r2"] and not any(f.done() for f in p.acks)


@aio
async def test_a_failed_delivery_is_retryable_for_that_alert_only():
    p = Producer()
    batch = items("r1", "r2", "r3")
    task = asyncio.create_task(publish(p, "t", batch, name="t", wait_s=5))
    await p.enqueued(3)
    p.acks[0].set_result(None)
    p.acks[1].set_exception(ConnectionError("broker went away"))
    p.acks[2].set_result(None)
    with pytest.raises(DeliveryError) as info:
        await task
    assert info.value.retryable and info.value.undelivered == (batch[1][0],)
    assert "ConnectionError" in str(info.value)


@aio
async def test_an_enqueue_that_hangs_ends_at_the_deadline_with_the_rest_undelivered():
    gate = asyncio.Event()
    sent: list[bytes] = []

    async def full_buffer(topic: str, key: bytes, value: bytes) -> None:
        if sent:
            await gate.wait()  # the producer's buffer is full from the second message on
        sent.append(value)

    batch = items("r1", "r2", "r3")
    with pytest.raises(DeliveryError) as info:
        await publish(full_buffer, "t", batch, name="t", wait_s=0.05)
    assert info.value.retryable and info.value.undelivered == (batch[1][0], batch[2][0])
    assert sent == [b"r1"]


@aio
async def test_a_message_the_producer_cannot_take_is_final():
    async def refuses(topic: str, key: bytes, value: bytes) -> None:
        raise ValueError("message too large")

    batch = items("r1", "r2")
    with pytest.raises(DeliveryError) as info:
        await publish(refuses, "t", batch, name="t")
    assert not info.value.retryable and info.value.undelivered == (batch[0][0], batch[1][0])


@aio
async def test_a_send_that_delivers_itself_is_sent():
    sent: list[bytes] = []

    async def send_and_wait(topic: str, key: bytes, value: bytes) -> object:
        sent.append(value)
        return {"offset": len(sent)}  # record metadata, not awaitable

    assert await publish(send_and_wait, "t", items("r1"), name="t") == "sent"
    assert sent == [b"r1"]
