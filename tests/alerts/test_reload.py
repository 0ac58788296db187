"""Hot reload: a valid new file takes effect, a bad one leaves the old one running."""

import os

from prometheus_client import CollectorRegistry

from alerts.reload import AlertConfig
from alerts.targets import DEFAULT_TARGETS

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
