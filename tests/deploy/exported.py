"""The metrics roompulse really exports, read from its own code on a fresh registry."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry

from alerts.pipeline.fanout import FanoutStage
from alerts.sinks.prometheus import PrometheusSink
from alerts.sinks.roomlog import trimmed_counter
from alerts.sinks.throttle import ThrottledNudger
from streams.alerting.evalproc import ChildSpec, EvalProcess
from streams.alerting.faustsend import faust_send
from streams.alerting.install import build_runtime
from streams.history.host_sketches import HostSketchMetrics
from streams.history.writer import HistoryMetrics
from streams.kpi.config import KpiSettings
from streams.settings import KafkaSettings, RedisSettings
from streams.worker.audience_step import AudienceMetrics
from streams.worker.deadletter import DeadLetterSink
from streams.worker.engine_metrics import EngineMetrics
from streams.worker.looplag import LoopLag
from streams.worker.metrics import KpiCollector, WorkerMetrics
from streams.worker.probeserver import ProbeMetrics

ROOT = Path(__file__).resolve().parents[2]
# The series a family of each type is exposed as (prometheus_client's text format).
_SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",), "untyped": ("",),
             "unknown": ("",), "stateset": ("",), "enum": ("",), "info": ("_info",),
             "histogram": ("_bucket", "_sum", "_count", "_created"),
             "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
             "summary": ("", "_sum", "_count", "_created")}
# Labels Prometheus adds to every scraped series.
TARGET_LABELS = frozenset({"job", "instance"})
# Series Prometheus makes itself (https://prometheus.io/docs/concepts/jobs_instances/ and
# ALERTS for the rules' own alerts); the deploy files may use them.
PROMETHEUS_SERIES = {
    "up": TARGET_LABELS,
    "scrape_duration_seconds": TARGET_LABELS,
    "ALERTS": None,  # None: any labels (those of the alerting rule)
}


@dataclass(frozen=True)
class Family:
    name: str
    type: str
    labels: frozenset[str]


@dataclass
class Instruments:
    """Every metric roompulse's processes register: worker, KPI gauges and the alert engine."""

    registry: CollectorRegistry
    worker: WorkerMetrics
    kpis: KpiCollector
    alerts: PrometheusSink


async def _no_send(topic: str, key: bytes, value: bytes) -> None:
    raise AssertionError("nothing is sent while metrics are listed")


def instruments(kpis: KpiCollector | None = None) -> Instruments:
    """Built the way the worker builds them: its metrics, its KPI collector, and the alert
    engine's runtime (streams.alerting.install.build_runtime: evaluator, pipeline, sinks)."""
    reg = CollectorRegistry()
    worker = WorkerMetrics(reg)
    EngineMetrics(reg)  # the KPI loop's time policy, limits and apply outcomes
    AudienceMetrics(reg)  # its live audience attribution
    LoopLag(reg)  # the event loop's lag and stalls
    ProbeMetrics(reg)  # the probe server's answers and refusals
    DeadLetterSink(KafkaSettings(), "dlq", registry=reg)  # its send-failure counter
    kpis = kpis or KpiCollector(store=None, windows=["5m"], top_n=10)
    kpis.limit(max_rooms=200, max_series=20_000, budget_s=1.0, registry=reg)  # as the worker
    reg.register(kpis)
    HistoryMetrics(reg)  # the leader's history writer
    HostSketchMetrics(reg)  # and its per-host distinct-user sketches
    trimmed_counter(reg)  # the console feed's per-room alert logs
    # the alert-read child's handle counts restarts (the child itself starts at the first tick)
    EvalProcess(ChildSpec(RedisSettings(), KpiSettings()), registry=reg)
    faust_send(None, reg)  # the topic sinks' producer counts failed deliveries
    rt = build_runtime(store=None, redis=None, registry=reg, send=_no_send)
    (fanout,) = [s for s in rt.pipeline.stages if isinstance(s, FanoutStage)]
    # Host nudges are throttled per host; the throttle counts its decisions on the registry.
    ThrottledNudger(PrometheusSink(CollectorRegistry()), registry=reg)
    return Instruments(reg, worker, kpis, fanout.sinks["prometheus"])


@functools.cache
def worker_families() -> dict[str, Family]:
    """The families of a real worker app (`create_app`, as `roompulse worker` builds it), listed
    in a subprocess so that Faust's event loop and app registry stay out of the test process."""
    r = subprocess.run([sys.executable, "-m", "tests.deploy.worker_metrics_dump"], check=False,
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    return {f["name"]: Family(f["name"], f["type"], frozenset(f["labels"]))
            for f in json.loads(r.stdout)}


def families(reg: CollectorRegistry) -> dict[str, Family]:
    labels: dict[str, tuple[str, ...]] = {}
    # Label names are not public API; prometheus_client keeps them on every metric object.
    for collector in list(reg._collector_to_names):
        if hasattr(collector, "_labelnames") and hasattr(collector, "_name"):
            labels[collector._name] = collector._labelnames
        elif hasattr(collector, "collect"):
            for fam in collector.collect():
                labels[fam.name] = getattr(fam, "_labelnames", ())
    return {f.name: Family(f.name, f.type, frozenset(labels.get(f.name, ())))
            for f in reg.collect()}


def exposed(fams: dict[str, Family] | None = None) -> dict[str, frozenset[str]]:
    """Exposed series name -> its label names (histogram buckets add `le`)."""
    out: dict[str, frozenset[str]] = {}
    for fam in (fams or worker_families()).values():
        for suffix in _SUFFIXES[fam.type]:
            extra = {"_bucket": {"le"}}.get(suffix, set())
            if fam.type == "summary" and suffix == "":
                extra = {"quantile"}
            out[fam.name + suffix] = fam.labels | extra
    return out
