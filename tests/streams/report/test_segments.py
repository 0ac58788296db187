"""Hosts (host_change), age bands (enter.age_band) and the product-role mix (product_pinned's
role) in a report made from a recording, against a plain recount of the events."""

from __future__ import annotations

import asyncio
import zlib
from collections import Counter, defaultdict

import orjson
import pytest

from alerts.targets import Targets
from streams.recordings import read_recording
from streams.report.make import data_from_recording, render, report_from_data
from streams.simulator import record
from tests.streams.report.conftest import START_MS, sim_config

ROOM = "room-1"
AGES = ("18-23", "24-30", "31-40", "41-50")
ROLES = ("traffic", "profit", "strategic")
HOSTS = [(START_MS + 60_000, "h-1", "小雅"), (START_MS + 25 * 60_000, "h-2", "AI 主播"),
         (START_MS + 40 * 60_000, "h-1", "小雅")]


@pytest.fixture(scope="module")
def enriched(tmp_path_factory):
    """A simulated broadcast with host changes, age bands and product roles added."""
    tmp = tmp_path_factory.mktemp("segments")
    raw = tmp / "raw.jsonl"
    record(sim_config(rooms=1, duration_min=50, scenarios=(), bad_events=0, duplicates=0), raw)
    # The simulator's own hosts give way to HOSTS (the first takes over a minute late, and
    # h-1 comes back); its age bands and roles are overwritten below.
    events = [r.obj for r in read_recording(raw) if r.obj["type"] != "host_change"]
    for e in events:
        if e["type"] == "enter":
            e["age_band"] = AGES[zlib.crc32(e["user_id"].encode()) % len(AGES)]
        elif e["type"] == "product_pinned":
            e["role"] = ROLES[int(e["product_id"].rsplit("-", 1)[1]) % 3]
    for n, (ts, hid, name) in enumerate(HOSTS):
        events.append({"type": "host_change", "event_id": f"host-{n}", "room_id": ROOM,
                       "ts": ts, "host_id": hid, "host_name": name})
    events.sort(key=lambda e: e["ts"])
    path = tmp / "enriched.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    data = asyncio.run(data_from_recording(path, ROOM, alerts=False))
    return events, report_from_data(data, Targets.load())


def test_hosts_side_by_side(enriched):
    events, report = enriched
    end = next(e["ts"] for e in events if e["type"] == "broadcast_end")
    spans = [(ts, HOSTS[i + 1][0] if i + 1 < len(HOSTS) else end, hid)
             for i, (ts, hid, _) in enumerate(HOSTS)]

    def host_at(ts: int) -> str | None:
        return next((h for a, b, h in spans if a <= ts < b), None)

    gmv, uv = defaultdict(int), defaultdict(set)
    for e in events:
        h = host_at(e["ts"])
        if h and e["type"] == "order" and e["status"] == "paid":
            gmv[h] += round(e["amount"] * 100)
        elif h and e["type"] == "order" and e["status"] == "refunded":
            gmv[h] -= round(e["amount"] * 100)
        elif h and e["type"] == "enter":
            uv[h].add(e["user_id"])
    got = {h["host_id"]: h for h in report["hosts"]}
    assert set(got) == {"h-1", "h-2"}
    assert got["h-2"]["host_name"] == "AI 主播"
    on_air = (end - HOSTS[0][0]) / 60_000
    assert got["h-1"]["minutes"] + got["h-2"]["minutes"] == pytest.approx(on_air)
    assert got["h-2"]["minutes"] == pytest.approx(15.0)
    for h in ("h-1", "h-2"):
        assert round(got[h]["gmv"] * 100) == gmv[h]
        assert got[h]["uv"] == len(uv[h])
    assert 'id="hosts"' in render(report, "html").decode()


def test_age_bands_and_product_roles(enriched):
    events, report = enriched
    first: dict[str, str] = {}
    for e in events:
        if e["type"] == "enter":
            first.setdefault(e["user_id"], e["age_band"])
    assert {a["age_band"]: a["uv"] for a in report["age_bands"]} == dict(Counter(first.values()))
    roles = {e["product_id"]: e["role"] for e in events if e["type"] == "product_pinned"}
    mix = {r["role"]: r for r in report["product_roles"]}
    assert {k: v["products"] for k, v in mix.items()} == \
        {k: Counter(roles.values()).get(k, 0) for k in ROLES}
    assert [mix[k]["plan_share"] for k in ROLES] == [0.3, 0.5, 0.2]
    assert sum(r["share"] for r in mix.values()) == pytest.approx(1.0)
    page = render(report, "html").decode()
    assert 'id="ages"' in page and 'id="roles"' in page
