"""The py-spy summary: engine stacks only, each in the innermost named stage."""

from __future__ import annotations

from streams.bench.spy import stage_of, summarise

RUN = "run (streams/worker/engine.py:125)"
PREP = "_run (concurrent/futures/thread.py:58);prepare (streams/ingest/prepare.py:80)"
RAW = "\n".join([
    f"{PREP};decode_batch (streams/ingest/decoding.py:31);validate_python (<built-in>) 50",
    f"{PREP};decode_batch (streams/ingest/decoding.py:31);"
    "_parse_all (streams/ingest/decoding.py:70) 10",
    f"{PREP};mark (streams/ingest/dedup.py:55) 5",
    f"{PREP};_decide (streams/ingest/prepare.py:120) 5",
    f"{RUN};getmany (aiokafka/consumer/consumer.py:1200);_unpack (aiokafka/record/x.py:1) 20",
    f"{RUN};_apply (streams/worker/engine.py:230);execute (redis/asyncio/client.py:600) 10",
    "produce_sim (streams/bench/run.py:60);send_raw (streams/produce.py:100) 999",
    "garbage line without a count",
])


def test_the_innermost_named_stage_wins() -> None:
    frames = ["prepare (streams/ingest/prepare.py:80)", "add_all (streams/kpi/fold.py:10)"]
    assert stage_of(frames) == "fold"
    assert stage_of(["prepare (streams/ingest/prepare.py:80)"]).startswith("prepare")
    assert stage_of(["main (x.py:1)"]) == "other"


def test_summary_counts_engine_samples_only() -> None:
    stages, leaves, total = summarise(RAW)
    assert total == 100  # the producer's 999 samples are not the engine's
    assert stages["decode: pydantic validation"] == 50
    assert stages["decode: orjson + checks"] == 10
    assert stages["dedup"] == 5
    assert stages["prepare: rest (decide, bookkeeping)"] == 5
    assert stages["Kafka fetch (aiokafka, records, gzip)"] == 20
    assert stages["Redis apply (redis-py, Lua call)"] == 10
    assert leaves["validate_python (<built-in>)"] == 50


def test_everything_counts_the_other_stacks_too() -> None:
    stages, _, total = summarise(RAW, everything=True)
    assert total == 1099
    assert stages["other"] == 999  # the producer matches no named stage
