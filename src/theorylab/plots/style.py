"""The paper-like figure style, applied explicitly: importing theorylab changes no matplotlib
setting (no backend selection, no global rcParams).

    with paper_style():          # the style for whatever is drawn inside
        ...
    fig, axes = subplots(1, 3, figsize=(15, 4))   # a styled figure, no pyplot, no backend

``subplots`` / ``new_figure`` build a ``PaperFigure``: a plain ``matplotlib.figure.Figure``
(not registered with pyplot, so it needs no GUI backend and ``savefig`` works in a headless
process) that draws and saves itself under the paper style, so tick labels and the saved
resolution do not depend on the caller's rcParams. It still displays in a notebook.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import matplotlib
from matplotlib.figure import Figure

STYLE: dict[str, Any] = {
    "figure.dpi": 110,
    "savefig.dpi": 130,
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.grid": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
}


@contextlib.contextmanager
def paper_style() -> Iterator[None]:
    """rcParams of the paper style for the duration of the block (restored on exit)."""
    with matplotlib.rc_context(STYLE):
        yield


class PaperFigure(Figure):
    """A Figure that is drawn and saved under ``paper_style``."""

    def draw(self, renderer):
        with paper_style():
            return super().draw(renderer)

    def savefig(self, fname, **kwargs):
        with paper_style():
            return super().savefig(fname, **kwargs)


def new_figure(**kwargs) -> PaperFigure:
    """A styled figure (``Figure`` keyword arguments: figsize, constrained_layout, ...)."""
    with paper_style():
        return PaperFigure(**kwargs)


def subplots(nrows: int = 1, ncols: int = 1, *, squeeze: bool = True, sharex=False, sharey=False,
             **kwargs) -> tuple[PaperFigure, Any]:
    """(figure, axes) as ``plt.subplots`` returns them, without pyplot; call it (and draw on the
    axes) inside ``paper_style()`` for the style to apply to titles, labels and legends."""
    with paper_style():
        fig = PaperFigure(**kwargs)
        return fig, fig.subplots(nrows, ncols, squeeze=squeeze, sharex=sharex, sharey=sharey)


def __getattr__(name: str):
    """``plt`` on demand (callers that close figures through pyplot); importing pyplot selects
    no backend by itself."""
    if name == "plt":
        import matplotlib.pyplot as plt

        return plt
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["STYLE", "PaperFigure", "new_figure", "paper_style", "subplots"]
