"""Median and p95 per step, from the seconds per step each run reports (`StepTimer`'s timings).

A whole run's median says that something got slower, not where; the benchmarks print these
beside it. A step that did not run on some images (the barcode only without an MRZ) is summed
over the runs it ran in, and says in how many.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class StepStats:
    step: str
    runs: int  # how many of the measured runs took this step
    median_seconds: float
    p95_seconds: float


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` 0.95 for the p95); the one value when there is one."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def per_step(timings: Iterable[Mapping[str, float]]) -> tuple[StepStats, ...]:
    """One row per step name, in the order the steps first appeared (pipeline order)."""
    seconds: dict[str, list[float]] = {}
    for run in timings:
        for step, value in run.items():
            seconds.setdefault(step, []).append(value)
    return tuple(
        StepStats(step, len(values), statistics.median(values), percentile(values, 0.95))
        for step, values in seconds.items()
    )


def format_steps(rows: Iterable[StepStats], indent: str = "  ") -> list[str]:
    """The rows as a small text table."""
    lines = [f"{indent}{'step':<18} {'runs':>5} {'median s':>9} {'p95 s':>7}"]
    lines += [
        f"{indent}{row.step:<18} {row.runs:>5} {row.median_seconds:>9.3f} {row.p95_seconds:>7.3f}"
        for row in rows
    ]
    return lines
