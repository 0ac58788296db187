"""Hot reload: a valid new file takes effect, a bad one leaves the old one running."""

import logging
import os

import pytest
from prometheus_client import CollectorRegistry

from alerts.reload import AlertConfig
from alerts.rules import DEFAULT_RULES, RulePack
from alerts.targets import DEFAULT_TARGETS
from alerts.yamlfile import ConfigError

GOOD = "stages:\n  conversion:\n    ctr: {min: 0.03}\n"


def test_reload_validates_first_and_exports_the_outcome(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text(GOOD)
    reg = CollectorRegistry()
    cfg = AlertConfig(path, registry=reg)
    labels = {"kind": "targets", "file": str(path)}
    assert cfg.targets().file.stages["conversion"]["ctr"].min == 0.03
    assert not cfg.check()  # unchanged

    path.write_text(GOOD.replace("0.03", "0.05"))
    os.utime(path, ns=(1, 10**18))
    assert cfg.check()
    assert cfg.targets().file.stages["conversion"]["ctr"].min == 0.05

    path.write_text(GOOD.replace("0.03", "lots"))
    os.utime(path, ns=(1, 2 * 10**18))
    assert not cfg.check()
    assert cfg.targets().file.stages["conversion"]["ctr"].min == 0.05  # old one kept
    assert "targets.yaml:3" in cfg.errors["targets"]
    assert reg.get_sample_value("roompulse_alert_config_valid", labels) == 0
    assert reg.get_sample_value("roompulse_alert_config_reload_errors_total",
                                {"kind": "targets"}) == 1

    path.write_text(GOOD)
    assert cfg.check(force=True)  # SIGHUP
    assert reg.get_sample_value("roompulse_alert_config_valid", labels) == 1


def test_defaults_when_no_file_is_given():
    cfg = AlertConfig()
    assert cfg.targets().source == str(DEFAULT_TARGETS)
    assert cfg.rules().get("room-stalled").kind == "no_data"


def _rewrite(path, data: bytes, stamp: int) -> None:
    path.write_bytes(data)
    os.utime(path, ns=(1, stamp * 10**18))  # a new mtime even within one clock tick


def _rejected(cfg, reg, path, kind: str) -> None:
    assert not cfg.check()
    assert reg.get_sample_value("roompulse_alert_config_valid",
                                {"kind": kind, "file": str(path)}) == 0


@pytest.mark.parametrize("empty", [b"", b"\n   \n", b"# all targets removed for now\n"])
def test_an_empty_targets_file_is_rejected_and_the_old_one_kept(tmp_path, empty):
    path = tmp_path / "targets.yaml"
    path.write_text(GOOD)
    reg = CollectorRegistry()
    cfg = AlertConfig(path, registry=reg)
    _rewrite(path, empty, 1)
    _rejected(cfg, reg, path, "targets")
    assert cfg.targets().file.stages["conversion"]["ctr"].min == 0.03  # targets still apply
    assert "is empty" in cfg.errors["targets"]
    with pytest.raises(ConfigError, match="is empty"):  # and no process starts with it
        AlertConfig(path)


def test_invalid_utf8_in_targets_or_rules_is_a_counted_config_error(tmp_path, caplog):
    targets, rules = tmp_path / "targets.yaml", tmp_path / "rules.yaml"
    targets.write_text(GOOD)
    rules.write_text(DEFAULT_RULES.read_text(encoding="utf-8"))
    reg = CollectorRegistry()
    cfg = AlertConfig(targets, rules, registry=reg)
    n_rules = len(cfg.rules().rules)
    # GBK bytes (a common editor default on zh-CN Windows) on the third line.
    _rewrite(targets, GOOD.replace("0.03", "0.05  # 目标").encode("gbk"), 1)
    _rewrite(rules, "# 规则\n".encode("gbk") + rules.read_bytes(), 2)
    caplog.set_level(logging.ERROR)
    _rejected(cfg, reg, targets, "targets")
    assert reg.get_sample_value("roompulse_alert_config_valid",
                                {"kind": "rules", "file": str(rules)}) == 0
    assert reg.get_sample_value("roompulse_alert_config_reload_errors_total",
                                {"kind": "targets"}) == 1
    assert reg.get_sample_value("roompulse_alert_config_reload_errors_total",
                                {"kind": "rules"}) == 1
    assert cfg.targets().file.stages["conversion"]["ctr"].min == 0.03
    assert len(cfg.rules().rules) == n_rules
    assert "targets.yaml:3: not valid UTF-8" in cfg.errors["targets"]
    assert "rules.yaml:1: not valid UTF-8" in cfg.errors["rules"]
    assert "Traceback" not in caplog.text


def test_the_rules_file_is_checked_the_same_way(tmp_path):
    path = tmp_path / "rules.yaml"
    for bad in (b"", b"\xff\xfe\x00r\x00u\x00l\x00e\x00s\x00:\x00"):
        path.write_bytes(bad)
        with pytest.raises(ConfigError):
            RulePack.load(path)
