"""Adaptive phase-boundary search: find where a metric crosses a level, row by row.

    import theorylab as tl
    b = tl.boundary("vit-benign/phase", along="mu_norm", per="N", metric="test_loss", level=0.2,
                    stat="majority", preset="paper", out="runs/phase-boundary")
    b.points      # DataFrame: per value, located along*, bracket, status, probes used
    b.figure      # the probes, the located points, the fitted power law and the theory curve

    theorylab boundary vit-benign/phase --along mu_norm --per N --metric test_loss --level 0.2 \\
        --stat majority --preset paper --out runs/phase-boundary

Each round runs the probes of every open row as one sweep (``theorylab.run`` with explicit
cells) into ``OUT/round-NN``, so rounds are stored, verified and resumable like any run:
rerunning the same command recomputes nothing that finished, and the search, which is
deterministic given the stored results, takes the same path. ``OUT/boundary.json`` holds the
located points and ``OUT/boundary.png`` the figure. The search itself is sweep/bisect.py.

The along axis is the preset's grid of ``along`` values when it has one (the answer is then
the first grid value that crossed, what the full grid would give), or ``lo``..``hi``
(log-spaced by default) for a continuous search. The rows are the preset's values of ``per``
unless ``per_values`` is given. The located points are fitted by a power law
log per = a + b log along*, and the experiment's own theory curve (``Experiment.theory_curve``)
is drawn over them when it has one for this plane.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from theorylab import lifecycle
from theorylab.config import ConfigError, check_value, fields
from theorylab.experiment import Experiment
from theorylab.sweep.bisect import STATS, Row, statistic


@dataclasses.dataclass
class BoundaryResult:
    dir: Path
    experiment: Experiment
    points: Any  # pandas DataFrame, one row per `per` value
    fit: dict  # slope, intercept, c (per * along*^-slope ... see _fit)
    runs: int  # runs trained or reused over all rounds
    rounds: int
    wall_s: float
    figure: Any = None


def _preset_values(exp: Experiment, preset: str, name: str) -> list:
    p = exp.presets[preset]
    vals = {c[name] for c in p.cells if name in c}
    if not vals and name in p.base:
        vals = {p.base[name]}
    return sorted(vals)


def boundary(experiment, *, along: str, per: str, metric: str, level: float, stat: str = "mean",
             preset: str = "cpu", set: dict | None = None, seeds: int | None = None,
             per_values: list | None = None, lo: float | None = None, hi: float | None = None,
             log: bool = True, probes: int = 3, rounds: int = 8, rtol: float = 0.01,
             out: str | Path | None = None, executor: Any = "local", workers: int | None = None,
             log_stream=None) -> BoundaryResult:
    """Locate the boundary (see the module docstring). ConfigError on bad input, before any run."""
    t0 = time.perf_counter()
    stream = log_stream if log_stream is not None else sys.stderr
    exp, _ = lifecycle.experiment_of(experiment)
    cls = exp.config
    if preset not in exp.presets:
        raise ConfigError(f"unknown preset {preset!r} for {exp.name}; known: {', '.join(exp.presets)}")
    for name, what in ((along, "--along"), (per, "--per")):
        if name not in fields(cls):
            raise ConfigError(f"{what} {name!r} is not a config field of {exp.name}; known: {', '.join(fields(cls))}")
    if along == per:
        raise ConfigError("--along and --per must be two different fields")
    if stat not in STATS:
        raise ConfigError(f"--stat {stat!r}; allowed: {', '.join(STATS)}")
    if probes < 1 or rounds < 1:
        raise ConfigError("--probes and --rounds must be >= 1")
    if not math.isfinite(level):
        raise ConfigError("--level must be a finite number")
    sets = lifecycle.parse_set(cls, set)
    for name in (along, per):
        if name in sets:
            raise ConfigError(f"{name!r} is searched; do not also fix it with --set")
    rows_at = [v for v in (per_values or _preset_values(exp, preset, per))]
    if not rows_at:
        raise ConfigError(f"preset {preset!r} has no values of {per!r}: give --per-values")
    for v in rows_at:
        check_value(cls, per, v)
    if lo is not None or hi is not None:
        if lo is None or hi is None or not lo < hi or (log and lo <= 0):
            raise ConfigError("--lo and --hi: give both, lo < hi (and lo > 0 on a log axis)")
        grid, values = False, [float(lo), float(hi)]
    else:
        values = _preset_values(exp, preset, along)
        if len(values) < 3:
            raise ConfigError(f"preset {preset!r} has {len(values)} values of {along!r}: give --lo and --hi")
        grid = True
    for v in ([values[0], values[-1]]):
        check_value(cls, along, type(getattr(cls(), along))(v))
    out_dir = Path(out or Path("runs") / f"{exp.name.replace('/', '-')}-boundary-{preset}").absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [Row(key=v, values=list(values), grid=grid, log=log) for v in rows_at]
    n_runs, r = 0, 0
    caster = type(getattr(cls(), along))
    for r in range(1, rounds + 1):
        cells = [{per: row.key, along: caster(a), "label": f"{per}={row.key},{along}={a:g}"}
                 for row in rows for a in row.probes(probes) if a not in row.seen]
        if not cells:
            break
        print(f"boundary round {r}: {len(cells)} probes over {sum(row.status == 'open' for row in rows)} open rows",
              file=stream)
        run = lifecycle.run(exp, preset, set=sets, seeds=seeds, cells=cells, out=out_dir / f"round-{r:02d}",
                            executor=executor, workers=workers, log=stream)
        lifecycle.close_figures(run)
        n_runs += len(cells) * run.resolved.seeds
        fin = run.results.sort_values("step").groupby("run_id", sort=False).tail(1)
        if metric not in fin.columns:
            raise ConfigError(f"--metric {metric!r} is not a recorded observable; known: "
                              + ", ".join(c for c in fin.columns if c not in fields(cls)))
        for row in rows:
            sub = fin[fin[per] == row.key]
            # before the first round the direction is unknown: score "majority" as if the metric
            # falls; on the other side of the level it is then exactly when the rising score is
            falling = True if row.falling is None else row.falling
            stats = {float(a): statistic(g[metric].to_numpy(), stat, level, falling)
                     for a, g in sub.groupby(along) if float(a) not in row.seen}
            row.update(stats, level, rtol)
        if all(row.status != "open" for row in rows):
            break
    return _finish(out_dir, exp, rows, along, per, metric, level, stat, preset, n_runs, r, time.perf_counter() - t0)


def _fit(points) -> dict:
    """Power law through the located points: log per = a + b log along* (least squares), and
    the constant c of per * along*^2 = c with the slope fixed at -2 (the signal-noise laws)."""
    ok = points.dropna(subset=["along_star"])
    ok = ok[(ok["along_star"] > 0) & (ok["per"] > 0)]
    if len(ok) < 2:
        return {"slope": None, "intercept": None, "c_slope_minus_2": None, "points": len(ok)}
    lx, ly = np.log(ok["along_star"].to_numpy(float)), np.log(ok["per"].to_numpy(float))
    b, a = np.polyfit(lx, ly, 1) if len(ok) >= 2 and np.ptp(lx) > 0 else (math.nan, math.nan)
    return {"slope": float(b), "intercept": float(a), "c_slope_minus_2": float(np.exp(np.mean(ly + 2 * lx))),
            "points": len(ok)}


def _finish(out_dir: Path, exp, rows, along, per, metric, level, stat, preset, n_runs, rounds, wall) -> BoundaryResult:
    import pandas as pd

    points = pd.DataFrame([{
        "per": row.key, "along_star": row.estimate(level), "status": row.status,
        "bracket_lo": (row.values[int(row.lo)] if row.grid else row.lo) if row.lo is not None else math.nan,
        "bracket_hi": (row.values[int(row.hi)] if row.grid else row.hi) if row.hi is not None else math.nan,
        "probes": len(row.seen), "monotone": row.monotone(level)} for row in rows])
    for row in rows:
        if not row.monotone(level):
            print(f"boundary: row {per}={row.key} crosses {metric} = {level:g} more than once among its probes "
                  f"(seed noise near the boundary): {row.estimate(level):g} is the first crossing the search saw; "
                  "more seeds settle it", file=sys.stderr)
    fit = _fit(points)
    summary = {"experiment": exp.name, "preset": preset, "along": along, "per": per, "metric": metric,
               "level": level, "stat": stat, "rounds": rounds, "runs": n_runs, "wall_s": wall, "fit": fit,
               "points": points.to_dict(orient="records"),
               "probes": {str(row.key): {str(a): s for a, s in sorted(row.seen.items())} for row in rows}}
    (out_dir / "boundary.json").write_text(json.dumps(summary, indent=1, default=float))
    fig = _figure(exp, rows, points, fit, along, per, metric, level, stat, out_dir)
    fig.savefig(out_dir / "boundary.png")
    return BoundaryResult(out_dir, exp, points, fit, n_runs, rounds, wall, fig)


def _theory_curve(exp, along, per, out_dir: Path):
    """The experiment's theory curve in the (along, per) plane, from the stored probes."""
    if exp.theory_curve is None:
        return None
    import pandas as pd

    rounds = sorted(out_dir.glob("round-*"))
    if not rounds:
        return None
    loaded = [lifecycle.load(d, exp) for d in rounds]
    df = pd.concat([r.results for r in loaded], ignore_index=True)
    try:
        return exp.theory_curve(along, per, df, loaded[-1].resolved)
    except Exception:  # noqa: BLE001  a theory curve that cannot be drawn here is left out
        return None


