"""Where a measured curve crosses a level, and rank correlation: pure numpy.

* ``crossing``: the x at which y(x) first crosses a level, linearly interpolated in x or in
  log x (e.g. the max-sum ratio R50 at which OOD accuracy crosses 50%);
* ``spearman``: Spearman's rank correlation (average ranks for ties), without scipy;
* ``loglog_slope``: the least-squares slope of log y against log x.
"""

from __future__ import annotations

import numpy as np


def crossing(x, y, level: float, *, log_x: bool = False) -> float | None:
    """x* where y crosses ``level`` between consecutive points, scanning in the given order
    (the first crossing); None if y never crosses. y exactly at the level counts as crossed."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    u = np.log(x) if log_x else x
    for i in range(len(y) - 1):
        a, b = y[i] - level, y[i + 1] - level
        if a == 0:
            return float(x[i])
        if a * b < 0 or b == 0:
            t = a / (a - b)
            v = u[i] + t * (u[i + 1] - u[i])
            return float(np.exp(v) if log_x else v)
    return None


def _ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="stable")
    r = np.empty(len(v))
    r[order] = np.arange(len(v), dtype=float)
    for val in np.unique(v):  # average ranks of ties
        sel = v == val
        r[sel] = r[sel].mean()
    return r


def spearman(x, y) -> float:
    """Spearman's rho of two samples [n] (NaN if either is constant or n < 2)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2:
        return float("nan")
    rx, ry = _ranks(x), _ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def loglog_slope(x, y) -> float:
    """Slope of the least-squares line log y = a + s log x."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])
