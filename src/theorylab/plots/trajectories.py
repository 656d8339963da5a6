"""Trajectories over training steps: mean over seeds with a +-k sigma band."""

from __future__ import annotations

import numpy as np


def band(ax, steps: np.ndarray, values: np.ndarray, *, k: float = 2.0, label: str = "",
         color=None, log: bool = False):
    """values: [seeds, n_steps]. Draws the mean and mean +- k * std (std over seeds)."""
    values = np.asarray(values, float)
    m, s = values.mean(axis=0), values.std(axis=0)
    (line,) = ax.plot(steps, m, label=label, color=color, lw=1.5)
    ax.fill_between(steps, m - k * s, m + k * s, color=line.get_color(), alpha=0.2, lw=0)
    if log:
        ax.set_yscale("log")
    return line
