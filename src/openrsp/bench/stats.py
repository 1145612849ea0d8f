"""Percentiles of latencies, the way the reports show them: milliseconds, p50 and p99."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (fraction 0..1) of non-empty values."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """{p50, p99, mean, n} in milliseconds (None when there were no samples)."""
    if not seconds:
        return {"p50": None, "p99": None, "mean": None, "n": 0}
    return {
        "p50": round(1000 * percentile(seconds, 0.50), 3),
        "p99": round(1000 * percentile(seconds, 0.99), 3),
        "mean": round(1000 * sum(seconds) / len(seconds), 3),
        "n": len(seconds),
    }
