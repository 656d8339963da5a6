"""The contract every paper module fills (DESIGN.md, "The contract every paper module fills")."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import pandas as pd

from theorylab.engine.trainer import Problem
from theorylab.sweep.grid import Resolved


@dataclasses.dataclass(frozen=True)
class Preset:
    base: dict[str, Any]  # overrides of the Config defaults
    cells: tuple[dict[str, Any], ...] = ({},)  # grid cells (overrides, optional "label")
    seeds: int = 1
    note: str = ""
    # claim id -> why this preset cannot test it ("*": every claim). Such claims are still
    # measured and shown, with holds = None.
    untested: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Claim:
    """One prediction of the theory checked against the measurement.

    holds is True/False, or None when this preset cannot test the claim (``note`` says why).
    """

    id: str
    statement: str
    predicted: str
    measured: str
    tolerance: str
    holds: bool | None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Experiment:
    name: str
    summary: str
    config: type
    problem: Problem
    presets: dict[str, Preset]
    claims: Callable[[pd.DataFrame, Resolved], list[Claim]]
    figures: Callable[[pd.DataFrame, Resolved], dict[str, Any]]  # name -> matplotlib Figure
    # Optional, for the generic sweep figure (plots/generic_phase.py, `theorylab plot`):
    # theory_curve(x_field, y_field, df, resolved) -> (curve: x values -> y values, label) or
    # None when the theory has no boundary in that plane; sweep_metric: the default metric.
    theory_curve: Callable[[str, str, pd.DataFrame, Resolved], Any] | None = None
    sweep_metric: str | None = None


def evaluate_claims(exp: Experiment, df: pd.DataFrame, resolved: Resolved) -> list[Claim]:
    """The experiment's claims, with those its preset cannot test marked holds = None."""
    preset = exp.presets.get(resolved.preset)
    untested = preset.untested if preset is not None else {}
    out = []
    for c in exp.claims(df, resolved):
        why = untested.get(c.id, untested.get("*"))
        if why and c.holds is not None:
            c = dataclasses.replace(c, holds=None, note=f"not tested at preset {resolved.preset!r}: {why}")
        out.append(c)
    return out
