"""`roompulse worker` with Kafka or Redis unreachable at start: one clear line naming the address
(never a secret), exit code 1, no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from streams.stack import free_port
from streams.worker.preflight import redis_address
from tests.streams.worker.procs import new_group, worker_env

SECRET = "s3cret-pw"


def run_worker(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streams.cli", "worker", "--web-port", "0"],
                          check=False, env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def assert_one_line(done: subprocess.CompletedProcess, *needles: str) -> str:
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    assert "Traceback" not in out and SECRET not in out
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.integration
def test_kafka_unreachable_at_start(stack, topic_settings) -> None:
    port = free_port()  # nothing listens there
    env = worker_env(stack, topic_settings, "kstart", new_group(),
                     ROOMPULSE_KAFKA_BOOTSTRAP=f"127.0.0.1:{port}",
                     ROOMPULSE_KAFKA_SASL_PASSWORD=SECRET)
    line = assert_one_line(run_worker(env), "Kafka unreachable", f"127.0.0.1:{port}")
    assert line.startswith("roompulse: ")


@pytest.mark.integration
def test_redis_unreachable_at_start(stack, topic_settings) -> None:
    port = free_port()
    env = worker_env(stack, topic_settings, "kstart", new_group(),
                     ROOMPULSE_REDIS_URL=f"redis://:{SECRET}@127.0.0.1:{port}/0")
    assert_one_line(run_worker(env), "Redis unreachable", f"127.0.0.1:{port}")


def test_redis_address_never_shows_credentials() -> None:
    assert redis_address(f"redis://user:{SECRET}@cache.internal:6380/2?x=1") == \
        "cache.internal:6380"
    assert redis_address(f"rediss://:{SECRET}@10.0.0.5/0") == "10.0.0.5:6379"
    assert redis_address("unix:///run/redis.sock") == "/run/redis.sock"
    assert redis_address("redis://[::1]:99999999/0") == "(unparseable URL)"
    assert redis_address(None) == "(unset)"


@pytest.mark.integration
def test_probe_port_taken_at_start(stack, topic_settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = worker_env(stack, topic_settings, "kstart", new_group(),
                         ROOMPULSE_API_PROBE_PORT=str(port))
        assert_one_line(run_worker(env), f"cannot listen on 127.0.0.1:{port}",
                        "ROOMPULSE_API_PROBE_PORT")
