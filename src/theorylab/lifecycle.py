"""The run lifecycle as a library call; the command line only wraps it.

    import theorylab as tl
    run = tl.run("vit-benign/phase", preset="cpu", set={"d": 128}, sweep={"N": [4, 8]}, seeds=2,
                 out="runs/phase-d128")
    run.results          # pandas: one row per run and log point
    run.dataset          # xarray: swept fields x seed x step
    run.claims           # list of Claim, each with its verdict
    run.figures          # name -> matplotlib Figure (drawn on first use; shows in a notebook)
    run.report           # path of report.html
    tl.check(run.dir)    # CheckResult: ok iff no claim fails and no run diverged unexpectedly
    tl.report(run.dir)   # rebuild figures, summary.json and report.html from the stored results

The lifecycle: resolve the experiment (a name, ``file.py:NAME``, ``module:NAME``, a plugin, or
an Experiment object) -> resolve the grid (preset, ``set``, ``sweep``, seeds) -> check the
experiment's Config and Problem (``checks``: a one-line error before any directory is made or
program compiled) -> execute the chunks (resumable) -> read the results -> stop reasons,
claims, figures, summary.json, report.html.

Trust rules (every experiment, built-in or not):
* runs that diverged are counted per cell in summary.json; unless the experiment expects them
  (``Experiment.expect_divergence``) they are left out of what the claims and figures read,
  flagged by a red banner in the report, and fail ``check``;
* a claim that the preset could test but that came back without a verdict while runs
  diverged is a failure with that reason, never "n/a";
* a claims or figures function that raises loses nothing: its error is recorded (as a failing
  claim, or a figure error), the report is still written and ``check`` fails.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Iterable

from theorylab import __version__, checks, loader
from theorylab.config import ConfigError, check_value, fields, parse_value
from theorylab.experiment import Claim, Experiment
from theorylab.sweep.grid import Resolved, parse_sweeps, resolve


# ---------------------------------------------------------------------------------------
# resolving what to run


def experiment_of(experiment: str | Experiment) -> tuple[Experiment, str | None]:
    """(Experiment, reference that finds it again in a new process, or None)."""
    if isinstance(experiment, Experiment):
        checks.check_experiment(experiment)
        return experiment, loader.ref_of(experiment)
    if not isinstance(experiment, str):
        raise ConfigError(f"experiment must be a name, 'file.py:NAME', 'module:NAME' or an Experiment; "
                          f"got {type(experiment).__name__}")
    ref = loader.normalise(experiment)
    exp = loader.find(ref)
    checks.check_experiment(exp)
    return exp, ref


def parse_set(cfg_cls, values: dict[str, Any] | Iterable[str] | None) -> dict[str, Any]:
    """{field: value} (Python values, or text as on the command line) or ['k=v', ...] ->
    {field: typed, range-checked value}."""
    if not values:
        return {}
    if not isinstance(values, dict):
        items = {}
        for item in values:
            if "=" not in item:
                raise ConfigError(f"--set {item!r}: expected key=value")
            k, v = item.split("=", 1)
            items[k.strip()] = v.strip()
        values = items
    out = {}
    for k, v in values.items():
        if k not in fields(cfg_cls):
            raise ConfigError(f"unknown config key {k!r} for {cfg_cls.__name__}; known keys: {', '.join(fields(cfg_cls))}")
        if isinstance(v, str):
            v = parse_value(cfg_cls, k, v)
        else:
            check_value(cfg_cls, k, v)
        out[k] = v
    return out


def parse_sweep_axes(cfg_cls, axes: dict[str, Any] | Iterable[str] | None, sets: dict[str, Any]) -> dict[str, list]:
    """{field: [values] or 'lin:a:b:n' / 'log:a:b:n' / 'v1,v2'} or ['k=spec', ...] -> {field: [values]}."""
    if not axes:
        return {}
    specs = list(axes) if not isinstance(axes, dict) else [
        f"{k}={v}" if isinstance(v, str) else (k, list(v)) for k, v in axes.items()]
    return parse_sweeps(cfg_cls, specs, sets)


def resolve_grid(exp: Experiment, preset: str, set=None, sweep=None, seeds: int | None = None,
                 cells: list[dict] | None = None) -> tuple[Resolved, dict]:
    """(validated grid of every run, the sweep axes). ``cells`` replaces the preset's cells."""
    if preset not in exp.presets:
        raise ConfigError(f"unknown preset {preset!r} for {exp.name}; known: {', '.join(exp.presets)}")
    p = exp.presets[preset]
    if cells is not None:
        if not cells:
            raise ConfigError("cells: an empty list of cells")
        for c in cells:
            for k, v in c.items():
                if k != "label":
                    if k not in fields(exp.config):
                        raise ConfigError(f"cells: unknown config key {k!r} for {exp.config.__name__}")
                    check_value(exp.config, k, v)
        p = dataclasses.replace(p, cells=tuple(cells))
    sets = parse_set(exp.config, set)
    sweeps = parse_sweep_axes(exp.config, sweep, sets)
    if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1):
        raise ConfigError(f"--seeds = {seeds!r} is not allowed; expected int >= 1")
    resolved = resolve(exp.name, preset, exp.config, p.base, p.cells, p.seeds if seeds is None else seeds,
                       sets, sweeps)
    return resolved, sweeps


