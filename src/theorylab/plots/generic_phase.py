"""A phase diagram for any sweep: any recorded metric over any two swept config fields.

    figure = sweep_figure(df, x="mu_norm", y="N", metric="test_loss", curve=..., curve_label=...)

Each cell shows the metric at the runs' last log point, averaged over seeds (and over every
other swept field, which the title then says). With one field (``y=None``) it is a curve,
mean +- 1 sd over the same runs. An axis whose values are positive and spread over more than
a decade in a roughly geometric progression is drawn on a log scale. ``curve`` (x -> y), when
given, is the theory's boundary drawn over the cells.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from theorylab.config import ConfigError
from theorylab.analysis.results import final_rows
from theorylab.plots.style import paper_style, subplots


def _is_log(v: np.ndarray) -> bool:
    v = np.sort(np.unique(np.asarray(v, float)))
    if len(v) < 3 or v[0] <= 0 or v[-1] / v[0] < 10:
        return False
    dl, dv = np.diff(np.log(v)), np.diff(v)
    return bool(np.std(dl) / np.mean(dl) < np.std(dv) / np.mean(dv))  # steps more even in log


def _edges(c: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges around sorted centres (in log space for a log axis)."""
    c = np.log(c) if log else np.asarray(c, float)
    if len(c) == 1:
        e = np.array([c[0] - 0.5, c[0] + 0.5]) if not log else np.array([c[0] - 0.2, c[0] + 0.2])
    else:
        mid = (c[1:] + c[:-1]) / 2
        e = np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])
    return np.exp(e) if log else e


def _ticks(axis, values: np.ndarray, log: bool) -> None:
    """On a log axis, tick the swept values themselves (plain numbers, no minor labels)."""
    if log and len(values) <= 12:
        from matplotlib.ticker import NullLocator

        axis.set_ticks(values, labels=[f"{v:.3g}" for v in values])
        axis.set_minor_locator(NullLocator())


def _check(df: pd.DataFrame, name: str, what: str) -> None:
    if name not in df.columns:
        raise ConfigError(f"{what} {name!r} is not a stored column; known: {', '.join(df.columns)}")
    if not pd.api.types.is_numeric_dtype(df[name]):
        raise ConfigError(f"{what} {name!r} is not numeric")


def sweep_figure(df: pd.DataFrame, x: str, metric: str, y: str | None = None, *,
                 curve: Callable[[np.ndarray], np.ndarray] | None = None, curve_label: str = "",
                 title: str = "", others: list[str] | None = None):
    """The phase diagram (or, with y=None, the curve) of ``metric`` over the swept fields."""
    with paper_style():
        return _sweep_figure(df, x, metric, y, curve=curve, curve_label=curve_label, title=title, others=others)


def _sweep_figure(df, x, metric, y, *, curve, curve_label, title, others):
    for name, what in ((x, "x field"), (metric, "metric")) + (((y, "y field"),) if y else ()):
        _check(df, name, what)
    if y == x:
        raise ConfigError(f"x and y are both {x!r}; pick two different swept fields")
    fin = final_rows(df)
    averaged = [o for o in (others or []) if o not in (x, y)]
    note = "mean over seeds" + (f" and {', '.join(averaged)}" if averaged else "")
    xs = np.sort(fin[x].unique())
    logx = _is_log(xs)
    fig, ax = subplots(figsize=(6.4, 4.6), constrained_layout=True)
    if y is None:
        g = fin.groupby(x)[metric]
        m, s = g.mean().loc[xs].to_numpy(), g.std(ddof=0).loc[xs].to_numpy()
        ax.plot(xs, m, "o-", lw=1.5, label=metric)
        ax.fill_between(xs, m - s, m + s, alpha=0.2, lw=0, label="+- 1 sd")
        ax.set_ylabel(metric)
        ax.legend()
    else:
        ys = np.sort(fin[y].unique())
        logy = _is_log(ys)
        z = fin.groupby([y, x])[metric].mean().unstack(x).reindex(index=ys, columns=xs).to_numpy()
        ex, ey = _edges(xs, logx), _edges(ys, logy)
        mesh = ax.pcolormesh(ex, ey, np.ma.masked_invalid(z), cmap="viridis", shading="flat")
        fig.colorbar(mesh, ax=ax, fraction=0.05, pad=0.02).set_label(f"{metric} ({note})")
        if z.size <= 150:  # small grids: print each cell's value
            cx = np.sqrt(ex[1:] * ex[:-1]) if logx else (ex[1:] + ex[:-1]) / 2
            cy_ = np.sqrt(ey[1:] * ey[:-1]) if logy else (ey[1:] + ey[:-1]) / 2
            lo, hi = np.nanmin(z), np.nanmax(z)
            for i, yv in enumerate(cy_):
                for j, xv in enumerate(cx):
                    if np.isfinite(z[i, j]):
                        dark = (z[i, j] - lo) < 0.6 * (hi - lo) if hi > lo else True
                        ax.text(xv, yv, f"{z[i, j]:.3g}", ha="center", va="center", fontsize=7,
                                color="white" if dark else "black")
        if curve is not None:
            grid = np.geomspace(ex[0], ex[-1], 400) if logx else np.linspace(ex[0], ex[-1], 400)
            cy = np.asarray(curve(grid), float)
            ok = np.isfinite(cy) & (cy >= ey[0]) & (cy <= ey[-1])
            ax.plot(grid[ok], cy[ok], color="red", lw=2, label=curve_label or "theory")
            ax.legend(loc="best", frameon=True)
        ax.set_ylim(ey[0], ey[-1])
        ax.set_yscale("log" if logy else "linear")
        _ticks(ax.yaxis, ys, logy)
        ax.set_ylabel(y)
    ax.set_xscale("log" if logx else "linear")
    _ticks(ax.xaxis, xs, logx)
    ax.set_xlabel(x)
    ax.set_title(title or f"{metric} over {x}" + (f" x {y}" if y else "") + f" ({note}, last log point)")
    return fig
