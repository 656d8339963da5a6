"""The paper-preset target: vit-benign/phase --preset paper (Figure 1, 10,000 runs at d = 1024).

    python -m benchmarks.paper_phase [--out runs/bench-paper-phase] [--sweep N=4,20] [--seeds 10]
    python -m benchmarks.paper_phase --form span [--sweep N=4,20] [--seeds 1]

Runs the command line exactly as a user would (``theorylab run ... --preset paper``) and
writes the wall time, the CLI's own timing (compile, train, batch steps) and the number of runs
to <out>/bench.json. With ``--sweep`` only some rows of the figure run (an estimate of the full
cost: time per run grows with N); the full run is the default. Meant for ``nohup``: it takes
30+ minutes on a shared 2-core CPU, so ``make bench`` does not run it.

``--form span`` runs the same grid through the engine directly with the span-form Problem
(benchmarks/vit_span.py; not yet what the command line uses) and reports its timing only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import common


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/bench-paper-phase")
    ap.add_argument("--sweep", action="append", default=[], help="passed to theorylab run --sweep")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--form", choices=("plain", "span"), default="plain")
    args = ap.parse_args(argv)
    if args.form == "span":
        return span_engine(args)
    out = Path(args.out)
    cmd = [sys.executable, "-m", "theorylab.cli", "run", "vit-benign/phase", "--preset", "paper", "--out", str(out)]
    for s in args.sweep:
        cmd += ["--sweep", s]
    if args.seeds:
        cmd += ["--seeds", str(args.seeds)]
    info = dict(machine=common.machine(), command=" ".join(cmd), started=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
    print(json.dumps(info), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd)
    info["wall_s"] = time.perf_counter() - t0
    info["returncode"] = proc.returncode
    summary = out / "summary.json"
    if summary.exists():
        s = json.loads(summary.read_text())
        info["timing"] = s.get("timing")
        info["claims"] = [(c["id"], c["holds"], c["measured"]) for c in s.get("claims", [])]
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(info, indent=1, default=str))
    print(json.dumps(info, indent=1, default=str))


def span_engine(args) -> None:
    """The grid through the engine with the span-form Problem: compile and train times."""
    from benchmarks.vit_span import SPAN_PHASE
    from theorylab.sweep.grid import parse_sweeps, resolve

    p = SPAN_PHASE.presets["paper"]
    sweeps = parse_sweeps(SPAN_PHASE.config, args.sweep, {})
    resolved = resolve(SPAN_PHASE.name, "paper", SPAN_PHASE.config, p.base, p.cells, args.seeds or p.seeds, {}, sweeps)
    info = dict(machine=common.machine(), form="span", sweep=args.sweep, seeds=resolved.seeds, runs=len(resolved.runs()))
    t0 = time.perf_counter()
    sweep = common.compile_sweep(SPAN_PHASE, resolved)
    info["compile_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    per_n = {}
    for fn, ch in zip(sweep.fns, sweep.chunks):
        t1 = time.perf_counter()
        r = fn(ch.keys(), ch.dyn())
        n = ch.static_cfg.N
        per_n.setdefault(n, dict(train_s=0.0, runs=0, batch_steps=0, mean_test_loss=[]))
        per_n[n]["train_s"] += time.perf_counter() - t1
        per_n[n]["runs"] += len(ch.runs)
        per_n[n]["batch_steps"] += r.executed_steps
        per_n[n]["mean_test_loss"].append(float(r.obs["test_loss"][-1, : len(ch.runs)].mean()))
    info["train_s"] = time.perf_counter() - t0
    info["per_N"] = per_n
    print(json.dumps(info, indent=1, default=str))


if __name__ == "__main__":
    main()
