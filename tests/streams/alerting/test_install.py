"""`install` wires a leader timer and a SIGHUP reload onto a Faust app (no broker needed)."""

from __future__ import annotations

import faust
import pytest
from prometheus_client import CollectorRegistry

from streams.alerting.install import install
from streams.alerting.runtime import AlertRuntime, StreamClock
from streams.kpi.store_memory import InMemoryKpiStore


def test_install_registers_the_timer_and_exposes_the_runtime():
    app = faust.App("t-alerts-install", broker="kafka://127.0.0.1:9", store="memory://",
                    web_enabled=False)
    before = len(app._app_tasks)
    reg = CollectorRegistry()
    rt = install(app, InMemoryKpiStore(), redis=None, registry=reg)
    assert isinstance(rt, AlertRuntime) and app.roompulse_alerts is rt
    assert len(app._app_tasks) == before + 2  # the 1 s leader timer and the SIGHUP hook
    assert reg.get_sample_value("roompulse_alert_config_valid",
                                {"kind": "rules", "file": str(rt.config._rules.path)}) == 1


class _Reader:
    """The KPI store's stream clock, set by the test; `up = False` fails the read (Redis down)."""

    def __init__(self) -> None:
        self.clock, self.up = 1_000_000, True

    async def stream_clock_ms(self) -> int:
        if not self.up:
            raise ConnectionError("Redis is down")
        return self.clock


async def test_stream_clock_runs_on_at_wall_speed_while_no_event_arrives():
    wall = {"t": 100.0}
    clock, reader = StreamClock(wall=lambda: wall["t"]), _Reader()
    assert await clock.now(reader) == 1_000_000
    wall["t"] += 2.5
    assert await clock.now(reader) == 1_002_500  # silence still counts
    reader.clock = 1_001_000  # events resume (a late one): the clock follows them again
    assert await clock.now(reader) == 1_001_000


async def test_stream_clock_holds_while_the_events_cannot_be_read():
    wall = {"t": 100.0}
    clock, reader = StreamClock(wall=lambda: wall["t"]), _Reader()
    assert await clock.now(reader) == 1_000_000
    wall["t"] += 2.0
    assert await clock.now(reader, hold=True) == 1_002_000  # the broker is lost now
    wall["t"] += 60.0
    assert await clock.now(reader, hold=True) == 1_002_000  # a minute held: no silence added
    reader.clock = 1_001_500  # a batch fetched before the outage is applied meanwhile:
    assert await clock.now(reader, hold=True) == 1_001_500  # followed, as without a hold
    wall["t"] += 30.0
    assert await clock.now(reader, hold=True) == 1_001_500  # and held there
    wall["t"] += 1.0
    assert await clock.now(reader) == 1_001_500  # back: runs on from where it stopped
    wall["t"] += 1.0
    assert await clock.now(reader) == 1_002_500
    reader.clock = 1_010_000  # the events the broker kept arrive
    assert await clock.now(reader, hold=True) == 1_010_000
    wall["t"] += 5.0
    assert await clock.now(reader, hold=True) == 1_010_000


def test_settings_from_the_environment(monkeypatch, tmp_path):
    from streams.alerting.settings import AlertSettings

    monkeypatch.setenv("ROOMPULSE_ALERTS_TARGETS", str(tmp_path / "t.yaml"))
    monkeypatch.setenv("ROOMPULSE_ALERTS_INTERVAL_S", "2")
    monkeypatch.setenv("ROOMPULSE_ALERTS_CONCURRENCY", "3")
    monkeypatch.setenv("ROOMPULSE_ALERTS_PUBLISH_WAIT_S", "0.5")
    kw = AlertSettings().install_kwargs()
    assert kw == {"targets_path": str(tmp_path / "t.yaml"), "rules_path": None, "interval": 2.0,
                  "key_prefix": "rp:alerts", "max_gap_ms": 30_000,
                  "budget_s": 1.6,  # 0.8 x the interval unless set
                  "concurrency": 3, "batch_rooms": 64, "publish_wait_s": 0.5,
                  "read_cache": {"settle_ms": 15_000, "refresh_ms": 300_000, "max_rooms": 10_000}}
    monkeypatch.setenv("ROOMPULSE_ALERTS_BUDGET_S", "0.5")
    assert AlertSettings().install_kwargs()["budget_s"] == 0.5


async def test_a_resolution_lost_to_a_failed_delivery_is_sent_next_tick():
    import pytest

    from alerts.evaluator import Evaluator
    from alerts.pipeline import PipelineConfig, Receiver, build_pipeline
    from alerts.reload import AlertConfig
    from alerts.silences import InMemorySilenceStore
    from tests.alerts.helpers import T0, pack, reader, targets

    class FlakySilences(InMemorySilenceStore):
        fail = False

        async def list(self, *, active_at=None):
            if self.fail:
                raise ConnectionError("redis down")
            return await super().list(active_at=active_at)

    class Sink:
        name = "rec"

        def __init__(self):
            self.got = []

        async def send(self, alerts):
            self.got.extend((a.rule, a.state.value) for a in alerts)

    sink, silences = Sink(), FlakySilences()
    pipe = build_pipeline({"rec": sink}, PipelineConfig(receivers=(Receiver(name="r",
                                                                            sinks=("rec",)),)),
                          silences=silences)
    r = reader({"room": {"stage": "conversion", "phase": "live",
                         "silent": [{"from": "0m", "until": "2m"}]}})
    ev = Evaluator(pack({"id": "s", "kind": "no_data", "after": "60s"}), targets())
    rt = AlertRuntime(r, ev, pipe, AlertConfig(), silences, StreamClock(wall=lambda: 0.0))
    for t in (60, 70):
        r.now_ms = T0 + t * 1000
        await rt.tick()
    assert sink.got == [("s", "firing")]
    r.now_ms, silences.fail = T0 + 130_000, True  # resolves while delivery is down
    with pytest.raises(ConnectionError):
        await rt.tick()
    r.now_ms, silences.fail = T0 + 140_000, False
    await rt.tick()
    assert sink.got == [("s", "firing"), ("s", "resolved")]


async def test_a_worker_that_stops_leading_closes_its_alert_read_child():
    import asyncio

    class Child:  # the RemoteReads side of evalproc.EvalProcess, counting what it is told
        closed = 0

        async def read(self, *args):
            raise AssertionError("a worker that does not lead reads no room")

        def close(self):
            self.closed += 1

    app = faust.App("t-alerts-follower", broker="kafka://127.0.0.1:9", store="memory://",
                    web_enabled=False)
    before = len(app._app_tasks)
    child = Child()
    rt = install(app, InMemoryKpiStore(), redis=None, registry=CollectorRegistry(),
                 interval=0.01, remote=child)
    assert rt.evaluator.remote is child
    app.is_leader = lambda: False  # type: ignore[method-assign]
    timer = app._app_tasks[before]
    task = asyncio.ensure_future(timer())
    try:
        for _ in range(500):  # ~100 ticks of 0.01 s at most
            if child.closed:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert child.closed >= 1


async def test_stream_clock_holds_from_a_tick_that_could_not_read():
    wall = {"t": 100.0}
    clock, reader = StreamClock(wall=lambda: wall["t"]), _Reader()
    assert await clock.now(reader) == 1_000_000
    wall["t"] += 2.0
    reader.up = False
    with pytest.raises(ConnectionError):
        await clock.now(reader, hold=True)  # Redis went away: the KPI loop says so
    wall["t"] += 90.0
    reader.up = True
    assert await clock.now(reader) == 1_002_000  # the 90 s outage is nobody's silence