def plt_null():
    from matplotlib.ticker import NullFormatter

    return NullFormatter()


def _figure(exp, rows, points, fit, along, per, metric, level, stat, out_dir):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.8, 4.8), constrained_layout=True)
    ax = fig.subplots()
    xs, ys, cs = [], [], []
    for row in rows:
        for a, s in row.seen.items():
            xs.append(a)
            ys.append(row.key)
            cs.append(s)
    from matplotlib.colors import LogNorm

    label = f"{stat} of {metric} over seeds"
    if stat == "majority":  # show the fraction of seeds past the level, not the score behind it
        cs = [min(max(level - c + 0.5, 0.0), 1.0) for c in cs]
        label = f"fraction of seeds with {metric} past {level:g}"
    pos = [c for c in cs if math.isfinite(c) and c > 0]
    norm = LogNorm(min(pos), max(pos)) if len(pos) == len(cs) and max(pos) / min(pos) > 100 else None
    sc = ax.scatter(xs, ys, c=cs, cmap="viridis", norm=norm, s=22, marker="s", label="probes")
    fig.colorbar(sc, ax=ax).set_label(label)
    ok = points.dropna(subset=["along_star"])
    mono = ok["monotone"].astype(bool)
    ax.plot(ok["along_star"][mono], ok["per"][mono], "r^", ms=8, label=f"located: {metric} crosses {level:g}")
    if (~mono).any():
        ax.plot(ok["along_star"][~mono], ok["per"][~mono], "r^", ms=8, mfc="none",
                label="located, row crosses more than once (seed noise)")
    if fit.get("slope") is not None and math.isfinite(fit["slope"]):
        grid = np.geomspace(min(xs), max(xs), 200)
        yv = np.exp(fit["intercept"]) * grid ** fit["slope"]
        sel = (yv >= min(ys) / 1.5) & (yv <= max(ys) * 1.5)
        ax.plot(grid[sel], yv[sel], "r--", lw=1, label=f"power-law fit: slope {fit['slope']:.2f}")
    curve = _theory_curve(exp, along, per, out_dir)
    if curve:
        fn, label = curve
        grid = np.geomspace(min(xs), max(xs), 200)
        yv = np.asarray(fn(grid), float)
        sel = np.isfinite(yv) & (yv >= min(ys) * 0.8) & (yv <= max(ys) * 1.25)
        ax.plot(grid[sel], yv[sel], "k-", lw=1.5, label=f"theory: {label}")
    if min(xs) > 0 and max(xs) / min(xs) > 10:
        from matplotlib.ticker import ScalarFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(ScalarFormatter() if max(xs) / min(xs) < 30 else plt_null())
    if min(ys) > 0 and max(ys) / min(ys) >= 4:
        from matplotlib.ticker import NullLocator

        ax.set_yscale("log")
        if len(rows) <= 12:  # tick the rows themselves, as plain numbers
            ax.set_yticks([r.key for r in rows], labels=[f"{r.key:g}" for r in rows])
            ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(along)
    ax.set_ylabel(per)
    ax.set_title(f"{exp.name}: boundary {stat}({metric}) = {level:g}, {len(rows)} rows, "
                 f"{sum(len(r.seen) for r in rows)} probes")
    ax.legend(fontsize=7, loc="best")
    return fig
