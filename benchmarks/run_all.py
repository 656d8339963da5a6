"""Run the benchmarks and regenerate the generated block of BENCHMARKS.md (``make bench``).

    python -m benchmarks.run_all [--reps 3] [--only e2e-vit-phase,mamba]   (make bench ONLY=...)

Each benchmark runs in its own process (its own compile cache and thread settings). Results
are merged by benchmark name into benchmarks/results/latest.json: running one benchmark
replaces its own rows and keeps the others' (each row carries its own date, commit and load),
then BENCHMARKS.md's block between the bench markers is rendered from the merged file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import common, report

ROOT = Path(__file__).resolve().parent.parent
BENCHES = {  # name -> module and its arguments
    "vit-phase": ["benchmarks.bench_vit", "phase"],
    # the same programs again, in a new process, from the disk cache the run above filled
    "vit-phase-warm": ["benchmarks.bench_vit", "compile-phase"],
    "vit-compute": ["benchmarks.bench_vit", "compute"],
    "mamba": ["benchmarks.bench_mamba"],
    # whole `theorylab run` processes as a user runs them: cold (empty compile cache) and warm
    "e2e-vit-phase": ["benchmarks.bench_e2e", "--experiment", "vit-benign/phase", "--preset", "cpu"],
    "e2e-mamba": ["benchmarks.bench_e2e", "--experiment", "mamba-icl/context-length", "--preset", "cpu"],
    # one worker: each compile has the machine to itself, so compile_s / process_s is its share of the wall
    "e2e-mamba-w1": ["benchmarks.bench_e2e", "--experiment", "mamba-icl/context-length", "--preset", "cpu",
                     "--workers", "1"],
    "e2e-label-noise": ["benchmarks.bench_e2e", "--experiment", "label-noise-gd/phase", "--preset", "cpu"],
}
REPS = {"e2e-mamba": 1, "e2e-mamba-w1": 1, "e2e-label-noise": 1}  # minutes per repetition: one cold and one warm process


def run_one(name: str, reps: int, cache_dir: str) -> list[dict]:
    """One benchmark in a fresh process whose compile cache is ``cache_dir`` (empty: cold)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        cmd = [sys.executable, "-m", *BENCHES[name], "--reps", str(min(reps, REPS.get(name, reps))), "--out", str(out)]
        print("$", " ".join(cmd), flush=True)
        env = dict(os.environ, THEORYLAB_COMPILE_CACHE=cache_dir)
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode or not out.exists():
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return [dict(name=name, error=tail[:200])]
        return json.loads(out.read_text())


def merge(old: dict | None, fresh: dict) -> dict:
    """The stored results with the freshly run benchmarks' rows replaced (matched by the
    benchmark that produced them) and the rest kept, in BENCHES order."""
    if old is None:
        return fresh
    ran = {b["bench"] for b in fresh["benchmarks"]}
    kept = [b for b in old["benchmarks"] if _bench_of(b) not in ran]
    order = list(BENCHES)
    rows = sorted(kept + fresh["benchmarks"], key=lambda b: order.index(_bench_of(b)) if _bench_of(b) in order else 99)
    return dict(fresh, benchmarks=rows)


def _bench_of(row: dict) -> str:
    """The BENCHES key of a stored row (rows stored before keys were recorded: by their name)."""
    if "bench" in row:
        return row["bench"]
    name = row.get("name", "")
    return ("vit-phase-warm" if name.startswith("compile only") else "vit-phase" if name.startswith("vit-benign/phase")
            else "vit-compute" if name.startswith("vit compute") else "mamba" if name.startswith("mamba") else name)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default=",".join(BENCHES), help="comma-separated subset of " + ", ".join(BENCHES))
    ap.add_argument("--md", default=str(ROOT / "BENCHMARKS.md"))
    ap.add_argument("--render", metavar="JSON", help="only rewrite the block from a saved results file")
    args = ap.parse_args(argv)
    if args.render:
        report.update(Path(args.md), report.render(json.loads(Path(args.render).read_text())))
        return
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        raise SystemExit(f"--only: unknown benchmark {', '.join(unknown)}; allowed: {', '.join(BENCHES)}")
    machine = common.machine()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    fresh = dict(machine=machine, gemm=common.gemm_rate(), date=date, benchmarks=[])
    print(f"GEMM: {fresh['gemm']['gflops']:.0f} GFLOP/s", flush=True)
    with tempfile.TemporaryDirectory() as cache:
        for name in names:
            # every benchmark compiles cold (its own empty cache), but the warm-compile run
            # reads the cache its cold twin filled
            own = os.path.join(cache, name.removesuffix("-warm"))
            os.makedirs(own, exist_ok=True)
            rows = run_one(name, args.reps, own)
            for row in rows:
                row.update(bench=name, measured=dict(date=date, commit=machine["commit"], load_avg=os.getloadavg()[0],
                                                     cpu=machine["cpu"], gemm_gflops=fresh["gemm"]["gflops"]))
            fresh["benchmarks"] += rows
            print(json.dumps(rows[-1], default=float)[:400], flush=True)
    out = ROOT / "benchmarks" / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    results = merge(json.loads(out.read_text()) if out.exists() else None, fresh)
    out.write_text(json.dumps(results, indent=1, default=float))
    report.update(Path(args.md), report.render(results))
    print(f"wrote {out} and {args.md}")


if __name__ == "__main__":
    main()
