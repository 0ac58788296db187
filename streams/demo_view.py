"""Terminal view for the demo: coloured alert lines and a live events/s + lag summary."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from streams.settings import KafkaSettings
from streams.topics import read_from_earliest

_COLOURS = {"firing": "\033[1;31m", "resolved": "\033[1;32m"}
_RESET = "\033[0m"
_METRIC = re.compile(r"^(roompulse_worker_consumed_total|roompulse_worker_consumer_lag)"
                     r"(?:\{[^}]*\})? ([0-9.e+-]+)$", re.MULTILINE)


class AlertPrinter:
    """Prints each alert transition: one coloured line (or one JSON object with --json)."""

    def __init__(self, *, json_mode: bool, lang: str = "zh-CN", out=sys.stdout) -> None:
        self.json_mode, self.lang, self.out = json_mode, lang, out
        self.colour = out.isatty() and not json_mode
        self.counts: dict[str, int] = {}

    def handle(self, value: bytes) -> None:
        try:
            alert = json.loads(value)
        except ValueError:
            return
        state = str(alert.get("state", "?"))
        self.counts[state] = self.counts.get(state, 0) + 1
        if self.json_mode:
            print(json.dumps(alert, ensure_ascii=False), file=self.out, flush=True)
            return
        at = alert.get("ends_at") if state == "resolved" else alert.get("starts_at")
        when = datetime.fromtimestamp((at or 0) / 1000, UTC).strftime("%H:%M:%S")
        summary = (alert.get("summary") or {}).get(self.lang) or ""
        action = (alert.get("action") or {}).get(self.lang) or ""
        target = alert.get("product_name") or alert.get("product_id") or alert.get("source") or ""
        head = f"{state.upper():8} {alert.get('room_id')} {alert.get('rule')}"
        if target:
            head += f" [{target}]"
        line = f"{when} {head} ({alert.get('severity')}) {summary}"
        if state == "firing" and action:
            line += f"\n         → {action}"
        if self.colour:
            line = f"{_COLOURS.get(state, '')}{line}{_RESET}"
        print(line, file=self.out, flush=True)

    def report(self) -> None:
        if not self.json_mode:
            parts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items())) or "none"
            print(f"alert transitions: {parts}", file=sys.stderr, flush=True)


class MetricsSummary:
    """Scrapes the worker's /metrics every 2 s and shows events/s and consumer lag."""

    def __init__(self, url: str, *, enabled: bool = True) -> None:
        self.url, self.enabled = url, enabled
        self.tty = sys.stderr.isatty()
        self._last: tuple[float, float] | None = None

    def _scrape(self) -> tuple[float, float]:
        # The demo builds `url` as http://127.0.0.1:<port>/metrics of the worker it started.
        with urllib.request.urlopen(self.url, timeout=2) as resp:  # noqa: S310 - our own http URL
            text = resp.read().decode()
        consumed = lag = 0.0
        for name, value in _METRIC.findall(text):
            if name.endswith("consumed_total"):
                consumed += float(value)
            else:
                lag += float(value)
        return consumed, lag

    def note(self, text: str) -> None:
        if self.enabled:
            print(("\r\033[K" if self.tty else "") + f"roompulse demo: {text}",
                  file=sys.stderr, flush=True)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError, ValueError):
                consumed, lag = await asyncio.to_thread(self._scrape)
                now = time.monotonic()
                if self._last is not None and self.enabled:
                    rate = (consumed - self._last[1]) / max(now - self._last[0], 1e-6)
                    line = f"events {consumed:,.0f} · {rate:,.0f}/s · lag {lag:,.0f}"
                    if self.tty:
                        print(f"\r\033[K{line}", end="", file=sys.stderr, flush=True)
                    else:
                        print(line, file=sys.stderr, flush=True)
                self._last = (now, consumed)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)

    def finish(self) -> None:
        if self.tty and self.enabled:
            print(file=sys.stderr, flush=True)


async def follow_topic(kafka: KafkaSettings, topic: str, handle: Callable[[bytes], object],
                       stop: asyncio.Event) -> None:
    """Read a topic from its beginning without a group (Tansu: never seek to the end)."""
    async with read_from_earliest(kafka, [topic], missing_ok=True) as consumer:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for rec in records:
                    result = handle(rec.value)
                    if isinstance(result, Awaitable):
                        await result
