"""The `history` rule kind: a KPI vs the same broadcast minute of the room's last broadcasts."""

import pytest
from pydantic import ValidationError

from alerts.evaluator import Evaluator
from alerts.history import HistoryBaselines, history_reading
from alerts.lifecycle import Cond
from alerts.rules import Rule
from alerts.series import SeriesReader, expand
from schemas.kpis import KpiValue
from tests.alerts.helpers import ACTION, T0, pack, targets

MIN = 60_000
RULE = {"id": "vs-history", "kind": "history", "kpi": "interaction_rate", "window": "5m",
        "direction": "decrease", "by": 0.3, "last": 5, "min_broadcasts": 3}
ROOM = {"stage": "conversion", "phase": "live",
        "kpis": {"interaction_rate": {"values": "0.1x9 0.05x30", "denominator": "400x39"}}}


class Reader(SeriesReader):
    """Minute series of the room's earlier broadcasts, newest first, behind HistoryBaselines."""

    def __init__(self, past: list[str]) -> None:
        super().__init__(T0)
        self.past = [expand(p) for p in past]
        self.asked: list[tuple[str, str, str, int, int]] = []

    async def same_minute(self, room_id: str, kpi: str, window: str, minute: int, last: int
                          ) -> list[float]:
        self.asked.append((room_id, kpi, window, minute, last))
        return [v for p in self.past[:last] if minute < len(p) and (v := p[minute]) is not None]


def run_at(past: list[str], minute: int, rule: dict = RULE, reader_cls=Reader):
    r = reader_cls(past) if reader_cls is Reader else reader_cls(T0)
    r.add_room("room-1", ROOM)
    r.now_ms = T0 + minute * MIN
    return r, Evaluator(pack(rule), targets()).evaluate(r)


def test_the_reader_implements_the_protocol_and_a_plain_reader_does_not():
    assert isinstance(Reader([]), HistoryBaselines)
    assert not isinstance(SeriesReader(T0), HistoryBaselines)


def test_median_of_the_past_and_the_minimum_number_of_broadcasts():
    def cond(value: float, past: list[float]) -> Cond | None:
        got = history_reading("interaction_rate", KpiValue(value=value), past, "5m",
                              min_broadcasts=3, by=0.3, direction="decrease", recovery=0.1)
        return None if got is None else got[0]

    assert cond(0.07, [0.10, 0.12, 0.11]) == Cond.breach  # -36% vs the median 0.11
    # two outlier broadcasts move the mean (0.26), not the median (0.07): -7% is no breach
    assert cond(0.065, [0.06, 0.07, 0.065, 0.5, 0.6]) == Cond.clear
    assert cond(0.07, [0.10, 0.12]) is None  # two broadcasts are not a baseline
    assert cond(0.07, [0.0, 0.0, 0.0]) is None
    assert cond(0.08, [0.10, 0.12, 0.11]) == Cond.hold  # -27%: between -30% and -27% holds


async def test_fires_against_the_median_at_the_same_broadcast_minute():
    past = ["0.1x39", "0.09x39", "0.11x39", "0.3x39"]  # one outlier broadcast
    r, res = run_at(past, 20)
    (a,) = (await res).alerts
    assert r.asked == [("room-1", "interaction_rate", "5m", 20, 5)]
    assert a.state == "firing" and a.evidence.value == 0.05
    assert a.evidence.baseline == pytest.approx(0.105)  # the median, not the mean 0.15
    assert "the median of the last 4 broadcasts at this minute" in a.summary["en"]
    assert "近4场同一时刻中位数" in a.summary["zh-CN"] and "-52%" in a.summary["zh-CN"]


async def test_on_par_with_history_raises_nothing():
    _, res = run_at(["0.05x39", "0.06x39", "0.055x39"], 20)
    assert (await res).alerts == []


async def test_too_few_broadcasts_reaching_the_minute_or_no_history_give_no_series():
    _, res = run_at(["0.1x39", "0.1x39", "0.1x10"], 20)  # the third ended at minute 10
    assert (await res).alerts == []
    _, res = run_at([], 20, reader_cls=SeriesReader)
    assert (await res).alerts == []


def test_a_history_rule_needs_a_room_kpi_a_window_and_enough_broadcasts():
    for bad in ({"window": None}, {"min_broadcasts": 6}, {"fan_out": "product", "kpi": "ctr"}):
        with pytest.raises(ValidationError, match="history rule"):
            Rule.model_validate({**RULE, **bad, "action": ACTION})
