"""The boundary between two regimes of a phase diagram over (n, SNR): the law n SNR^p = c.

Both the ViT paper (Unveil Benign Overfitting for Transformer in Vision, arXiv:2409.19345,
Figure 1: benign iff N SNR^2 >= c) and the label-noise GD paper (arXiv:2510.17526, Figure 3:
GD generalises iff n SNR^2 >~ 1) predict such a boundary with p = 2. ``fit_boundary`` reads it
from per-cell results in two complementary ways:

* boundary points: per n, SNR*(n) = the smallest SNR of a cell on the good side; the law
  predicts log n = log c - p log SNR*, so the slope of log n against log SNR* is -p, and with
  the slope fixed at -p the constant is c* = geometric mean of n SNR*^p;
* best split: the threshold c_split of the rule "a cell is on the good side iff n SNR^p >= c"
  that misclassifies the fewest cells (candidates: geometric midpoints between consecutive
  sorted values of n SNR^p and the two ends; the smallest c among ties).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class BoundaryFit(NamedTuple):
    n: np.ndarray  # [K] the values of n that have a boundary point
    snr_star: np.ndarray  # [K] SNR*(n)
    slope: float | None  # of log n against log SNR*; None with fewer than min_points points or one SNR*
    c_star: float | None  # geometric mean of n SNR*^p; None with fewer than min_points points
    c_split: float | None  # threshold of the best split; None without cells
    misses: int  # cells the best split misclassifies


def fit_boundary(n, snr, good_fraction, *, exponent: int = 2, min_points: int = 3) -> BoundaryFit:
    """Fit the law n SNR^p = c to cells (n [C], snr [C], good_fraction [C]).

    good_fraction: the fraction of a cell's repetitions on the good side (e.g. test loss below
    a cutoff), or 1.0 / 0.0 for a cell-level verdict; a cell is on the good side when it is
    >= 1/2. See the module docstring for the two estimates.
    """
    n, snr, good_fraction = (np.asarray(a) for a in (n, snr, good_fraction))
    good = good_fraction >= 0.5
    ns, stars = [], []
    for v in np.unique(n):
        sel = (n == v) & good
        if sel.any():
            ns.append(v)
            stars.append(snr[sel].min())
    ns, stars = np.array(ns, float), np.array(stars, float)
    slope = c_star = None
    if len(ns) >= min_points:
        ln, ls = np.log(ns), np.log(stars)
        c_star = float(np.exp(np.mean(ln + exponent * ls)))
        if len(np.unique(stars)) > 1:  # one SNR* for every n: no slope to fit
            slope = float(np.polyfit(ls, ln, 1)[0])
    c_split, misses = _best_split(n * snr**exponent, good) if len(n) else (None, 0)
    return BoundaryFit(ns, stars, slope, c_star, c_split, misses)


def _best_split(x: np.ndarray, good: np.ndarray) -> tuple[float, int]:
    """(c, misclassified cells) of the rule good iff x >= c that misclassifies fewest cells."""
    x = np.asarray(x, float)
    xs = np.unique(x)
    cands = np.concatenate([[xs[0] / 2], np.sqrt(xs[1:] * xs[:-1]), [xs[-1] * 2]])
    errors = np.array([int(np.sum((x >= c) != good)) for c in cands])
    best = int(np.argmin(errors))
    return float(cands[best]), int(errors[best])
