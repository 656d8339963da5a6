"""The public contract: what every experiment fills, built-in or a user's own.

    import theorylab as tl

    @dataclasses.dataclass(frozen=True)
    class Config:
        d: int = tl.param(64, "input dimension", static=True, lo=1)     # a shape: static
        steps: int = tl.param(1000, "step budget", static=True, lo=1)   # every Config has
        log_every: int = tl.param(100, "steps between log points", static=True, lo=1)
        lr: float = tl.param(0.1, "step size", lo=0, lo_open=True)      # dynamic: vmapped

    PROBLEM = tl.Problem(setup=..., loss=..., observe=...)
    EXP = tl.Experiment(name="my/exp", summary="...", config=Config, problem=PROBLEM,
                        presets={"smoke": ..., "cpu": ..., "paper": ...},
                        claims=my_claims, figures=my_figures)

* ``Config``: a frozen dataclass whose fields are declared with :func:`param`. Static fields
  fix shapes and Python control flow (one compiled program per value); every other numeric
  field is dynamic, one traced scalar per run, free to sweep. str and bool fields must be
  static. ``steps`` and ``log_every`` (static ints) are required.
* ``Problem``: pure functions of (config, key) that the engine trains (see its docstring).
* ``Preset``: the base config, the grid cells and the seeds of one named setting.
* a static size declared ``param(..., static=True, bucket=p)`` may be padded into a bucket
  shared with other sizes (one compiled program for many): the Problem then reads the run's
  own size with ``true_size(cfg, name)`` and masks padded entries with ``size_mask(cfg, name)``
  (engine/buckets.py); an observable with one entry per sample or position of that size is
  named in ``Problem(padded_axes=(PaddedAxis(observable, size, pad), ...))`` and stored at the
  run's own length.
* ``claims(df, resolved) -> list[Claim]`` and ``figures(df, resolved) -> {name: Figure}``
  read the stored long-format results (one row per run and log point).

Everything here is checked before anything compiles (``theorylab.checks``): a mistake in a
Config or a Problem is a one-line error naming the field or the function.

Importing this module imports jax and optax, nothing else heavy: no matplotlib, no paper, and
it changes no global setting.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

from theorylab.config import ConfigError, param
from theorylab.engine.buckets import PaddedAxis, size_mask, true_size
from theorylab.engine.trainer import Problem, StopReason
from theorylab.sweep.grid import Resolved, cross


@dataclasses.dataclass(frozen=True)
class Preset:
    """One named setting of an experiment: ``base`` overrides of the Config defaults, grid
    ``cells`` (each a dict of overrides, optionally named by a ``"label"`` entry), ``seeds``
    per cell, a ``note`` shown by ``theorylab list``, and ``untested``: claim id -> why this
    preset cannot test it (``"*"``: every claim); such claims are still measured and shown,
    with holds = None."""

    base: dict[str, Any]
    cells: tuple[dict[str, Any], ...] = ({},)
    seeds: int = 1
    note: str = ""
    untested: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Claim:
    """One prediction of the theory checked against the measurement.

    holds: True / False, or None only when this preset cannot test the claim (``note`` says
    why). A claim whose inputs are missing because runs failed is False, never None.
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

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "Claim":
        return cls(**{f.name: obj.get(f.name, "") for f in dataclasses.fields(cls)})

    @classmethod
    def missing(cls, id: str, statement: str, why: str) -> "Claim":
        """A claim whose inputs are not there (runs failed, a cell is absent): it fails."""
        return cls(id, statement, "", "inputs missing", "", False, why)

    @classmethod
    def close(cls, id: str, statement: str, measured: float, predicted: float, *, rel: float,
              note: str = "") -> "Claim":
        """Holds iff |measured - predicted| <= rel |predicted| (a NaN measurement fails)."""
        ok = math.isfinite(measured) and abs(measured - predicted) <= rel * abs(predicted)
        return cls(id, statement, f"{predicted:.4g}", f"{measured:.4g} ({_rel(measured, predicted)})",
                   f"{100 * rel:g}% relative", bool(ok), note)

    @classmethod
    def in_range(cls, id: str, statement: str, measured: float, lo: float, hi: float, *,
                 predicted: str = "", note: str = "") -> "Claim":
        """Holds iff lo <= measured <= hi (a NaN measurement fails)."""
        ok = math.isfinite(measured) and lo <= measured <= hi
        return cls(id, statement, predicted or f"in [{lo:g}, {hi:g}]", f"{measured:.4g}",
                   f"[{lo:g}, {hi:g}]", bool(ok), note)


def _rel(measured: float, predicted: float) -> str:
    if not (math.isfinite(measured) and predicted):
        return "n/a"
    return f"{100 * (measured - predicted) / abs(predicted):+.1f}%"


@dataclasses.dataclass(frozen=True)
class Experiment:
    """An experiment: a Config class, the Problem to train, named presets, claims and figures.

    Optional:
      theory_curve(x_field, y_field, df, resolved) -> (x values -> y values, label) or None:
          the theory's boundary in a plane of two swept fields (the generic sweep figure,
          ``theorylab plot`` and the boundary search draw it);
      sweep_metric: the metric those figures show by default;
      expect_divergence(cfg) -> str | None: why runs of this config are expected to diverge
          (e.g. a step size above the stability limit, on purpose), or None. A diverged run
          whose config has no such reason fails ``theorylab check`` and is flagged in the report.
    """

    name: str
    summary: str
    config: type
    problem: Problem
    presets: dict[str, Preset]
    claims: Callable[[Any, Resolved], list[Claim]]
    figures: Callable[[Any, Resolved], dict[str, Any]]
    theory_curve: Callable[[str, str, Any, Resolved], Any] | None = None
    sweep_metric: str | None = None
    expect_divergence: Callable[[Any], str | None] | None = None


__all__ = ["Claim", "ConfigError", "Experiment", "PaddedAxis", "Preset", "Problem", "Resolved", "StopReason", "cross",
           "param", "size_mask", "true_size"]
