"""Room reads in a child process (streams.alerting.evalproc) against a real valkey: the same
readings, alerts and transitions as reading in the worker, and a killed child is replaced."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from prometheus_client import CollectorRegistry

from alerts.rules import RulePack
from alerts.targets import Targets
from streams.alerting.evalproc import ChildSpec, EvalProcess
from streams.kpi.config import KpiSettings
from tests.streams.alerting.readcheck import MIN, ROOMS, START, evaluator, outcome

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
def child(stack, seeded):
    proc = EvalProcess(ChildSpec(stack.redis, KpiSettings(key_prefix=seeded)),
                       registry=(reg := CollectorRegistry()))
    proc.registry = reg  # type: ignore[attr-defined]  # for the test's reads
    yield proc
    proc.close()


async def test_a_child_reads_what_the_worker_reads(store, child):
    rules, targets = RulePack.load(), Targets.load()
    here = evaluator(store, rules, targets)
    there = evaluator(store, rules, targets)
    there.remote = child
    states = set()
    for tick in range(3, 120):  # every 20 s of stream time, minutes 1 to 40
        now = START + tick * 20_000 + 7_000
        a, b = await here.evaluate(store, now), await there.evaluate(store, now)
        assert outcome(a) == outcome(b), tick
        assert there.last_tick.evaluated == ROOMS and there.last_tick.failed == 0
        assert {fp: s.model_dump() for fp, s in here.series.items()} == \
            {fp: s.model_dump() for fp, s in there.series.items()}
        states |= {t.state.value for t in a.transitions}
    assert {"pending", "firing"} <= states  # the comparison saw alerts start, not only quiet
    assert child.pid is not None and child.pid != os.getpid()
    assert child.registry.get_sample_value("roompulse_alert_process_restarts_total") == 0


async def test_a_killed_child_costs_one_tick_read_in_the_worker_then_is_replaced(store, child):
    rules, targets = RulePack.load(), Targets.load()
    reg = CollectorRegistry()
    ev = evaluator(store, rules, targets, registry=reg)
    ev.remote = child
    here = evaluator(store, rules, targets)
    now = START + 20 * MIN
    await ev.evaluate(store, now)
    await here.evaluate(store, now)
    first = child.pid
    os.kill(first, signal.SIGKILL)
    for t in (1, 2):  # the broken tick reads in the worker; the next one in a new child
        a, b = await here.evaluate(store, now + t * 1000), await ev.evaluate(store, now + t * 1000)
        assert outcome(a) == outcome(b)
        assert ev.last_tick.evaluated == ROOMS
    assert child.pid not in (None, first)
    assert child.registry.get_sample_value("roompulse_alert_process_restarts_total") == 1


async def test_changed_rules_reach_the_child(store, child):
    targets = Targets.load()
    ev = evaluator(store, RulePack.load(), targets)
    ev.remote = child
    now = START + 30 * MIN
    await ev.evaluate(store, now)
    assert ev.last_tick.evaluated == ROOMS
    pack = RulePack.load()
    quiet = pack.model_copy(update={"rules": [r.model_copy(update={"enabled": False})
                                              for r in pack.rules]})
    ev._rules = lambda: quiet
    result = await ev.evaluate(store, now + 1000)
    # every series ends: the child read nothing under a pack with no enabled rule
    assert not ev.series and all(t.state.value in ("resolved", "inactive")
                                 for t in result.transitions)


async def test_the_child_honours_the_tick_budget_and_takes_the_rooms_left_first(stack, seeded):
    proc = EvalProcess(ChildSpec(stack.redis, KpiSettings(key_prefix=seeded), concurrency=1))
    rules, targets = RulePack.load(), Targets.load()
    now = START + 25 * MIN
    try:
        # one batch of 16 is always read; the budget stops the second
        first = await proc.read(rules, targets, now, 0.001)
        assert (first.stats.live, first.stats.evaluated, first.stats.skipped) == \
            (ROOMS, 16, ROOMS - 16)
        assert len(first.untouched) == ROOMS - 16
        second = await proc.read(rules, targets, now + 1000, 0.001)
        assert second.stats.evaluated == 16
        assert not first.untouched & second.untouched  # the rooms left were read first
    finally:
        proc.close()


CHILD_OF_A_DOOMED_WORKER = """
import asyncio, sys
from alerts.rules import RulePack
from alerts.targets import Targets
from streams.alerting.evalproc import ChildSpec, EvalProcess
from streams.kpi.config import KpiSettings
from streams.settings import RedisSettings
from pydantic import SecretStr

async def main():
    proc = EvalProcess(ChildSpec(RedisSettings(url=SecretStr(sys.argv[1])),
                                 KpiSettings(key_prefix=sys.argv[2])))
    await proc.read(RulePack.load(), Targets.load(), int(sys.argv[3]), None)
    print(proc.pid, flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


async def test_a_worker_killed_outright_takes_its_child_with_it(stack, seeded):
    parent = subprocess.Popen([sys.executable, "-c", CHILD_OF_A_DOOMED_WORKER, stack.redis_url,
                               seeded, str(START + 10 * MIN)], stdout=subprocess.PIPE)
    try:
        line = parent.stdout.readline() if parent.stdout else b""
        child_pid = int(line)
        assert _alive(child_pid)
        parent.kill()  # SIGKILL: no shutdown code runs in the parent
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(child_pid) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not _alive(child_pid)
    finally:
        parent.kill()
        parent.wait()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
