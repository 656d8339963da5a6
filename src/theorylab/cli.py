"""The command line: a thin wrapper over ``theorylab.run`` (run.py).

    theorylab list [EXPERIMENT]
    theorylab run EXPERIMENT [--preset smoke|cpu|paper] [--set key=value ...] [--seeds N]
                             [--sweep key=v1,v2 | key=lin:a:b:n | key=log:a:b:n ...]
                             [--out DIR] [--executor local|ray|slurm] [--x64] [--resume] [--force]
    theorylab check DIR      # exit 0 iff no claim fails and no run diverged unexpectedly
    theorylab report DIR     # rebuild figures, summary.json and report.html from the stored results
    theorylab query DIR SQL  # DuckDB over the stored runs (views `runs` and `final`)
    theorylab plot DIR --x FIELD [--y FIELD] [--metric NAME]   # the generic sweep figure
    theorylab boundary EXPERIMENT --along FIELD --per FIELD --metric M --level L [--stat mean|median|majority]

EXPERIMENT is a built-in name, path/to/file.py:NAME, package.module:NAME or the name of an
experiment of an installed plugin (entry-point group ``theorylab.experiments``).

Every input is validated before anything compiles; a bad one is a one-line error and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from theorylab import __version__
from theorylab.config import ConfigError, doc_table

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1  # a claim fails, or runs diverged unexpectedly


def _print_verdicts(claims: list[dict], diverged: dict[str, int], expected: dict[str, str]) -> None:
    verdict = {True: "holds", False: "FAILS", None: "n/a"}
    for c in claims:
        print(f"  [{verdict[c['holds']]:>5}] {c['id']}: {c['measured']}  (predicted {c['predicted']})")
        if c["holds"] is not True and c.get("note"):
            print(f"          {'not tested' if c['holds'] is None else 'why'}: {c['note']}")
    if diverged:
        print(f"  DIVERGED: {sum(diverged.values())} runs in {len(diverged)} cells: "
              + ", ".join(f"{k} ({v})" for k, v in list(diverged.items())[:8]) + (" ..." if len(diverged) > 8 else ""))
    for cell, why in expected.items():
        print(f"  (divergence expected in cell {cell}: {why})")


def cmd_list(args) -> int:
    from theorylab import loader

    if args.experiment:
        exp = loader.find(loader.normalise(args.experiment))
        print(f"{exp.name}: {exp.summary}")
        for name, p in exp.presets.items():
            print(f"  preset {name}: {len(p.cells)} cells x {p.seeds} seeds" + (f". {p.note}" if p.note else ""))
        print("  config fields (name, type, default, kind, doc):")
        for row in doc_table(exp.config):
            print("    " + "  ".join(row))
        return 0
    for exp in loader.builtin().values():
        print(f"{exp.name:<28} {exp.summary}  [presets: {', '.join(exp.presets)}]")
    found, warnings = loader.plugins()
    for exp in found.values():
        clash = " - HIDDEN by the built-in experiment of this name" if exp.name in loader.builtin() else ""
        print(f"{exp.name:<28} {exp.summary}  [presets: {', '.join(exp.presets)}] (plugin{clash})")
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def _executor(args, run_dir_hint: Path | None):
    from theorylab.sweep import executors

    if args.executor != "ray" and (args.ray_address or args.ray_cpus):
        raise ConfigError("--ray-address / --ray-cpus need --executor ray")
    if args.executor != "slurm" and (args.slurm or args.slurm_cluster != "slurm" or args.chunks_per_task != 1):
        raise ConfigError("--slurm / --slurm-cluster / --chunks-per-task need --executor slurm")
    if args.executor != "local" and args.workers is not None:
        raise ConfigError("--workers needs --executor local (ray and slurm run one chunk per task)")
    if args.executor == "ray":
        return executors.RayExecutor(address=args.ray_address, num_cpus=args.ray_cpus)
    if args.executor == "slurm":
        return executors.SlurmExecutor(folder=None, chunks_per_task=args.chunks_per_task,
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
    from theorylab import lifecycle

    r = lifecycle.run(args.experiment, args.preset, set=args.set or [], sweep=args.sweep or [], seeds=args.seeds,
                      out=args.out, executor=_executor(args, None), max_chunk=args.max_chunk, x64=args.x64,
                      force=args.force, resume=args.resume, buckets=not args.no_buckets)
    lifecycle.close_figures(r)
    s, t = r.summary, r.summary["timing"]
    n_hold = sum(c["holds"] is True for c in s["claims"])
    print(f"{r.experiment.name}: {t['runs']} runs in {t['wall_s']:.1f}s (compile {t['compile_s']:.1f}s, "
          f"{t['chunks_skipped']}/{t['chunks']} chunks already stored); {n_hold}/{len(s['claims'])} claims hold")
    _print_verdicts(s["claims"], s["diverged"], s["expected_divergence"])
    for name, err in s["figure_errors"].items():
        print(f"  figure {name} failed: {err}")
    print(f"report: {r.report}")
    return 0


def cmd_check(args) -> int:
    from theorylab import lifecycle

    res = lifecycle.check(args.dir)
    _print_verdicts([c.to_json() for c in res.claims], res.diverged, res.expected)
    n = len(res.claims)
    print(f"{n - len(res.failed)}/{n} claims do not fail" + (f"; failing: {', '.join(res.failed)}" if res.failed else "")
          + (f"; {sum(res.diverged.values())} runs diverged unexpectedly" if res.diverged else ""))
    return 0 if res.ok else EXIT_FAILED


def cmd_report(args) -> int:
    from theorylab import lifecycle

    r = lifecycle.report(args.dir)
    lifecycle.close_figures(r)
    print(f"report: {r.report}")
    return 0


def cmd_query(args) -> int:
    import pandas as pd

    from theorylab import lifecycle

    df = lifecycle.load(args.dir).query(args.sql)
    if args.csv:
        df.to_csv(sys.stdout, index=False)
    else:
        with pd.option_context("display.max_rows", args.max_rows, "display.max_columns", None, "display.width", 200):
            print(df.to_string(index=False, max_rows=args.max_rows))
    return 0


def cmd_plot(args) -> int:
    from theorylab import lifecycle

    r = lifecycle.load(args.dir)
    fig = lifecycle.sweep_figure(r.experiment, r.results, r.resolved, r.dir, args.x, args.y, args.metric)
    out = Path(args.out) if args.out else r.dir / "figures" / f"sweep-{args.x}{'-' + args.y if args.y else ''}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    lifecycle._close(fig)
    print(f"figure: {out}")
    return 0


def cmd_boundary(args) -> int:
    from theorylab.boundary_search import boundary

    per_values = None
    if args.per_values:
        from theorylab import lifecycle

        exp, _ = lifecycle.experiment_of(args.experiment)
        per_values = [lifecycle.parse_set(exp.config, {args.per: v})[args.per] for v in args.per_values.split(",")]
    b = boundary(args.experiment, along=args.along, per=args.per, metric=args.metric, level=args.level,
                 stat=args.stat, preset=args.preset, set=args.set or [], seeds=args.seeds, per_values=per_values,
                 lo=args.lo, hi=args.hi, log=not args.linear, probes=args.probes, rounds=args.rounds,
                 out=args.out, executor=_executor(args, None))
    fit = b.fit
    print(f"{b.experiment.name}: boundary of {args.stat}({args.metric}) = {args.level:g} located in {b.rounds} rounds, "
          f"{b.runs} runs, {b.wall_s:.1f}s")
    for row in b.points.itertuples():
        print(f"  {args.per} = {row.per}: {args.along}* = {row.along_star:.4g}  [{row.bracket_lo:.4g}, {row.bracket_hi:.4g}] "
              f"({row.status}, {row.probes} probes)")
    if fit.get("slope") is not None:
        print(f"  power law: slope {fit['slope']:.3f}; {args.per} * {args.along}*^2 = {fit['c_slope_minus_2']:.4g} "
              "(slope fixed at -2)")
    print(f"figure: {b.dir / 'boundary.png'}")
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
    pr.add_argument("--x64", action="store_true", help="train in float64 (init and data drawn in float64 too)")
    pr.add_argument("--no-buckets", action="store_true",
                    help="compile one program per value of a bucketed size instead of padding sizes into shared buckets")
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
    pb = sub.add_parser("boundary", help="locate a phase boundary row by row instead of filling the grid")
    pb.add_argument("experiment")
    pb.add_argument("--along", required=True, help="the field searched along (e.g. mu_norm)")
    pb.add_argument("--per", required=True, help="one search per value of this field (e.g. N)")
    pb.add_argument("--metric", required=True, help="a recorded observable (e.g. test_loss)")
    pb.add_argument("--level", required=True, type=float, help="the level whose crossing is the boundary")
    pb.add_argument("--stat", default="mean", choices=("mean", "median", "majority"),
                    help="over seeds: mean, median, or majority (crossed iff at least half the seeds crossed)")
    pb.add_argument("--preset", default="cpu")
    pb.add_argument("--set", action="append", metavar="KEY=VALUE", help="fix a config field (repeatable)")
    pb.add_argument("--seeds", type=_positive_int, help="repetitions per probe (default: the preset's)")
    pb.add_argument("--per-values", help="comma-separated values of --per (default: the preset's)")
    pb.add_argument("--lo", type=float, help="continuous search from lo (default: the preset's grid of --along)")
    pb.add_argument("--hi", type=float, help="continuous search up to hi")
    pb.add_argument("--linear", action="store_true", help="continuous search on a linear, not log, scale")
    pb.add_argument("--probes", type=_positive_int, default=3, help="probes per row and round (default 3)")
    pb.add_argument("--rounds", type=_positive_int, default=8, help="at most this many rounds (default 8)")
    pb.add_argument("--out", help="directory of the search (default: runs/EXPERIMENT-boundary-PRESET)")
    pb.add_argument("--executor", default="local", choices=("local", "ray", "slurm"))
    pb.add_argument("--workers", type=_positive_int, help="chunks side by side (local executor)")
    pb.add_argument("--ray-address")
    pb.add_argument("--ray-cpus", type=_positive_int)
    pb.add_argument("--slurm", action="append", metavar="KEY=VALUE")
    pb.add_argument("--slurm-cluster", default="slurm", choices=("slurm", "local", "debug"))
    pb.add_argument("--chunks-per-task", type=_positive_int, default=1)
    pc = sub.add_parser("check", help="re-evaluate the claims of a run directory; exit 0 iff none fails and no run diverged unexpectedly")
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
               "query": cmd_query, "plot": cmd_plot, "boundary": cmd_boundary}[args.command]
    try:
        return handler(args)
    except ConfigError as e:
        print(f"theorylab: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
