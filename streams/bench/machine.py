"""What the bench ran on, and the figures computed from two measured rates (pure, no I/O here).

Absolute events/s do not transfer between machines, so every result carries the machine it was
measured on and the worker's rate as a fraction of a raw reference loop run in the same
invocation (`streams.bench.reference`).
"""

from __future__ import annotations

import math
import os
import platform
from importlib import metadata

# The libraries the hot path spends its time in: a figure that does not reproduce elsewhere is
# first checked against these (an aiokafka without the internals `RawRecordConsumer` uses, for
# one, silently falls back to slower records).
HOT_PACKAGES = ("aiokafka", "pydantic-core", "orjson", "msgspec", "redis", "hiredis",
                "faust-streaming")
# /proc/cpuinfo names the model differently per architecture; the first key found wins.
_MODEL_KEYS = ("model name", "Hardware", "cpu model", "Processor", "uarch")


def cpu_model(cpuinfo: str) -> str | None:
    """The CPU model named in the text of /proc/cpuinfo, or None when it names none."""
    for key in _MODEL_KEYS:
        for line in cpuinfo.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip():
                return " ".join(value.split())
    return None


def package_versions(names: tuple[str, ...] = HOT_PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution, None when it is not installed."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def machine_info(cpuinfo: str | None = None) -> dict:
    """CPU model, cores (online and usable by this process), Python version and implementation,
    and the 1-minute load average when the bench started (the machine is shared and noisy)."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                cpuinfo = f.read()
        except OSError:
            cpuinfo = ""
    try:
        usable: int | None = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    try:
        load = round(os.getloadavg()[0], 2)
    except OSError:
        load = None
    return {"cpu_model": cpu_model(cpuinfo) or platform.processor() or None,
            "cores": os.cpu_count(), "cores_usable": usable,
            "python": platform.python_version(),
            "implementation": platform.python_implementation(), "load_avg_1m": load,
            "packages": package_versions()}


def _positive(x: float | None) -> bool:
    return x is not None and math.isfinite(x) and x > 0


def ratio(part: float | None, whole: float | None, digits: int = 3) -> float | None:
    """`part / whole` rounded, or None when either is missing, not finite or not positive
    (a failed or empty run must not produce a ratio that looks like a measurement)."""
    if not (_positive(part) and _positive(whole)):
        return None
    return round(part / whole, digits)  # type: ignore[operator]


def reference_figures(events_per_s: float | None, cpu_s_per_million: float | None,
                      ref_events_per_s: float | None,
                      ref_cpu_s_per_million: float | None) -> dict:
    """The worker against the reference loop of the same run.

    `reference_ratio` compares wall-clock rates (what the issue's target is set on);
    `reference_cpu_ratio` compares CPU per event (reference CPU / worker CPU), which does not
    depend on how the machine's cores were shared between the processes at that moment.
    """
    rate = ref_events_per_s if _positive(ref_events_per_s) else None
    cpu = ref_cpu_s_per_million if _positive(ref_cpu_s_per_million) else None
    return {"reference_events_per_s": None if rate is None else round(rate),
            "reference_cpu_s_per_million": None if cpu is None else round(cpu, 2),
            "reference_ratio": ratio(events_per_s, ref_events_per_s),
            "reference_cpu_ratio": ratio(ref_cpu_s_per_million, cpu_s_per_million)}
