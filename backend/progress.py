"""Progress inside one stage of a job, and the job's cancel check, for any long step.

A `Steps` is handed to long work (a localize call, a render): call `steps(fraction, message)`
between units of work (per view, per chunk, per model step). The job's callback maps the fraction
onto its own progress scale and raises its cancellation exception when the job should stop; the
work lets it propagate, so a cancel takes effect inside the stage (nothing is written).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

StepReport = Callable[[float, "str | None"], None]


def _no_report(fraction: float, message: str | None = None) -> None:
    return None


@dataclass(frozen=True)
class Steps:
    """fraction in [0,1] of the current stage (clamped); message: what is being done, or None."""

    report: StepReport = _no_report

    def __call__(self, fraction: float, message: str | None = None) -> None:
        self.report(min(max(float(fraction), 0.0), 1.0), message)


NO_STEPS = Steps()
