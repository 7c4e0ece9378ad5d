"""Percentiles of the Python load scripts' latencies (wrk computes its own)."""

import math


def percentile(values, p):
    """The nearest-rank ``p``-th percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary_ms(seconds):
    """p50 and p99 in milliseconds of latencies given in seconds."""
    return {"p50_ms": _ms(percentile(seconds, 50)), "p99_ms": _ms(percentile(seconds, 99))}


def _ms(value):
    return None if value is None else value * 1000
