"""`roompulse demo`: embedded stack + worker + simulator, alerts streamed to the terminal."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request

from streams.demo_view import AlertPrinter, MetricsSummary, follow_topic
from streams.produce import EventProducer
from streams.settings import TopicSettings
from streams.simulator.config import ScenarioSpec, SimConfig, exposures_for_rate
from streams.simulator.runner import live_start_ms, run_simulation
from streams.stack import StackError, _die_with_parent, free_port, start_stack
from streams.topics import create_topics

DEFAULT_SCENARIOS = ["low-early-interaction:room-1", "cart-surge:room-2"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="one command: stack, worker, simulator and live alerts")
    p.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                   help="stop after this many seconds (default: when the broadcast ends)")
    p.add_argument("--json", action="store_true", help="one JSON object per alert transition")
    p.add_argument("--rooms", type=int, default=3)
    p.add_argument("--speed", type=float, default=60.0,
                   help="broadcast seconds per wall second (default 60: an hour per minute)")
    p.add_argument("--broadcast-minutes", type=int, default=120)
    p.add_argument("--rate", type=float, default=None, help="target events/s (default ~2.5k)")
    p.add_argument("--scenario", action="append", default=None, metavar="NAME[:ROOM]",
                   help=f"scripted scenarios (default: {' '.join(DEFAULT_SCENARIOS)})")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--web-port", type=int, default=0, help="worker HTTP port (default: free)")
    p.add_argument("--lang", choices=["zh-CN", "en"], default="zh-CN")
    p.set_defaults(func=run)


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"the worker exited with code {proc.returncode} before it was ready")
        # `url` is http://127.0.0.1:<port> of the worker this command started.
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 - our own http URL
            if resp.status == 200:
                return
        time.sleep(0.2)
    raise StackError(f"the worker was not ready within {timeout:.0f}s ({url})")


def _start_worker(stack, port: int, quiet: bool, speed: float,
                  console_token: str | None) -> subprocess.Popen:
    env = {
        **os.environ,
        **({"ROOMPULSE_CONSOLE_OPERATOR_TOKENS": json.dumps({"demo": console_token})}
           if console_token else {}),
        "ROOMPULSE_KAFKA_BOOTSTRAP": stack.bootstrap,
        "ROOMPULSE_REDIS_URL": stack.redis_url,
        "ROOMPULSE_KAFKA_SESSION_TIMEOUT_MS": str(stack.kafka.session_timeout_ms),
        "ROOMPULSE_KAFKA_HEARTBEAT_INTERVAL_MS": str(stack.kafka.heartbeat_interval_ms),
        "ROOMPULSE_KAFKA_REBALANCE_TIMEOUT_MS": str(stack.kafka.rebalance_timeout_ms),
        "ROOMPULSE_WORKER_WEB_PORT": str(port),
        # The probe server's port: free, unless set (web port + 1 may be taken).
        "ROOMPULSE_API_PROBE_PORT": os.environ.get("ROOMPULSE_API_PROBE_PORT") or str(free_port()),
        # A fast broadcast clock moves ~speed stream-seconds per evaluation: not downtime.
        "ROOMPULSE_ALERTS_MAX_GAP_S": str(max(30.0, 10 * speed)),
        # Keep evaluations at most a broadcast minute apart, so a 60 s stall is still seen.
        "ROOMPULSE_ALERTS_INTERVAL_S": str(max(0.25, min(1.0, 60.0 / speed))),
        # The demo's reports show regions, age bands and source conversion (off by default:
        # it costs worker CPU per event, docs/report.md), unless the caller says otherwise.
        "ROOMPULSE_KPI_AUDIENCE": os.environ.get("ROOMPULSE_KPI_AUDIENCE") or "true",
        # History follows the fast broadcast clock: a minute row each broadcast minute and a
        # summary every five, so the Reports page has the broadcast while the demo runs.
        "ROOMPULSE_HISTORY_INTERVAL_S": os.environ.get("ROOMPULSE_HISTORY_INTERVAL_S")
        or str(max(1.0, 60.0 / speed)),
        "ROOMPULSE_HISTORY_SUMMARY_INTERVAL_S": os.environ.get(
            "ROOMPULSE_HISTORY_SUMMARY_INTERVAL_S") or str(max(5.0, 300.0 / speed)),
    }
    log = open(os.devnull, "wb") if quiet else None  # noqa: SIM115 - handed to the child
    return subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "worker", "--loglevel", "warning"],
        env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        preexec_fn=_die_with_parent,
    )


async def _run(args: argparse.Namespace, stack, topics: TopicSettings, base: str) -> int:
    specs = tuple(ScenarioSpec.parse(s) for s in (args.scenario or DEFAULT_SCENARIOS))
    wall_ms = int(time.time() * 1000)
    exposures = (exposures_for_rate(args.rate, args.speed, args.rooms) if args.rate
                 else 300.0)
    config = SimConfig(
        start_ms=live_start_ms(wall_ms, args.broadcast_minutes, args.speed), rooms=args.rooms,
        seed=args.seed, duration_min=args.broadcast_minutes, exposures_per_min=exposures,
        scenarios=specs,
    )
    printer = AlertPrinter(json_mode=args.json, lang=args.lang)
    summary = MetricsSummary(f"{base}/metrics", enabled=not args.json)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def simulate() -> None:
        async with EventProducer(stack.kafka, topics) as producer:
            await run_simulation(config, producer, speed=args.speed)
        summary.note("broadcast finished; Ctrl-C to stop")
        if args.duration is None:
            await asyncio.sleep(5)  # let the last alerts resolve and print
            stop.set()

    tasks = [
        asyncio.create_task(simulate()),
        asyncio.create_task(follow_topic(stack.kafka, topics.alerts, printer.handle, stop)),
        asyncio.create_task(summary.run(stop)),
    ]
    if args.duration is not None:
        loop.call_later(args.duration, stop.set)
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([waiter, tasks[0], tasks[1]], return_when="FIRST_COMPLETED")
    for task in done:
        exc = None if task is waiter else task.exception()
        if exc is not None:
            stop.set()
            raise exc
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    summary.finish()
    printer.report()
    return 0


def run(args: argparse.Namespace) -> int:
    out = sys.stderr
    print("roompulse demo: starting the embedded Kafka (Tansu) and Redis (valkey)…", file=out)
    stack = start_stack()
    worker = None
    try:
        topics = TopicSettings()
        asyncio.run(create_topics(stack.kafka, topics))
        port = args.web_port or free_port()
        base = f"http://127.0.0.1:{port}"
        print("roompulse demo: starting the worker…", file=out, flush=True)
        # A throwaway operator token for this local demo, unless tokens are configured.
        token = None
        if not (os.environ.get("ROOMPULSE_CONSOLE_OPERATOR_TOKENS")
                or os.environ.get("ROOMPULSE_CONSOLE_OPERATOR_TOKENS_FILE")):
            token = secrets.token_urlsafe(12)
        worker = _start_worker(stack, port, quiet=True, speed=args.speed, console_token=token)
        _wait_ready(f"{base}/readyz", worker)
        login = f"  (log in with the demo operator token {token})" if token else ""
        print(f"  console   {base}/console/{login}", file=out)
        print(f"  metrics   {base}/metrics", file=out)
        print(f"  KPI API   {base}/api/rooms", file=out)
        print(f"  reports   {base}/console/api/reports  (history in ./roompulse-data)", file=out)
        print(f"  scenarios {' '.join(args.scenario or DEFAULT_SCENARIOS)}  "
              f"(speed ×{args.speed:g}; Ctrl-C stops everything)", file=out, flush=True)
        return asyncio.run(_run(args, stack, topics, base))
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        stack.stop()
        print("roompulse demo: stopped.", file=out, flush=True)
