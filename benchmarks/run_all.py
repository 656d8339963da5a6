"""Run every benchmark and regenerate the generated block of BENCHMARKS.md (``make bench``).

    python -m benchmarks.run_all [--reps 3] [--only vit-phase,vit-phase-warm,vit-compute,mamba]

Each benchmark runs in its own process (its own compile cache and thread settings); results
go to benchmarks/results/latest.json, then into BENCHMARKS.md between the bench markers.
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
}


def run_one(name: str, reps: int, cache_dir: str) -> list[dict]:
    """One benchmark in a fresh process whose compile cache is ``cache_dir`` (empty: cold)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        cmd = [sys.executable, "-m", *BENCHES[name], "--reps", str(reps), "--out", str(out)]
        print("$", " ".join(cmd), flush=True)
        env = dict(os.environ, THEORYLAB_COMPILE_CACHE=cache_dir)
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode or not out.exists():
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return [dict(name=name, error=tail[:200])]
        return json.loads(out.read_text())


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
    results = dict(machine=common.machine(), gemm=common.gemm_rate(),
                   date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                   benchmarks=[])
    print(f"GEMM: {results['gemm']['gflops']:.0f} GFLOP/s", flush=True)
    with tempfile.TemporaryDirectory() as cache:
        for name in args.only.split(","):
            name = name.strip()
            # every benchmark compiles cold (its own empty cache), but the warm-compile run
            # reads the cache its cold twin filled
            own = os.path.join(cache, name.removesuffix("-warm"))
            os.makedirs(own, exist_ok=True)
            results["benchmarks"] += run_one(name, args.reps, own)
            print(json.dumps(results["benchmarks"][-1], default=float)[:400], flush=True)
    out = ROOT / "benchmarks" / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=float))
    report.update(Path(args.md), report.render(results))
    print(f"wrote {out} and {args.md}")


if __name__ == "__main__":
    main()
