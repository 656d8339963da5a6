"""The command line.

    theorylab list [EXPERIMENT]
    theorylab run EXPERIMENT [--preset smoke|cpu|paper] [--set key=value ...] [--seeds N]
                             [--sweep key=v1,v2 | key=lin:a:b:n | key=log:a:b:n ...]
                             [--out DIR] [--executor local|ray|slurm] [--resume] [--force]
    theorylab check DIR      # re-evaluate the claims of a finished run; exit 0 iff none fails
    theorylab report DIR     # rebuild figures, summary.json and report.html from the stored results
    theorylab query DIR SQL  # DuckDB over the stored runs (views `runs` and `final`)
    theorylab plot DIR --x FIELD [--y FIELD] [--metric NAME]   # the generic sweep figure

Workers of the ray and slurm executors find the experiment through ``registry.lookup``, a
top-level function they import by name: sweep/ stays free of papers/.

Every input is validated before anything compiles; a bad one is a one-line error and exit 2.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

from theorylab import __version__
from theorylab.config import ConfigError, doc_table
from theorylab.registry import lookup
from theorylab import papers
from theorylab.sweep.grid import Resolved, parse_sets, parse_sweeps, resolve

EXIT_BAD_INPUT = 2
EXIT_CLAIM_FAILS = 1


def _versions() -> dict:
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


def _load(run_dir: Path):
    cfg_path = Path(run_dir) / "config.json"
    if not cfg_path.exists():
        raise ConfigError(f"{run_dir} is not a run directory (no config.json)")
    meta = json.loads(cfg_path.read_text())
    exp = papers.get(meta["resolved"]["experiment"])
    return exp, Resolved.from_json(exp.config, meta["resolved"]), meta


def _finish(run_dir: Path, exp, resolved: Resolved, meta: dict, timing: dict) -> dict:
    """Claims, figures, summary.json and report.html from the stored shards."""
    import pandas as pd

    from theorylab.plots import report
    from theorylab.plots.style import plt
    from theorylab.store.shards import read_runs

    df = read_runs(run_dir)
    claims = [c.to_json() for c in papers.evaluate_claims(exp, df, resolved)]
    fig_dir = run_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    fig_paths = {}
    figs = dict(exp.figures(df, resolved))
    # the generic figure over the first two --sweep fields that are numeric and take > 1 value
    swept = [k for k in (meta.get("sweep") or []) if k in df.columns and df[k].nunique() > 1
             and pd.api.types.is_numeric_dtype(df[k]) and df[k].dtype != bool]
    if swept:
        figs["sweep"] = _sweep_figure(exp, df, resolved, run_dir, swept[0], swept[1] if len(swept) > 1 else None, None)
    for name, fig in figs.items():
        fig_paths[name] = fig_dir / f"{name}.png"
        fig.savefig(fig_paths[name])
        plt.close(fig)
    summary = {"experiment": exp.name, "preset": resolved.preset, "claims": claims, "timing": timing}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    title = f"{exp.name} ({resolved.preset}) - {exp.summary}"
    (run_dir / "report.html").write_text(report.render(title, summary, meta, fig_paths))
    return summary


def _sweep_figure(exp, df, resolved, run_dir: Path, x: str, y: str | None, metric: str | None):
    """The generic phase diagram of a sweep, with the experiment's theory curve if it has one."""
    import pandas as pd

    from theorylab.plots.generic_phase import sweep_figure
    from theorylab.store.readers import config_fields, swept_fields

    fields = config_fields(run_dir)
    if metric is None:
        numeric = [c for c in df.columns if c not in fields and c not in ("run_id", "cell", "seed", "step", "stop_step")
                   and pd.api.types.is_numeric_dtype(df[c])]
        preferred = [m for m in ("test_loss", "test_error", "train_loss", "loss") if m in numeric]
        metric = exp.sweep_metric or (preferred + numeric + ["stop_step"])[0]
    curve = exp.theory_curve(x, y, df, resolved) if (exp.theory_curve and y) else None
    fn, label = curve if curve else (None, "")
    swept = swept_fields(df, fields)
    return sweep_figure(df, x, metric, y, curve=fn, curve_label=label,
                        others=[f for f in swept if f not in (x, y)])


def _print_claims(claims: list[dict]) -> None:
    verdict = {True: "holds", False: "FAILS", None: "n/a"}
    for c in claims:
        print(f"  [{verdict[c['holds']]:>5}] {c['id']}: {c['measured']}  (predicted {c['predicted']})")
        if c["holds"] is None and c.get("note"):
            print(f"          not tested: {c['note']}")


def cmd_list(args) -> int:
    if args.experiment:
        exp = papers.get(args.experiment)
        print(f"{exp.name}: {exp.summary}")
        for name, p in exp.presets.items():
            print(f"  preset {name}: {len(p.cells)} cells x {p.seeds} seeds. {p.note}")
        print("  config fields (name, type, default, kind, doc):")
        for row in doc_table(exp.config):
            print("    " + "  ".join(row))
        return 0
    for exp in papers.EXPERIMENTS.values():
        print(f"{exp.name:<24} {exp.summary}  [presets: {', '.join(exp.presets)}]")
    return 0


