"""A small matrix drawn cell by cell with its values printed (e.g. a learned weight product
against its theoretical limit)."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def annotated_matrix(ax, mat: np.ndarray, *, title: str = "", xlabels: Sequence[str] | None = None,
                     ylabels: Sequence[str] | None = None, vlim: float = 0.0, fmt: str = "{:.2f}"):
    """mat [I, J] on a diverging map symmetric about 0 (limits +- max(|mat|, vlim)), each cell
    labelled with its value; light text on dark cells. Returns the image."""
    mat = np.asarray(mat, float)
    lim = max(np.abs(mat).max(), vlim)
    im = ax.imshow(mat, cmap="RdBu_r", vmin=-lim, vmax=lim)
    rows, cols = mat.shape
    for i in range(rows):
        for j in range(cols):
            ax.text(j, i, fmt.format(mat[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if abs(mat[i, j]) > 0.6 * lim else "black")
    if xlabels is not None:
        ax.set_xticks(range(cols), list(xlabels))
    if ylabels is not None:
        ax.set_yticks(range(rows), list(ylabels))
    ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    return im