def make_executor(executor: Any = "local", workers: int | None = None):
    """An executor object from a name ('local', 'ray', 'slurm') or the object itself."""
    from theorylab.sweep import executors

    if not isinstance(executor, str):
        return executor
    if executor == "local":
        return executors.LocalExecutor(workers=workers or 2)
    if workers is not None:
        raise ConfigError("--workers needs --executor local (ray and slurm run one chunk per task)")
    if executor == "ray":
        return executors.RayExecutor()
    if executor == "slurm":
        return executors.SlurmExecutor()
    raise ConfigError(f"--executor {executor!r}; allowed: local, ray, slurm")


def versions() -> dict:
    import jax
    import jaxlib
    import numpy
    import optax
    import pandas
    import pyarrow

    return {
        "theorylab": __version__, "jax": jax.__version__, "jaxlib": jaxlib.__version__,
        "optax": optax.__version__, "numpy": numpy.__version__, "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__, "python": platform.python_version(),
        "platform": platform.platform(), "jax_backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
    }


# ---------------------------------------------------------------------------------------
# the Run object


@dataclasses.dataclass
class Run:
    """A run directory with its experiment: results, claims, figures, report."""

    dir: Path
    experiment: Experiment
    resolved: Resolved
    meta: dict
    summary: dict
    _figures: dict | None = dataclasses.field(default=None, repr=False)
    _results: Any = dataclasses.field(default=None, repr=False)

    @property
    def results(self):
        """pandas.DataFrame of every stored row (one per run and log point)."""
        if self._results is None:
            from theorylab.store.shards import read_runs

            self._results = read_runs(self.dir)
        return self._results

    @property
    def dataset(self):
        """xarray.Dataset: scalar observables over swept fields x seed x step."""
        from theorylab.store.readers import to_xarray

        return to_xarray(self.dir, self.results)

    @property
    def claims(self) -> list[Claim]:
        return [Claim.from_json(c) for c in self.summary["claims"]]

    @property
    def diverged(self) -> dict[str, int]:
        """cell -> runs that diverged unexpectedly."""
        return dict(self.summary.get("diverged", {}))

    @property
    def ok(self) -> bool:
        return bool(self.summary.get("ok"))

    @property
    def figures(self) -> dict:
        """name -> matplotlib Figure, drawn from the stored results on first use."""
        if self._figures is None:
            self._figures, _ = draw_figures(self.experiment, self.results, self.resolved, self.meta, self.dir)
        return self._figures

    @property
    def report(self) -> Path:
        return self.dir / "report.html"

    def query(self, sql: str):
        """DuckDB SQL over the stored runs (views ``runs`` and ``final``) -> DataFrame."""
        from theorylab.store.readers import query

        return query(self.dir, sql)

    def _repr_html_(self) -> str:  # a notebook shows the verdicts
        n = len(self.summary["claims"])
        hold = sum(c["holds"] is True for c in self.summary["claims"])
        div = sum(self.diverged.values())
        return (f"<b>{self.experiment.name}</b> ({self.resolved.preset}) in <code>{self.dir}</code>: "
                f"{hold}/{n} claims hold" + (f", <b style='color:#b00'>{div} runs diverged</b>" if div else ""))


