"""The command line.

    theorylab list [EXPERIMENT]
    theorylab run EXPERIMENT [--preset smoke|cpu|paper] [--set key=value ...] [--seeds N]
                             [--out DIR] [--executor local] [--resume] [--force]
    theorylab check DIR      # re-evaluate the claims of a finished run; exit 0 iff none fails
    theorylab report DIR     # rebuild figures, summary.json and report.html from the stored results

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
from theorylab import papers
from theorylab.sweep.grid import Resolved, parse_sets, resolve

EXIT_BAD_INPUT = 2
EXIT_CLAIM_FAILS = 1


def _versions() -> dict:
    import jax
    import jaxlib
    import numpy
    import optax

    return {
        "theorylab": __version__, "jax": jax.__version__, "jaxlib": jaxlib.__version__,
        "optax": optax.__version__, "numpy": numpy.__version__, "python": platform.python_version(),
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
    from theorylab.plots import report
    from theorylab.plots.style import plt
    from theorylab.store.shards import read_runs

    df = read_runs(run_dir)
    claims = [c.to_json() for c in papers.evaluate_claims(exp, df, resolved)]
    fig_dir = run_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    fig_paths = {}
    for name, fig in exp.figures(df, resolved).items():
        fig_paths[name] = fig_dir / f"{name}.png"
        fig.savefig(fig_paths[name])
        plt.close(fig)
    summary = {"experiment": exp.name, "preset": resolved.preset, "claims": claims, "timing": timing}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    title = f"{exp.name} ({resolved.preset}) - {exp.summary}"
    (run_dir / "report.html").write_text(report.render(title, summary, meta, fig_paths))
    return summary


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


def cmd_run(args) -> int:
    t0 = time.perf_counter()
    exp = papers.get(args.experiment)
    if args.preset not in exp.presets:
        raise ConfigError(f"unknown preset {args.preset!r} for {exp.name}; known: {', '.join(exp.presets)}")
    preset = exp.presets[args.preset]
    if args.executor != "local":
        raise ConfigError(f"--executor {args.executor!r} is not available; allowed: local")
    sets = parse_sets(exp.config, args.set or [])
    seeds = preset.seeds if args.seeds is None else args.seeds
    resolved = resolve(exp.name, args.preset, exp.config, preset.base, preset.cells, seeds, sets)
    run_dir = Path(args.out or Path("runs") / f"{exp.name.replace('/', '-')}-{args.preset}")

    cfg_path = run_dir / "config.json"
    if cfg_path.exists():
        old = json.loads(cfg_path.read_text()).get("resolved")
        if old != json.loads(json.dumps(resolved.to_json())):
            if not args.force:
                raise ConfigError(f"{run_dir} holds results of a different config; use another --out or --force")
            shutil.rmtree(run_dir / "runs", ignore_errors=True)
            (run_dir / "manifest.json").unlink(missing_ok=True)
    elif args.resume:
        raise ConfigError(f"--resume: {run_dir} holds no earlier run (no config.json)")
    run_dir.mkdir(parents=True, exist_ok=True)

    from theorylab.sweep.runner import execute

    meta = {"resolved": resolved.to_json(), "versions": _versions()}
    cfg_path.write_text(json.dumps(meta, indent=1))
    n_runs = len(resolved.cells) * resolved.seeds
    print(f"{exp.name} --preset {args.preset}: {len(resolved.cells)} cells x {seeds} seeds = {n_runs} runs -> {run_dir}",
          file=sys.stderr)
    timing = execute(exp.problem, resolved, run_dir)
    timing["wall_s"] = time.perf_counter() - t0  # the whole command, set-up and compile included
    summary = _finish(run_dir, exp, resolved, meta, timing)
    n_hold = sum(c["holds"] is True for c in summary["claims"])
    print(f"{exp.name}: {n_runs} runs in {timing['wall_s']:.1f}s (compile {timing['compile_s']:.1f}s); "
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
    pr.add_argument("--executor", default="local")
    pr.add_argument("--resume", action="store_true", help="require an earlier run in --out (finished chunks are always kept)")
    pr.add_argument("--force", action="store_true", help="discard results of a different config in --out")
    pc = sub.add_parser("check", help="re-evaluate the claims of a run directory; exit 0 iff none fails")
    pc.add_argument("dir")
    pp = sub.add_parser("report", help="rebuild figures and report.html of a run directory")
    pp.add_argument("dir")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"list": cmd_list, "run": cmd_run, "check": cmd_check, "report": cmd_report}[args.command]
    try:
        return handler(args)
    except ConfigError as e:
        print(f"theorylab: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
