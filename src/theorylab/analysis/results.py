"""Views of the long-format results table (one row per run and log point)."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd


def final_rows(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: its last log point (a stopped run's frozen final state).

    Rows are in the order of the runs' first appearance after a stable sort by step."""
    return df.sort_values("step").groupby("run_id", sort=False).tail(1).reset_index(drop=True)


def trajectories(df: pd.DataFrame, col: str, *, cell: str | None = None,
                 by: str = "seed") -> tuple[np.ndarray, np.ndarray]:
    """(steps [T], values [R, T]) of the observable ``col``: one row per ``by`` (seed, or run_id
    when several cells are pooled), sorted; ``cell`` restricts to one grid cell."""
    sub = df if cell is None else df[df["cell"] == cell]
    wide = sub.pivot(index=by, columns="step", values=col)
    return wide.columns.to_numpy(), wide.to_numpy()


def value_at(steps: np.ndarray, values: np.ndarray, step: int) -> np.ndarray:
    """[R]: values [R, T] at the last log point <= step (the first log point if none is)."""
    i = int(np.searchsorted(steps, step, side="right")) - 1
    return values[:, max(i, 0)]


def mean_sd(values, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(mean, sd) over ``axis`` (runs): the centre and the half-width unit of a +- k sd band.
    sd is the population standard deviation (ddof = 0)."""
    values = np.asarray(values, float)
    return values.mean(axis=axis), values.std(axis=axis)


def stack(rows: pd.DataFrame, col: str) -> np.ndarray:
    """[runs, ...]: an array-valued (list per row) observable of ``rows`` as one array."""
    return np.stack([np.asarray(v, float) for v in rows[col]])


def absent_cells(df: pd.DataFrame, cells: Iterable[str]) -> list[str]:
    """The cell labels of the grid that have no row in the results (their runs failed and were
    left out upstream): a claim that needs one of them cannot be checked and fails."""
    have = set(df["cell"]) if "cell" in df.columns else set()
    return [c for c in cells if c not in have]
