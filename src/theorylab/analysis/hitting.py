"""Hitting times of a logged observable and power-law slopes of them: pure pandas / numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd


def first_crossing(df: pd.DataFrame, col: str, level: float, *, absolute: bool = False) -> pd.Series:
    """Per run_id: the first logged step at which ``col`` >= level (|col| with ``absolute``),
    inf for a run that never gets there. The resolution is the log interval."""
    v = df[col].abs() if absolute else df[col]
    hit = df.loc[v >= level].groupby("run_id")["step"].min()
    runs = pd.Index(df["run_id"].unique(), name="run_id")
    return hit.reindex(runs).astype(float).fillna(np.inf)


def quantiles(values, qs=(0.25, 0.5, 0.75)) -> np.ndarray:
    """[len(qs)]: linear-interpolation quantiles of values that may contain inf (a run that
    never got there ranks above every finite value; a quantile that touches it is inf)."""
    v = np.asarray(values, float)
    if not len(v):
        return np.full(len(qs), np.nan)
    q = np.quantile(np.where(np.isinf(v), _BIG, v), qs)
    return np.where(q >= 1e200, np.inf, q)  # interpolated towards _BIG: touches an inf


_BIG = 1e300


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y on log x; nan with fewer than 2 finite positive points,
    inf when some y is inf (a size whose runs never got there)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if np.any(np.isinf(y)):
        return np.inf
    ok = (x > 0) & (y > 0) & np.isfinite(y)
    if ok.sum() < 2:
        return np.nan
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])
