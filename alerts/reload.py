"""Hot reload of the targets and rule files: validate first, keep the old config on errors."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge

from alerts.rules import DEFAULT_RULES, RulePack
from alerts.targets import DEFAULT_TARGETS, Targets
from alerts.yamlfile import ConfigError

log = logging.getLogger(__name__)
C = TypeVar("C")


class Watched(Generic[C]):
    """One config file: the running value, swapped only for a new file that validates."""

    def __init__(self, path: str | Path, loader: Callable[[Path], C], kind: str,
                 gauge: Gauge | None, errors: Counter | None) -> None:
        self.path, self.loader, self.kind = Path(path), loader, kind
        self.gauge, self.errors = gauge, errors
        self.value: C = loader(self.path)  # the first load must succeed: no old config to keep
        self.last_error: str | None = None
        self._stamp = self._mtime()
        self._mark(True)

    def _mtime(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _mark(self, ok: bool) -> None:
        if self.gauge is not None:
            self.gauge.labels(self.kind, str(self.path)).set(1 if ok else 0)

    def check(self, force: bool = False) -> bool:
        """Reload if the file changed (or `force`); True when a new config took effect."""
        stamp = self._mtime()
        if not force and stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            new = self.loader(self.path)
        except Exception as exc:  # noqa: BLE001 - whatever the file holds, the old config stays
            # ConfigError is the expected case; anything else is still a file we cannot use,
            # and must not become a traceback on every evaluation tick.
            msg = str(exc) if isinstance(exc, ConfigError) else (
                f"{self.path}: cannot load: {type(exc).__name__}: {exc}")
            self.last_error = msg
            log.error("%s file %s is invalid; keeping the running one:\n%s", self.kind,
                      self.path, msg)
            self._mark(False)
            if self.errors is not None:
                self.errors.labels(self.kind).inc()
            return False
        self.value, self.last_error = new, None
        self._mark(True)
        log.info("%s file %s reloaded", self.kind, self.path)
        return True


class AlertConfig:
    """Targets + rules with hot reload; pass `.targets` and `.rules` to the Evaluator."""

    def __init__(self, targets_path: str | Path | None = None,
                 rules_path: str | Path | None = None,
                 registry: CollectorRegistry | None = None) -> None:
        gauge = errors = None
        if registry is not None:
            gauge = Gauge("roompulse_alert_config_valid",
                          "1 when the last load of the file succeeded, 0 when it was rejected",
                          ["kind", "file"], registry=registry)
            errors = Counter("roompulse_alert_config_reload_errors",
                             "Rejected reloads of targets/rule files", ["kind"], registry=registry)
        self._targets = Watched(targets_path or DEFAULT_TARGETS, Targets.load, "targets", gauge,
                                errors)
        self._rules = Watched(rules_path or DEFAULT_RULES, RulePack.load, "rules", gauge, errors)

    def targets(self) -> Targets:
        return self._targets.value

    def rules(self) -> RulePack:
        return self._rules.value

    def check(self, force: bool = False) -> bool:
        """Poll both files (call every few seconds, and with force=True on SIGHUP)."""
        a = self._targets.check(force)
        b = self._rules.check(force)
        return a or b

    @property
    def errors(self) -> dict[str, str]:
        return {w.kind: w.last_error for w in (self._targets, self._rules) if w.last_error}
