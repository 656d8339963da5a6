"""Phase diagrams: a metric over a 2-D grid of cells with a theory curve drawn over it."""

from __future__ import annotations

from typing import Callable

import numpy as np

from theorylab.plots.style import plt  # noqa: F401  (sets the Agg backend before any figure)


def cell_edges(centres: np.ndarray) -> np.ndarray:
    """Edges of cells centred on (possibly uneven) sorted centres, for pcolormesh."""
    c = np.asarray(centres, float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def heatmap(ax, x: np.ndarray, y: np.ndarray, z: np.ndarray, *, cmap="viridis", vmin=None,
            vmax=None, label: str = "", curve: Callable[[np.ndarray], np.ndarray] | None = None,
            curve_label: str = ""):
    """z[i, j] at (x[j], y[i]); ``curve`` maps x -> y and is drawn over the cells."""
    mesh = ax.pcolormesh(cell_edges(x), cell_edges(y), z, cmap=cmap, vmin=vmin, vmax=vmax,
                         shading="flat")
    cb = ax.figure.colorbar(mesh, ax=ax, fraction=0.05, pad=0.02)
    cb.set_label(label)
    if curve is not None:
        xs = np.linspace(cell_edges(x)[0], cell_edges(x)[-1], 400)
        ys = curve(xs)
        ok = (ys >= cell_edges(y)[0]) & (ys <= cell_edges(y)[-1])
        ax.plot(xs[ok], ys[ok], color="red", lw=2, label=curve_label)
        ax.legend(loc="upper right", frameon=True)
    ax.set_xlim(cell_edges(x)[0], cell_edges(x)[-1])
    ax.set_ylim(cell_edges(y)[0], cell_edges(y)[-1])
    return mesh