def _executor(args, run_dir: Path):
    from theorylab.sweep import executors

    if args.executor == "ray":
        return executors.RayExecutor(address=args.ray_address, num_cpus=args.ray_cpus)
    if args.executor == "slurm":
        return executors.SlurmExecutor(folder=run_dir / "slurm", chunks_per_task=args.chunks_per_task,
                                       cluster=args.slurm_cluster, options=_slurm_options(args.slurm or []))
    return executors.LocalExecutor(workers=args.workers or 2)


def _slurm_options(items: list[str]) -> dict:
    """['slurm_partition=gpu', 'timeout_min=240'] -> submitit parameters (ints and floats typed)."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--slurm {item!r}: expected key=value (a submitit parameter, e.g. slurm_partition=gpu)")
        k, v = (t.strip() for t in item.split("=", 1))
        for cast in (int, float):
            try:
                v = cast(v)
                break
            except ValueError:
                continue
        out[k] = v
    return out


def cmd_run(args) -> int:
    t0 = time.perf_counter()
    exp = papers.get(args.experiment)
    if args.preset not in exp.presets:
        raise ConfigError(f"unknown preset {args.preset!r} for {exp.name}; known: {', '.join(exp.presets)}")
    preset = exp.presets[args.preset]
    if args.executor != "ray" and (args.ray_address or args.ray_cpus):
        raise ConfigError("--ray-address / --ray-cpus need --executor ray")
    if args.executor != "slurm" and (args.slurm or args.slurm_cluster != "slurm" or args.chunks_per_task != 1):
        raise ConfigError("--slurm / --slurm-cluster / --chunks-per-task need --executor slurm")
    if args.executor != "local" and args.workers is not None:
        raise ConfigError("--workers needs --executor local (ray and slurm run one chunk per task)")
    sets = parse_sets(exp.config, args.set or [])
    sweeps = parse_sweeps(exp.config, args.sweep or [], sets)
    seeds = preset.seeds if args.seeds is None else args.seeds
    resolved = resolve(exp.name, args.preset, exp.config, preset.base, preset.cells, seeds, sets, sweeps)
    run_dir = Path(args.out or Path("runs") / f"{exp.name.replace('/', '-')}-{args.preset}").absolute()
    executor = _executor(args, run_dir)

    cfg_path = run_dir / "config.json"
    if cfg_path.exists():
        old = json.loads(cfg_path.read_text()).get("resolved")
        if old != json.loads(json.dumps(resolved.to_json())):
            if not args.force:
                raise ConfigError(f"{run_dir} holds results of a different config; use another --out or --force")
            for sub in ("runs", "manifest", "figures"):
                shutil.rmtree(run_dir / sub, ignore_errors=True)
            for name in ("manifest.json", "summary.json", "report.html"):
                (run_dir / name).unlink(missing_ok=True)
    elif args.resume:
        raise ConfigError(f"--resume: {run_dir} holds no earlier run (no config.json)")
    run_dir.mkdir(parents=True, exist_ok=True)

    from theorylab.sweep import progress
    from theorylab.sweep.runner import SweepJob, execute

    meta = {"resolved": resolved.to_json(), "sweep": {k: v for k, v in sweeps.items()}, "versions": _versions()}
    tmp = cfg_path.with_name("config.json.tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    tmp.replace(cfg_path)
    n_runs = len(resolved.cells) * resolved.seeds
    print(f"{exp.name} --preset {args.preset}: {len(resolved.cells)} cells x {seeds} seeds = {n_runs} runs "
          f"-> {run_dir} (executor {executor.name})", file=sys.stderr)
    job = SweepJob(exp.name, resolved.to_json(), str(run_dir), lookup, max_chunk=args.max_chunk)
    timing = execute(job, executor, progress.for_stream(sys.stderr))
    timing["wall_s"] = time.perf_counter() - t0  # the whole command, set-up and compile included
    summary = _finish(run_dir, exp, resolved, meta, timing)
    n_hold = sum(c["holds"] is True for c in summary["claims"])
    print(f"{exp.name}: {n_runs} runs in {timing['wall_s']:.1f}s (compile {timing['compile_s']:.1f}s, "
          f"{timing['chunks_skipped']}/{timing['chunks']} chunks already stored); "
          f"{n_hold}/{len(summary['claims'])} claims hold")
    _print_claims(summary["claims"])
    print(f"report: {run_dir / 'report.html'}")
    return 0


def cmd_check(args) -> int:
    from theorylab.store.shards import read_runs

    exp, resolved, _ = _load(Path(args.dir))
    claims = [c.to_json() for c in papers.evaluate_claims(exp, read_runs(Path(args.dir)), resolved)]
    _print_claims(claims)
    failed = [c["id"] for c in claims if c["holds"] is False]
    print(f"{len(claims) - len(failed)}/{len(claims)} claims do not fail" + (f"; failing: {', '.join(failed)}" if failed else ""))
    return EXIT_CLAIM_FAILS if failed else 0


def cmd_report(args) -> int:
    run_dir = Path(args.dir)
    exp, resolved, meta = _load(run_dir)
    old = json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").exists() else {}
    _finish(run_dir, exp, resolved, meta, old.get("timing", {}))
    print(f"report: {run_dir / 'report.html'}")
    return 0


def cmd_query(args) -> int:
    import pandas as pd

    from theorylab.store.readers import query

    _load(Path(args.dir))
    df = query(Path(args.dir), args.sql)
    if args.csv:
        df.to_csv(sys.stdout, index=False)
    else:
        with pd.option_context("display.max_rows", args.max_rows, "display.max_columns", None, "display.width", 200):
            print(df.to_string(index=False, max_rows=args.max_rows))
    return 0


def cmd_plot(args) -> int:
    from theorylab.plots.style import plt
    from theorylab.store.shards import read_runs

    run_dir = Path(args.dir)
    exp, resolved, _ = _load(run_dir)
    df = read_runs(run_dir)
    fig = _sweep_figure(exp, df, resolved, run_dir, args.x, args.y, args.metric)
    out = Path(args.out) if args.out else run_dir / "figures" / f"sweep-{args.x}{'-' + args.y if args.y else ''}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    print(f"figure: {out}")
    return 0


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {v}")
    return v


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        print(f"theorylab: error: {message}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="theorylab", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    pl = sub.add_parser("list", help="list experiments, or one experiment's presets and config fields")
    pl.add_argument("experiment", nargs="?")
    pr = sub.add_parser("run", help="run an experiment into a run directory")
    pr.add_argument("experiment")
    pr.add_argument("--preset", default="cpu")
    pr.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field (repeatable)")
    pr.add_argument("--seeds", type=_positive_int, help="repetitions per cell (default: the preset's)")
    pr.add_argument("--out", help="run directory (default: runs/EXPERIMENT-PRESET)")
    pr.add_argument("--sweep", action="append", metavar="KEY=SPEC",
                    help="sweep a config field (repeatable; axes are crossed with each other and the preset's cells): "
                         "key=v1,v2,v3 | key=lin:a:b:n | key=log:a:b:n")
    pr.add_argument("--executor", default="local", choices=("local", "ray", "slurm"))
    pr.add_argument("--max-chunk", type=_positive_int, help="at most this many runs per chunk (more, smaller tasks)")
    pr.add_argument("--workers", type=_positive_int,
                    help="chunks trained side by side by the local executor (threads; default 2)")
    pr.add_argument("--ray-address", help="join this Ray cluster (e.g. auto, or HOST:6379); default: start a local one")
    pr.add_argument("--ray-cpus", type=_positive_int, help="CPUs of the local Ray cluster (default: all)")
    pr.add_argument("--slurm", action="append", metavar="KEY=VALUE",
                    help="a submitit parameter, e.g. slurm_partition=cpu, timeout_min=240, cpus_per_task=4, "
                         "slurm_array_parallelism=100 (repeatable)")
    pr.add_argument("--slurm-cluster", default="slurm", choices=("slurm", "local", "debug"),
                    help="local: run the array tasks as local processes (testing without SLURM)")
    pr.add_argument("--chunks-per-task", type=_positive_int, default=1, help="chunks per SLURM array task")
    pr.add_argument("--resume", action="store_true", help="require an earlier run in --out (finished chunks are always kept)")
    pr.add_argument("--force", action="store_true", help="discard results of a different config in --out")
    pc = sub.add_parser("check", help="re-evaluate the claims of a run directory; exit 0 iff none fails")
    pc.add_argument("dir")
    pp = sub.add_parser("report", help="rebuild figures and report.html of a run directory")
    pp.add_argument("dir")
    pq_ = sub.add_parser("query", help="run DuckDB SQL over a run directory (views: runs, final)")
    pq_.add_argument("dir")
    pq_.add_argument("sql")
    pq_.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    pq_.add_argument("--max-rows", type=_positive_int, default=60)
    pg = sub.add_parser("plot", help="the generic sweep figure: a metric over one or two swept fields")
    pg.add_argument("dir")
    pg.add_argument("--x", required=True, help="a swept config field (horizontal axis)")
    pg.add_argument("--y", help="a second swept field (vertical axis); without it, a curve")
    pg.add_argument("--metric", help="a recorded column (default: the experiment's sweep metric)")
    pg.add_argument("--out", help="PNG path (default: DIR/figures/sweep-X-Y.png)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"list": cmd_list, "run": cmd_run, "check": cmd_check, "report": cmd_report,
               "query": cmd_query, "plot": cmd_plot}[args.command]
    try:
        return handler(args)
    except ConfigError as e:
        print(f"theorylab: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
