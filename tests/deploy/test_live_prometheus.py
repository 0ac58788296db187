"""A real Prometheus scrapes real roompulse metrics, runs the rules, answers every dashboard."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import orjson
import pytest
import yaml
from prometheus_client import start_http_server

from alerts.model import Alert, AlertState, Audience, Evidence, Severity
from schemas.decode import DeadLetterReason, decode
from schemas.examples import EXAMPLES
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_memory import InMemoryKpiStore
from streams.stack import free_port
from streams.worker.metrics import KpiCollector, WorkerMetrics
from tests.deploy.exported import Instruments, families, instruments, worker_families
from tests.deploy.files import PROM, RULE_FILES, dashboard_exprs, substitute

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None,
                                reason="prometheus not installed (Debian: apt-get install "
                                       "prometheus; .ci/run installs it)")
ROOM, PRODUCT = "room-1", "sku-1001"  # the room and product of schemas/examples.py
# Queries that rightly return nothing here: no rule alert is firing, no history 5 minutes back,
# and the alert engine's labelled series only appear once it evaluates and delivers.
MAY_BE_EMPTY = ("ALERTS{", "offset 5m", "roompulse_alert_series", "roompulse_nudge_",
                "roompulse_alert_sink_deliveries", "roompulse_alert_notifications_dropped")


async def _room_kpis() -> KpiCollector:
    """One example event of every type, folded and applied like the worker does it."""
    now = int(time.time() * 1000)
    kpi = KpiSettings()
    store, folder = InMemoryKpiStore(kpi), BatchFolder(kpi)
    for ex in EXAMPLES.values():
        folder.add(decode(orjson.dumps({**ex, "ts": now - 1000}), now_ms=now))
    assert await store.apply(folder.take(), {("roompulse.views", 0): len(EXAMPLES)}, "g", now)
    collector = KpiCollector(store, ["1m", "5m"], top_n=10)
    await collector.refresh()
    return collector


def _instruments() -> Instruments:
    """Every worker and alert metric with values, set through the objects' own methods."""
    ins = instruments(asyncio.run(_room_kpis()))
    _batch(ins.worker)
    asyncio.run(ins.alerts.send([Alert(
        fingerprint="f1", rule="ctr_drop", room_id=ROOM, state=AlertState.firing,
        severity=Severity.warning, audience=(Audience.host,), starts_at=0,
        evidence=Evidence(kpi="ctr", value=0.01, window="5m"),
        summary={"zh-CN": "點擊率下降", "en": "CTR dropped"},
        action={"zh-CN": "調整講解", "en": "adjust the pitch"})]))
    return ins


def _batch(w: WorkerMetrics) -> None:
    """What the engine records for one batch of 10 messages, one of them dead-lettered."""
    w.count_partition("roompulse.views", 0, consumed=10, processed=9, dead=1, duplicates=1)
    w.events.labels("enter").inc(9)
    w.dead_letters.labels(DeadLetterReason.not_json.value).inc()
    w.batch_size.observe(10)
    w.batch_seconds.observe(0.02)
    w.apply_seconds.observe(0.004)
    w.lag.labels("roompulse.views", "0").set(3)
    w.event_time_lag.set(1.5)
    w.last_apply = time.time()


def _get(base: str, path: str, **params) -> dict:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def _wait_for(check, what: str, log: Path, deadline_s: float = 60.0):
    """Polls (Prometheus scrapes and evaluates every second here); a deadline, not a timing."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            result = check()
            if result:
                return result
        except OSError:
            pass
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}; Prometheus log ends with:\n"
                                 + log.read_text(errors="replace")[-2000:])
        time.sleep(0.25)


def _config(tmp: Path, exporter_port: int) -> Path:
    """deploy/prometheus/prometheus.yml, scraping the test exporter every second."""
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(p) for p in RULE_FILES]
    (job,) = config["scrape_configs"]
    job.update(scrape_interval="1s", scrape_timeout="1s",
               static_configs=[{"targets": [f"127.0.0.1:{exporter_port}"]}])
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory) -> str:
    ins, stop = _instruments(), threading.Event()

    def tick() -> None:  # counters must move between scrapes for rates and ratios to exist
        while not stop.wait(0.2):
            _batch(ins.worker)

    tmp = tmp_path_factory.mktemp("prom")
    exporter_port, prom_port = free_port(), free_port()
    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    server, thread = start_http_server(exporter_port, addr="127.0.0.1", registry=ins.registry)
    proc = None
    try:
        with (tmp / "prometheus.log").open("wb") as log:
            proc = subprocess.Popen(
                ["prometheus", f"--config.file={_config(tmp, exporter_port)}",
                 f"--storage.tsdb.path={tmp / 'data'}",
                 f"--web.listen-address=127.0.0.1:{prom_port}"],
                stdout=subprocess.DEVNULL, stderr=log)
        base = f"http://127.0.0.1:{prom_port}"
        # Targets start ~5s after boot (discovery updates are throttled); rates need 2 scrapes.
        for query in ("count_over_time(up[1m]) >= 2", "room:roompulse_room_events:per_second",
                      "job:roompulse_worker_dead_letter_ratio:rate5m"):
            _wait_for(lambda q=query: _get(base, "/api/v1/query", query=q)["data"]["result"],
                      query, log=tmp / "prometheus.log")
        yield base
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        stop.set()
        ticker.join(timeout=5)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_exporter_serves_every_family_the_worker_exports() -> None:
    assert set(families(instruments().registry)) == set(worker_families())


def test_prometheus_loads_every_rule_and_scrapes_the_exporter(prometheus: str) -> None:
    groups = _get(prometheus, "/api/v1/rules")["data"]["groups"]
    assert {g["file"] for g in groups} == {str(p) for p in RULE_FILES}
    assert all(r["health"] == "ok" for g in groups for r in g["rules"]), groups
    (target,) = _get(prometheus, "/api/v1/targets")["data"]["activeTargets"]
    assert target["health"] == "up", target


def test_every_dashboard_query_runs_and_finds_data(prometheus: str) -> None:
    empty, failed = [], []
    for where, expr in dashboard_exprs():
        query = substitute(expr, room=ROOM, product=PRODUCT)
        try:
            answer = _get(prometheus, "/api/v1/query", query=query)
        except urllib.error.HTTPError as exc:
            failed.append((where, query, exc.read().decode(errors="replace")))
            continue
        if not answer["data"]["result"] and not any(s in expr for s in MAY_BE_EMPTY):
            empty.append((where, query))
    assert not failed, "\n".join(map(str, failed))
    assert not empty, "\n".join(map(str, empty))
