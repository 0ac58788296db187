"""`roompulse worker` refuses a bad keyword file at start: one line, exit 1, nothing started."""

from __future__ import annotations

import pytest

from streams.cli import main
from streams.kpi.config import KpiSettings
from streams.settings import KafkaSettings, RedisSettings, TopicSettings
from streams.worker.app import create_app


@pytest.fixture
def nowhere(monkeypatch):
    # Were the check late, the worker would fail fast on these instead of starting a stack.
    monkeypatch.setenv("ROOMPULSE_KAFKA_BOOTSTRAP", "127.0.0.1:9")
    monkeypatch.setenv("ROOMPULSE_REDIS_URL", "redis://127.0.0.1:9")
    monkeypatch.setenv("ROOMPULSE_WORKER_START_TIMEOUT_S", "1")


@pytest.mark.parametrize(("content", "problem"), [
    (None, "cannot read: No such file or directory"),
    (b"# nothing yet\n", "no keywords (the file is empty or all comments)"),
    (b"[zh-CN]\n\xc6\xad\xc8\xcb\n", "2: not valid UTF-8"),  # 骗人 in GBK
])
def test_bad_keyword_file_is_one_line(tmp_path, monkeypatch, capsys, nowhere, content, problem):
    path = tmp_path / "keywords.txt"
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setenv("ROOMPULSE_KPI_NEGATIVE_KEYWORDS_FILE", str(path))
    assert main(["worker"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"roompulse: ROOMPULSE_KPI_NEGATIVE_KEYWORDS_FILE: {path}")
    assert problem in err and err.count("\n") == 1


def test_create_app_checks_the_file_too(tmp_path):
    kpi = KpiSettings(negative_keywords_file=tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="NEGATIVE_KEYWORDS_FILE: .*missing.txt: cannot read"):
        create_app(KafkaSettings(bootstrap="127.0.0.1:9"), RedisSettings(url="redis://127.0.0.1:9"),
                   TopicSettings(), kpi=kpi)
