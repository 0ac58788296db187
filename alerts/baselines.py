"""Baseline arithmetic of change rules: usable values, shrinkage, and when a baseline is thin."""

from __future__ import annotations

from schemas.kpis import KpiValue


def usable_value(kv: KpiValue | None, min_den: float) -> float | None:
    """The value of `kv` when there is one over a denominator of at least `min_den`."""
    if kv is None or kv.value is None:
        return None
    return kv.value if kv.denominator is None or kv.denominator >= min_den else None


def shrink(kv: KpiValue, prior: KpiValue | None, weight: float) -> KpiValue:
    """Empirical-Bayes baseline, (num + w * prior) / (den + w): thin ones lean on the room."""
    if prior is None or prior.value is None or not weight or kv.denominator is None \
            or kv.numerator is None:
        return kv
    den = kv.denominator + weight
    num = kv.numerator + weight * prior.value
    return KpiValue(value=num / den, numerator=num, denominator=den)


def thin(base: KpiValue | None, current: KpiValue, share: float) -> bool:
    """A baseline with too few observations next to the current window's: the member (e.g. a
    product pinned minutes ago) was barely seen then, so its rate there is noise."""
    if base is None or base.denominator is None:
        return True
    return current.denominator is not None and base.denominator < share * current.denominator
