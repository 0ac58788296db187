"""Reading the worker's /metrics text in the bench: a few samples by name, histogram quantiles.

A hand-rolled line filter rather than prometheus_client's parser: a scrape at 20,000 rooms holds
tens of thousands of KPI series, and parsing all of them would stall the bench's event loop while
it times the worker's endpoints.
"""

from __future__ import annotations

import math

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _labels(text: str) -> tuple[tuple[str, str], ...]:
    """`a="x",b="y"` -> (("a", "x"), ("b", "y")), sorted. Values of ours hold no `",`."""
    out = []
    for part in text.split('",'):
        if not part:
            continue
        key, _, value = part.partition("=")
        out.append((key.strip(), value.strip().strip('"')))
    return tuple(sorted(out))


def parse(text: str, names: tuple[str, ...]) -> Samples:
    """{(sample name, labels): value} for the samples whose name starts with one of `names`.

    Comments and other series are skipped without parsing; a malformed line is a ValueError
    naming it (the worker's exposition is ours: a bad line is a bug, not noise)."""
    out: Samples = {}
    for line in text.splitlines():
        if not line.startswith(names):
            continue
        head, sep, value = line.rpartition(" ")
        if not sep:
            raise ValueError(f"not a sample line: {line[:120]!r}")
        if "{" in head:
            name, _, rest = head.partition("{")
            if not rest.endswith("}"):
                raise ValueError(f"unclosed labels: {line[:120]!r}")
            labels = _labels(rest[:-1])
        else:
            name, labels = head, ()
        try:
            out[(name, labels)] = float(value)
        except ValueError:
            raise ValueError(f"not a number in {line[:120]!r}") from None
    return out


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def buckets(samples: Samples, name: str) -> list[tuple[float, float]]:
    """A histogram's cumulative buckets [(le, count)], by le (+Inf last)."""
    out = [(float(dict(lb)["le"]), v) for (n, lb), v in samples.items()
           if n == f"{name}_bucket"]
    return sorted(out)


def delta(after: list[tuple[float, float]], before: list[tuple[float, float]]
          ) -> list[tuple[float, float]]:
    """Bucket counts of what was observed between two scrapes."""
    old = dict(before)
    return [(le, count - old.get(le, 0.0)) for le, count in after]


def quantile(q: float, cumulative: list[tuple[float, float]]) -> float | None:
    """Prometheus' histogram_quantile: linear inside the bucket holding rank q·count; a rank in
    the +Inf bucket gives the highest finite bound. None with no observations."""
    if not cumulative or cumulative[-1][1] <= 0:
        return None
    total = cumulative[-1][1]
    rank = q * total
    lower_le, lower_count = 0.0, 0.0
    for le, count in cumulative:
        if count >= rank:
            if math.isinf(le):
                return lower_le
            if count == lower_count:
                return le
            return lower_le + (le - lower_le) * (rank - lower_count) / (count - lower_count)
        lower_le, lower_count = le, count
    return lower_le