# ---------------------------------------------------------------------------------------
# stop reasons, claims, figures


def stop_counts(exp: Experiment, df, resolved: Resolved) -> tuple[dict, dict, dict, set]:
    """(cell -> {reason: runs}, cell -> unexpected diverged runs, cell -> why expected,
    run_ids that diverged unexpectedly), from each run's last log point."""
    fin = df.sort_values("step").groupby("run_id", sort=False).tail(1)
    counts = {cell: {str(k): int(v) for k, v in g["stop_reason"].value_counts().items()}
              for cell, g in fin.groupby("cell", sort=False)}
    why = {}
    if exp.expect_divergence is not None:
        for label, cfg in resolved.cells:
            reason = exp.expect_divergence(cfg)
            if reason:
                why[label] = str(reason)
    bad = fin[(fin["stop_reason"] == "diverged") & ~fin["cell"].isin(list(why))]
    diverged = {str(c): int(n) for c, n in bad.groupby("cell", sort=False).size().items()}
    return counts, diverged, why, set(bad["run_id"])


def _one_line(e: BaseException) -> str:
    text = (str(e).strip().splitlines() or [""])[0]
    return f"{type(e).__name__}: {text}"[:300]


def _where(e: BaseException) -> str:
    """file:line in function of the deepest frame in the experiment's own code (not a library)."""
    tb = [f for f in traceback.extract_tb(e.__traceback__) if "site-packages" not in f.filename
          and not f.filename.startswith(sys.prefix + "/lib") and not f.filename.startswith(sys.base_prefix + "/lib")]
    return f"{Path(tb[-1].filename).name}:{tb[-1].lineno} in {tb[-1].name}" if tb else ""


def evaluate_claims(exp: Experiment, df, resolved: Resolved, diverged: dict[str, int] | None = None) -> list[Claim]:
    """The experiment's claims with the trust rules applied (module docstring)."""
    preset = exp.presets.get(resolved.preset)
    untested = preset.untested if preset is not None else {}
    n_div = sum((diverged or {}).values())
    try:
        raw = list(exp.claims(df, resolved))
    except Exception as e:  # noqa: BLE001  a failing claims function must not lose the run
        note = f"the claims function raised at {_where(e)}"
        if n_div:
            note += f"; {n_div} runs diverged and were left out of its input"
        return [Claim("claims-error", f"the claims of {exp.name} could be evaluated", "no error",
                      _one_line(e), "", False, note)]
    ids = [c.id for c in raw]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        return [Claim("claims-error", f"the claims of {exp.name} have distinct ids", "distinct ids",
                      f"duplicate claim ids: {', '.join(dup)}", "", False,
                      "two claims with one id cannot be told apart in the report or by check")]
    out = []
    for c in raw:
        why = untested.get(c.id, untested.get("*"))
        if why and c.holds is not None:
            c = dataclasses.replace(c, holds=None, note=f"not tested at preset {resolved.preset!r}: {why}")
        elif c.holds is None and not why and n_div:
            cells = ", ".join(f"{k} ({v})" for k, v in diverged.items())
            c = dataclasses.replace(c, holds=False, note=(c.note + "; " if c.note else "")
                                    + f"no verdict because runs failed: {n_div} runs diverged in cells {cells}")
        out.append(c)
    return out


