"""Phase diagrams: a metric over a 2-D grid of cells with a theory curve drawn over it."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd


def cell_edges(centres: np.ndarray) -> np.ndarray:
    """Edges of cells centred on (possibly uneven) sorted centres, for pcolormesh."""
    c = np.asarray(centres, float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def grid(table: pd.DataFrame, x: str, y: str, value: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x values [J], y values [I], z [I, J]) of a per-cell table (one row per (x, y)), both
    axes sorted; z[i, j] is NaN where the table has no row."""
    piv = table.pivot(index=y, columns=x, values=value).sort_index().sort_index(axis=1)
    return piv.columns.to_numpy(), piv.index.to_numpy(), piv.to_numpy()


def heatmap(ax, x: np.ndarray, y: np.ndarray, z: np.ndarray, *, cmap="viridis", vmin=None,
            vmax=None, label: str = "", curve: Callable[[np.ndarray], np.ndarray] | None = None,
            curve_label: str = ""):
    """z [I, J] at (x[j], y[i]) with a colour bar; ``curve`` maps x -> y and is drawn over the
    cells, clipped to the grid."""
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


def table_heatmap(ax, table: pd.DataFrame, *, x: str, y: str, value: str, **kwargs):
    """``heatmap`` of the column ``value`` of a per-cell table over its columns x and y."""
    return heatmap(ax, *grid(table, x, y, value), **kwargs)
