"""Run `roompulse worker` as a real subprocess against the test stack (and stop it)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import aiohttp

from streams.bench.run import child_env
from streams.stack import Stack, free_port


def worker_env(stack: Stack, topics, kpi_prefix: str, group: str, **extra: str) -> dict:
    """The bench's worker environment (same variables), plus `extra`."""
    return {**child_env(stack, topics, kpi_prefix, group), **extra}


class WorkerProc:
    """One `roompulse worker` process; its output goes to a temp file shown on failure."""

    def __init__(self, env: dict, port: int | None = None) -> None:
        self.port = port or free_port()
        self.probe_port = free_port()  # not web port + 1: that may be another process's
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="worker-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker", "--web-port", str(self.port),
             "--probe-port", str(self.probe_port),
             "--loglevel", os.environ.get("ROOMPULSE_TEST_WORKER_LOGLEVEL", "warning")],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def probe_url(self) -> str:
        return f"http://127.0.0.1:{self.probe_port}"

    def output(self) -> str:
        with open(self.log.name, errors="replace") as f:
            return f.read()[-3000:]

    async def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"worker exited early:\n{self.output()}")
                try:
                    async with http.get(self.url + "/readyz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"worker not ready in {timeout}s:\n{self.output()}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        if not os.environ.get("ROOMPULSE_TEST_KEEP_LOGS"):
            os.unlink(self.log.name)


def new_group() -> str:
    return f"g{uuid.uuid4().hex[:8]}"
