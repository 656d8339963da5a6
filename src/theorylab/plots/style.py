"""Shared matplotlib set-up: a non-interactive backend and a paper-like style."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({
    "figure.dpi": 110,
    "savefig.dpi": 130,
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.grid": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
})

__all__ = ["plt"]
