"""Trajectories over training steps: the mean over runs with a +- k sd band."""

from __future__ import annotations

import numpy as np
import pandas as pd

from theorylab.analysis.results import mean_sd, trajectories


def band(ax, steps: np.ndarray, values: np.ndarray, *, k: float = 2.0, label: str = "",
         color=None, log: bool = False):
    """values [runs, T] at steps [T]: draws the mean and the band mean +- k sd (sd over runs)."""
    m, s = mean_sd(values)
    (line,) = ax.plot(steps, m, label=label, color=color, lw=1.5)
    ax.fill_between(steps, m - k * s, m + k * s, color=line.get_color(), alpha=0.2, lw=0)
    if log:
        ax.set_yscale("log")
    return line


def cell_band(ax, df: pd.DataFrame, col: str, *, cell: str | None = None, by: str = "seed",
              k: float = 2.0, label: str = "", color=None, log: bool = False):
    """``band`` of one observable read from the long-format results: the runs of one ``cell``
    (one per ``by``; all runs of ``df`` when cell is None)."""
    steps, values = trajectories(df, col, cell=cell, by=by)
    return band(ax, steps, values, k=k, label=label, color=color, log=log)