def draw_figures(exp: Experiment, df, resolved: Resolved, meta: dict, run_dir: Path) -> tuple[dict, dict]:
    """(name -> Figure, name -> error): the experiment's figures and the generic sweep figure."""
    import pandas as pd

    figs, errors = {}, {}
    try:
        figs.update(exp.figures(df, resolved))
    except Exception as e:  # noqa: BLE001
        errors["figures"] = f"{_one_line(e)} at {_where(e)}"
    swept = [k for k in (meta.get("sweep") or []) if k in df.columns and df[k].nunique() > 1
             and pd.api.types.is_numeric_dtype(df[k]) and df[k].dtype != bool]
    if swept:
        try:
            figs["sweep"] = sweep_figure(exp, df, resolved, run_dir, swept[0], swept[1] if len(swept) > 1 else None)
        except Exception as e:  # noqa: BLE001
            errors["sweep"] = f"{_one_line(e)} at {_where(e)}"
    return figs, errors


def sweep_figure(exp: Experiment, df, resolved: Resolved, run_dir: Path, x: str, y: str | None, metric: str | None = None):
    """The generic phase diagram of a sweep, with the experiment's theory curve if it has one."""
    import pandas as pd

    from theorylab.plots.generic_phase import sweep_figure as draw
    from theorylab.store.readers import config_fields, swept_fields

    cfg_fields = config_fields(run_dir)
    if metric is None:
        numeric = [c for c in df.columns if c not in cfg_fields and c not in ("run_id", "cell", "seed", "step", "stop_step")
                   and pd.api.types.is_numeric_dtype(df[c])]
        preferred = [m for m in ("test_loss", "test_error", "train_loss", "loss") if m in numeric]
        metric = exp.sweep_metric or (preferred + numeric + ["stop_step"])[0]
    curve = exp.theory_curve(x, y, df, resolved) if (exp.theory_curve and y) else None
    fn, label = curve if curve else (None, "")
    swept = swept_fields(df, cfg_fields)
    return draw(df, x, metric, y, curve=fn, curve_label=label, others=[f for f in swept if f not in (x, y)])


def _close(fig) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)


def close_figures(run: "Run") -> None:
    """Release the figures a run kept (a pyplot figure stays alive until closed)."""
    for fig in (run._figures or {}).values():
        _close(fig)
    run._figures = None


