"""The paper-preset target: vit-benign/phase --preset paper (Figure 1, 10,000 runs at d = 1024).

    python -m benchmarks.paper_phase [--out runs/bench-paper-phase] [--sweep N=4,20] [--seeds 10]

Runs the command line exactly as a user would (``theorylab run ... --preset paper``) and
writes the wall time, the CLI's own timing (compile, train, batch steps) and the number of runs
to <out>/bench.json. With ``--sweep`` only some rows of the figure run (an estimate of the full
cost: time per run grows with N); the full run is the default. Meant for ``nohup``: it takes
many minutes on a shared 2-core CPU, so ``make bench`` does not run it.
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
    args = ap.parse_args(argv)
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


if __name__ == "__main__":
    main()
