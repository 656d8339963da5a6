"""Rate fits of trajectories."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ExpFit(NamedTuple):
    rate: float  # lambda of gap(t) ~ exp(a - lambda t), per step
    r2: float  # coefficient of determination of the fit of log gap
    n_points: int  # log points in the fit
    first_step: float
    last_step: float
    coef: np.ndarray  # [2] (slope, intercept) of log gap against t: exp(np.polyval(coef, t))


def exp_rate_fit(steps: np.ndarray, gap: np.ndarray, floor: float) -> ExpFit | None:
    """Least-squares fit log gap(t) = a - lambda t over a run's convergence phase.

    steps [T], gap [T] (e.g. training loss minus the training optimum). The phase runs from
    the first log point after step 0 up to and including the first one where gap < floor
    (below it, a slower mode of a finite problem may take over); points with gap <= 0 are
    dropped. R^2 = 1 - SS_res / SS_tot of the log values. None when fewer than 3 points remain.
    """
    below = np.nonzero(gap < floor)[0]
    end = below[0] if len(below) else len(gap) - 1
    sel = slice(1, end + 1)
    x, y = steps[sel], gap[sel]
    ok = y > 0
    x, y = x[ok], np.log(y[ok])
    if len(x) < 3:
        return None
    coef = np.polyfit(x, y, 1)
    r2 = 1 - ((y - np.polyval(coef, x)) ** 2).sum() / max(((y - y.mean()) ** 2).sum(), 1e-300)
    return ExpFit(float(-coef[0]), float(r2), len(x), float(x[0]), float(x[-1]), coef)