def finish(run_dir: Path, exp: Experiment, resolved: Resolved, meta: dict, timing: dict,
           keep_figures: bool = False) -> tuple[dict, dict | None]:
    """Stop reasons, claims, figures, summary.json and report.html from the stored shards.

    Returns (summary, figures if keep_figures else None)."""
    from theorylab.plots import report
    from theorylab.store.shards import read_runs

    df = read_runs(run_dir)
    counts, diverged, expected, bad_ids = stop_counts(exp, df, resolved)
    trusted = df[~df["run_id"].isin(bad_ids)] if bad_ids else df
    claims = [c.to_json() for c in evaluate_claims(exp, trusted, resolved, diverged)]
    figs, fig_errors = draw_figures(exp, trusted, resolved, meta, run_dir)
    fig_dir = run_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    for old in fig_dir.glob("*.png"):
        old.unlink()
    fig_paths = {}
    for name, fig in figs.items():
        try:
            fig_paths[name] = fig_dir / f"{name}.png"
            fig.savefig(fig_paths[name])
        except Exception as e:  # noqa: BLE001
            fig_errors[name] = _one_line(e)
            fig_paths.pop(name, None)
        if not keep_figures:
            _close(fig)
    failed = [c["id"] for c in claims if c["holds"] is False]
    summary = {
        "experiment": exp.name, "ref": meta.get("experiment", {}).get("ref"), "preset": resolved.preset,
        "ok": not failed and not diverged,
        "claims": claims, "failed_claims": failed,
        "stops": counts, "diverged": diverged, "expected_divergence": expected,
        "figure_errors": fig_errors, "timing": timing,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    title = f"{exp.name} ({resolved.preset}) - {exp.summary}"
    (run_dir / "report.html").write_text(report.render(title, summary, meta, fig_paths))
    return summary, (figs if keep_figures else None)


# ---------------------------------------------------------------------------------------
# the public calls


def run(experiment: str | Experiment, preset: str = "cpu", *, set: dict | None = None, sweep: dict | None = None,
        seeds: int | None = None, out: str | Path | None = None, executor: Any = "local",
        workers: int | None = None, max_chunk: int | None = None, x64: bool = False, force: bool = False,
        resume: bool = False, cells: list[dict] | None = None, buckets: bool = True, progress: Any = None,
        log: Any = None) -> Run:
    """Run an experiment into a run directory (resuming what is stored there) and return it.

    experiment: a built-in name, 'path/to/file.py:NAME', 'package.module:NAME', a plugin's
        experiment name, or an Experiment object.
    set: {field: value} fixed in every cell; sweep: {field: [values] or 'lin:a:b:n' / 'log:a:b:n'}.
    executor: 'local' (default; ``workers`` chunks side by side), 'ray', 'slurm', or an
        executor object of theorylab.sweep.executors (e.g. RayExecutor(address='auto')).
    x64: train in float64 (init and data drawn in float64 too).
    cells: run exactly these cells (dicts of overrides, optional "label") instead of the preset's.
    buckets: pad bucketed sizes so that they share compiled programs (False: one per size).
    Every input is checked before a directory is made or a program compiled (ConfigError).
    """
    t0 = time.perf_counter()
    log = log if log is not None else sys.stderr
    exp, ref = experiment_of(experiment)
    resolved, sweeps = resolve_grid(exp, preset, set, sweep, seeds, cells)
    if x64 and not _x64():
        import jax

        jax.config.update("jax_enable_x64", True)
    if not x64 and _x64():
        raise ConfigError("this process has JAX's float64 mode on: pass x64=True (--x64) to run in float64")
    checks.check_run(exp, resolved.cells[0][1], f"cell {resolved.cells[0][0]}")
    ex = make_executor(executor, workers)
    if ref is None:
        if getattr(ex, "name", "local") != "local":
            raise ConfigError(f"{exp.name} was defined in a notebook or a script without a file: {ex.name} workers "
                              "cannot import it; save it in a file and pass 'path/to/file.py:NAME'")
        ref = loader.register(exp)
    run_dir = Path(out or Path("runs") / f"{exp.name.replace('/', '-')}-{preset}").absolute()
    meta = {"experiment": {"name": exp.name, "ref": ref, "source": loader.experiment_source_hash(exp)},
            "resolved": resolved.to_json(),
            "sweep": {k: v for k, v in sweeps.items()}, "x64": bool(x64), "versions": versions()}
    _prepare_dir(run_dir, meta, force, resume)

    from theorylab.sweep import progress as progress_mod
    from theorylab.sweep.runner import SweepJob, execute

    n_runs = len(resolved.cells) * resolved.seeds
    print(f"{exp.name} --preset {preset}: {len(resolved.cells)} cells x {resolved.seeds} seeds = {n_runs} runs "
          f"-> {run_dir} (executor {getattr(ex, 'name', type(ex).__name__)}{', float64' if x64 else ''})", file=log)
    job = SweepJob(ref, resolved.to_json(), str(run_dir), loader.lookup_problem, max_chunk=max_chunk, x64=bool(x64),
                   buckets=bool(buckets))
    timing = execute(job, ex, progress or progress_mod.for_stream(log))
    timing["wall_s"] = time.perf_counter() - t0  # the whole call, set-up and compile included
    summary, figs = finish(run_dir, exp, resolved, meta, timing, keep_figures=True)
    return Run(run_dir, exp, resolved, meta, summary, figs)


def _x64() -> bool:
    import jax

    return bool(jax.config.jax_enable_x64)


def _prepare_dir(run_dir: Path, meta: dict, force: bool, resume: bool) -> None:
    """Create the run directory, or accept one holding this same config (resume); write config.json."""
    cfg_path = run_dir / "config.json"
    if cfg_path.exists():
        old = json.loads(cfg_path.read_text())
        same = (old.get("resolved") == json.loads(json.dumps(meta["resolved"]))
                and bool(old.get("x64", False)) == meta["x64"])
        same_code = old.get("experiment", {}).get("source") in (None, meta["experiment"]["source"])
        if not force and not same:
            raise ConfigError(f"{run_dir} holds results of a different config; use another --out or --force")
        if not force and not same_code:
            raise ConfigError(f"{run_dir} holds results of another version of the experiment's code (its source "
                              "changed since); use another --out, or --force to discard them")
        if force:  # --force always starts afresh
            for sub in ("runs", "manifest", "figures"):
                shutil.rmtree(run_dir / sub, ignore_errors=True)
            for name in ("manifest.json", "summary.json", "report.html"):
                (run_dir / name).unlink(missing_ok=True)
    elif resume:
        raise ConfigError(f"--resume: {run_dir} holds no earlier run (no config.json)")
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = cfg_path.with_name("config.json.tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    tmp.replace(cfg_path)


def load(run_dir: str | Path, experiment: str | Experiment | None = None) -> Run:
    """A finished (or partly finished) run directory as a Run. ``experiment`` is needed only
    for a run of an experiment defined in a notebook (no reference was stored)."""
    run_dir = Path(run_dir).absolute()
    cfg_path = run_dir / "config.json"
    if not cfg_path.exists():
        raise ConfigError(f"{run_dir} is not a run directory (no config.json)")
    meta = json.loads(cfg_path.read_text())
    info = meta.get("experiment") or {"name": meta["resolved"]["experiment"], "ref": meta["resolved"]["experiment"]}
    if experiment is not None:
        exp, _ = experiment_of(experiment)
    else:
        ref = info.get("ref")
        if not ref or ref.startswith(loader.SESSION_PREFIX) and not loader.known(ref):
            raise ConfigError(f"{run_dir}: its experiment {info['name']!r} was defined in a notebook; "
                              "pass it: theorylab.check(dir, experiment=EXP)")
        exp = loader.find(ref)
    if exp.name != meta["resolved"]["experiment"]:
        raise ConfigError(f"{run_dir} holds runs of {meta['resolved']['experiment']!r}, not of {exp.name!r}")
    resolved = Resolved.from_json(exp.config, meta["resolved"])
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {"claims": []}
    return Run(run_dir, exp, resolved, meta, summary)


@dataclasses.dataclass
class CheckResult:
    claims: list[Claim]
    diverged: dict[str, int]  # cell -> runs that diverged unexpectedly
    expected: dict[str, str]  # cell -> why divergence was expected there

    @property
    def failed(self) -> list[str]:
        return [c.id for c in self.claims if c.holds is False]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.diverged

    def __bool__(self) -> bool:
        return self.ok


def check(run_dir: str | Path, experiment: str | Experiment | None = None) -> CheckResult:
    """Re-evaluate the claims of a run directory from its stored results (not from
    summary.json); ok iff no claim fails and no run diverged unexpectedly."""
    r = load(run_dir, experiment)
    df = r.results
    _, diverged, expected, bad_ids = stop_counts(r.experiment, df, r.resolved)
    trusted = df[~df["run_id"].isin(bad_ids)] if bad_ids else df
    return CheckResult(evaluate_claims(r.experiment, trusted, r.resolved, diverged), diverged, expected)


def report(run_dir: str | Path, experiment: str | Experiment | None = None) -> Run:
    """Rebuild figures, summary.json and report.html of a run directory from its stored results."""
    r = load(run_dir, experiment)
    timing = r.summary.get("timing", {})
    summary, figs = finish(r.dir, r.experiment, r.resolved, r.meta, timing, keep_figures=True)
    return Run(r.dir, r.experiment, r.resolved, r.meta, summary, figs)
