"""End to end: whole ``theorylab run`` processes, as a user runs them, cold and warm.

    python -m benchmarks.bench_e2e --experiment vit-benign/phase --preset cpu --reps 3 [--set k=v] [--no-buckets]
                                   [--workers 1]

* cold: a fresh process with an empty compile cache (THEORYLAB_COMPILE_CACHE = a new empty
  directory): imports, planning, compiling every program, training, figures and report;
* warm: a fresh process reading the cache that the cold process filled.

Each repetition uses a new output directory (nothing resumed). Reported: the median of each
side over ``reps``, and the parts the run itself records (compile_s, train_s summed over the
workers, wall_s of the run call; import and start-up = process wall - wall_s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_process(experiment: str, preset: str, extra: list[str], cache: str, out: Path) -> dict:
    cmd = [sys.executable, "-m", "theorylab.cli", "run", experiment, "--preset", preset, "--out", str(out), *extra]
    env = dict(os.environ, THEORYLAB_COMPILE_CACHE=cache)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip().splitlines()[-1:]}")
    summary = json.loads((out / "summary.json").read_text())
    t = summary["timing"]
    return dict(process_s=wall, run_s=t["wall_s"], compile_s=t["compile_s"], train_s=t["train_s"],
                chunks=t["chunks"], runs=t["runs"], startup_s=wall - t["wall_s"],
                claims_hold=sum(c["holds"] is True for c in summary["claims"]), claims=len(summary["claims"]))


def measure(experiment: str, preset: str, extra: list[str], reps: int) -> dict:
    cold, warm = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(reps):
            cache = os.path.join(tmp, f"cache-{r}")
            os.makedirs(cache)
            cold.append(one_process(experiment, preset, extra, cache, Path(tmp) / f"cold-{r}"))
            warm.append(one_process(experiment, preset, extra, cache, Path(tmp) / f"warm-{r}"))

    def med(rows, key):
        return statistics.median(x[key] for x in rows)

    keys = ("process_s", "run_s", "compile_s", "train_s", "startup_s")
    return dict(experiment=experiment, preset=preset, extra=extra, reps=reps, load_avg=os.getloadavg()[0],
                cold={k: med(cold, k) for k in keys}, warm={k: med(warm, k) for k in keys},
                chunks=cold[0]["chunks"], runs=cold[0]["runs"],
                claims=f"{cold[0]['claims_hold']}/{cold[0]['claims']}", all_cold=cold, all_warm=warm)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--experiment", default="vit-benign/phase")
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--no-buckets", action="store_true")
    ap.add_argument("--workers", type=int, help="chunks trained side by side (default: the CLI's 2)")
    ap.add_argument("--out", help="write the result as JSON here")
    args = ap.parse_args(argv)
    extra = [x for s in args.set for x in ("--set", s)] + (["--no-buckets"] if args.no_buckets else [])
    extra += ["--workers", str(args.workers)] if args.workers else []
    res = measure(args.experiment, args.preset, extra, args.reps)
    res["name"] = f"end to end: {args.experiment} {args.preset}" + (f" {' '.join(extra)}" if extra else "")
    if args.out:  # a list, like every benchmark module's output (benchmarks/run_all.py)
        Path(args.out).write_text(json.dumps([res], indent=1))
    print(json.dumps({k: res[k] for k in ("experiment", "preset", "extra", "cold", "warm", "chunks", "claims",
                                          "load_avg")}, indent=1))


if __name__ == "__main__":
    main()
