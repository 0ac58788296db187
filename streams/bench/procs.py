"""The bench's child processes: N `roompulse worker` processes in one consumer group, the baseline
and the raw reference, each with the ROOMPULSE_* environment of the bench's stack."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import orjson
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from streams.bench.measure import cpu_seconds, peak_rss_mb, runqueue_seconds
from streams.settings import TopicSettings
from streams.stack import Stack, free_port

CHECK_EVERY_S = 0.1


def child_env(stack: Stack, topics: TopicSettings, key_prefix: str, group: str) -> dict:
    k = stack.kafka
    return {**os.environ, "ROOMPULSE_KAFKA_BOOTSTRAP": stack.bootstrap,
            "ROOMPULSE_REDIS_URL": stack.redis_url,
            # Explicit both ways: an inherited ROOMPULSE_REDIS_CLUSTER must not turn a
            # single-node run into a cluster client (or back).
            "ROOMPULSE_REDIS_CLUSTER": "true" if stack.redis.cluster else "false",
            "ROOMPULSE_KAFKA_SESSION_TIMEOUT_MS": str(k.session_timeout_ms),
            "ROOMPULSE_KAFKA_HEARTBEAT_INTERVAL_MS": str(k.heartbeat_interval_ms),
            "ROOMPULSE_KAFKA_REBALANCE_TIMEOUT_MS": str(k.rebalance_timeout_ms),
            "ROOMPULSE_TOPICS_PREFIX": topics.prefix,
            "ROOMPULSE_TOPICS_PARTITIONS": str(topics.partitions),
            "ROOMPULSE_KPI_KEY_PREFIX": key_prefix, "ROOMPULSE_WORKER_GROUP_ID": group,
            "ROOMPULSE_WORKER_APP_ID": f"{group}-app"}


def spawn(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def group_settled(response, members: int) -> bool:
    """Whether a DescribeGroups response shows the (first) group Stable with `members` members."""
    groups = getattr(response, "groups", None) or []
    if not groups:
        return False
    _error, _name, state, _ptype, _proto, found = groups[0][:6]
    return state == "Stable" and len(found) == members


class Workers:
    """N worker processes of one consumer group, each with its own web port."""

    def __init__(self, n: int, env: dict) -> None:
        self.ports = [free_port() for _ in range(n)]
        # Probe ports chosen free too: web port + 1 may be another worker's port.
        self.procs = [spawn(["-m", "streams.cli", "worker", "--web-port", str(port),
                             "--probe-port", str(free_port()), "--loglevel", "warning"], env)
                      for port in self.ports]
        self._all_joined = n == 1  # one worker: its first apply (Redis offsets) is the start
        self._checked = 0.0

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def waits(self) -> float:
        return sum(runqueue_seconds(pid) for pid in self.pids)

    def peak_rss_mb(self) -> float:
        return max(peak_rss_mb(pid) for pid in self.pids)

    async def all_joined(self, admin: AIOKafkaAdminClient, group: str) -> bool:
        """Whether the KPI group is Stable with every worker in it: from then on each worker
        has its partitions and no join reshuffles them. Asked of the broker, not the workers,
        so the check costs the busy workers nothing."""
        if self._all_joined:
            return True
        if time.monotonic() - self._checked < CHECK_EVERY_S:
            return False
        self._checked = time.monotonic()
        try:
            answer = await admin.describe_consumer_groups([group])
        except KafkaError:
            return False
        self._all_joined = any(group_settled(r, len(self.procs)) for r in answer)
        return self._all_joined

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            stop(proc)


async def run_reference(env: dict, topics: list[str], partitions: int, expect: int,
                        timeout_s: float) -> dict:
    """`streams.bench.reference` in its own process (as the worker runs in its own)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams.bench.reference", "--topics", ",".join(topics),
        "--partitions", str(partitions), "--expect", str(expect), "--timeout", str(timeout_s),
        env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    lines = out.decode(errors="replace").strip().splitlines()
    if not lines:
        return {"events": 0, "seconds": 0.0, "cpu_seconds": None, "exit_code": proc.returncode}
    return orjson.loads(lines[-1])
