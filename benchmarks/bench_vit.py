"""vit-benign benchmarks: the cpu preset of vit-benign/phase and one compute-bound config.

    python -m benchmarks.bench_vit [phase|compute] [--reps 3]

Each benchmark (1) compiles theorylab's programs for the grid (timed, reported apart),
(2) checks that the paper-style PyTorch baseline (benchmarks/vit_torch.py), started from the
very arrays theorylab starts from, gives the same stop steps and losses, (3) times both
sides alternately.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np

from benchmarks import common
from benchmarks.vit_torch import train_run
from theorylab.papers import vit_benign


def model_flops_per_step(N: int, M: int, d: int, d_h: int, d_v: int) -> dict[str, float]:
    """FLOPs of one GD step of one run (forward + backward, matmuls and the softmax).

    Plain form (values through u = W_V w_O, models/attention.py), per sample X [M, d]:
      forward  Q = X W_Q, K = X W_K           2 * 2 M d d_h
               S = Q K^T                       2 M^2 d_h
               v = X u, A v                    2 M d + 2 M^2
      backward dQ = dS K, dK = dS^T Q          2 * 2 M^2 d_h
               dW_Q = X^T dQ, dW_K = X^T dK    2 * 2 M d d_h
               dA, dv, du = X^T dv             4 M^2 + 2 M d
               softmax and its backward        ~ 10 M^2 (exp, sums, products)
    per run: u = W_V w_O and dW_V = du w_O^T   2 d d_v + d d_v;  SGD update 2 (2 d d_h + d d_v).
    The literal form (the baseline's (X W_V) w_O) adds per sample 2 M d d_v forward and
    2 M d d_v backward (dW_V = X^T dV) and drops the u terms.
    The dual form (what theorylab runs; models/attention.py ``to_dual``), per run, T = N M:
      P = P_0 + G a_q, K = K_0 + G a_k        2 * 2 T^2 d_h
      v = v_0 + |w_O|^2 G a_v                  2 T^2 + T^2
      S, A v, softmax and their backward       as above: N (6 M^2 d_h + 16 M^2)
      the lift's backward is the identity; SGD update on a: 2 (2 T d_h + T).
    """
    per_sample = 8 * M * d * d_h + 6 * M * M * d_h + 4 * M * d + 16 * M * M
    per_run = 3 * d * d_v + 2 * (2 * d * d_h + d * d_v)
    plain = N * per_sample + per_run
    literal = N * (per_sample + 4 * M * d * d_v + 2 * M * d_v) + 2 * (2 * d * d_h + d * d_v)
    t = N * M
    dual = 4 * t * t * d_h + 3 * t * t + N * (6 * M * M * d_h + 16 * M * M) + 2 * (2 * t * d_h + t)
    return dict(plain=float(plain), literal=float(literal), dual=float(dual))


def observe_flops(n_test: int, M: int, d: int, d_h: int, d_v: int, N: int, form: str) -> float:
    """FLOPs of one observe. Plain: the test projections Z W (S = n_test M tokens) dominate;
    dual: they come from the cross kernel, Z W = Z W_0 + (Z X^T) a (S x T x d_h)."""
    s, t = n_test * M, N * M
    heads = n_test * (2 * M * M * d_h + 2 * M * M)  # test scores and outputs
    if form == "dual":
        return float(2 * 2 * s * t * d_h + 2 * s * t + heads)
    return float(2 * 2 * s * d * d_h + 2 * s * d + 2 * d * d_v + heads)


def dual_setup_flops(n_test: int, M: int, d: int, d_h: int, d_v: int, N: int) -> float:
    """Once per run in the dual form: G = X X^T, X W_Q0, X W_K0, X u_0, and for the test set
    Z X^T and Z W_Q0, Z W_K0, Z u_0 (S = n_test M test tokens)."""
    s, t = n_test * M, N * M
    return float(2 * t * t * d + 2 * 2 * t * d * d_h + 2 * t * d + 2 * d * d_v
                 + 2 * s * t * d + 2 * 2 * s * d * d_h + 2 * s * d)


def _baseline(pairs, limit: int | None = None):
    """Every real (non-padding) run of [(chunk, (params, data))] through the torch loop, in order."""
    out = []
    for ch, (params, data) in pairs:
        for i, run in enumerate(ch.runs[:limit]):
            p = tuple(np.asarray(w[i]) for w in params)
            dat = {k: np.asarray(v[i]) for k, v in data.items()}
            if "weight" in dat:  # a bucketed program: the torch loop gets the run's own N samples only
                own = dat.pop("weight") > 0
                dat["x"], dat["y"] = dat["x"][own], dat["y"][own]
            out.append(train_run(p, dat, run.cfg.lr, run.cfg.stop_loss, run.cfg.steps))
    return out


def _ours(results, sweep):
    rows = []
    for ch, res in zip(sweep.chunks, results):
        for i in range(len(ch.runs)):
            rows.append(dict(stop_step=int(res.stop_step[i]), train_loss=float(res.obs["train_loss"][-1, i]),
                             test_loss=float(res.obs["test_loss"][-1, i])))
    return rows


def compare(ours: list[dict], base: list[dict]) -> dict:
    """Agreement of the two implementations, run by run."""
    ss_o = np.array([r["stop_step"] for r in ours])
    ss_b = np.array([r["stop_step"] for r in base])
    d_train = np.abs(np.array([r["train_loss"] for r in ours]) - np.array([r["train_loss"] for r in base]))
    d_test = np.abs(np.array([r["test_loss"] for r in ours]) - np.array([r["test_loss"] for r in base]))
    same = ss_o == ss_b
    return dict(runs=len(ours), same_stop_step=int(same.sum()), max_stop_step_diff=int(np.abs(ss_o - ss_b).max()),
                max_train_loss_diff=float(d_train.max()), max_test_loss_diff=float(d_test.max()),
                max_test_loss_diff_same_stop=float(d_test[same].max()) if same.any() else None,
                mean_stop_step=float(ss_o.mean()))


PLAIN_PHASE = dataclasses.replace(vit_benign.PHASE, problem=vit_benign.PLAIN_PROBLEM)
ARMS = {"theorylab": vit_benign.PHASE, "theorylab, plain form": PLAIN_PHASE}


def _run_bench(name: str, resolved, reps: int, flops: dict | None = None) -> dict:
    """Compile and run every arm once (cold), check each against the baseline, then alternate."""
    arms, ours = {}, {}
    for arm, exp in ARMS.items():
        t0 = time.perf_counter()
        sweep = common.compile_sweep(exp, resolved)
        compile_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        first = sweep.run()  # cold: the first execution after compiling
        arms[arm] = dict(sweep=sweep, compile_s=compile_s, programs=sweep.programs, chunks=len(sweep.chunks),
                         first_run_s=time.perf_counter() - t0, batch_steps=sum(r.executed_steps for r in first))
        ours[arm] = _ours(first, sweep)
    plain = arms["theorylab, plain form"]["sweep"]  # its set-up holds the weights and samples
    pairs = [(ch, common.setup_arrays(plain.problem, ch)) for ch in plain.chunks]
    base = _baseline(pairs)
    for arm in arms:
        agree = arms[arm]["agreement"] = compare(ours[arm], base)
        if agree["same_stop_step"] < 0.98 * agree["runs"] or agree["max_test_loss_diff_same_stop"] > 2e-3:
            raise SystemExit(f"{name}: the baseline disagrees with {arm}: {agree}")
    threads = common.pick_torch_threads(lambda: _baseline(pairs[-1:], limit=2))
    fns = {"baseline": lambda: _baseline(pairs)}
    fns.update({arm: a["sweep"].run for arm, a in arms.items()})
    timing = common.alternate(fns, reps)
    for arm, a in arms.items():
        del a["sweep"]
        a.update(median_s=timing[arm]["median_s"], ratio=timing[arm]["ratio"], times_s=timing[arm]["times_s"])
    out = dict(name=name, runs=len(base), baseline_s=timing["baseline"]["median_s"],
               baseline_times_s=timing["baseline"]["times_s"], torch_threads=threads, reps=reps, arms=arms,
               run_steps=int(sum(r["stop_step"] for r in base)))
    if flops is not None:
        out["flops"] = flops
        out["baseline_gflops_per_s"] = flops["literal_total"] / out["baseline_s"] / 1e9
        for arm, a in arms.items():
            a["executed_gflops_per_s"] = flops["executed_total"][arm] / a["median_s"] / 1e9
            a["model_gflops_per_s"] = flops["plain_total"] / a["median_s"] / 1e9
    return out


def bench_phase_cpu(reps: int = 3) -> dict:
    """vit-benign/phase --preset cpu: 140 cells x 4 seeds = 560 runs, early stop at 0.01."""
    res = common.resolved_of(vit_benign.PHASE, "cpu")
    return _run_bench("vit-benign/phase cpu", res, reps)


# The compute-bound config: the paper's sizes (spec "Figure 1": d = 1024, M = 16,
# d_h = d_v = 512) at N = 20, 200 GD steps with no early stop, 8 runs (8 values of |mu|).
COMPUTE = dict(d=1024, M=16, d_h=512, d_v=512, N=20, steps=200, log_every=200, stop_loss=0.0)
COMPUTE_MUS = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0]


def bench_compute(reps: int = 3) -> dict:
    cells = tuple(dict(mu_norm=m) for m in COMPUTE_MUS)
    res = common.resolved_of(vit_benign.PHASE, "paper", sets=COMPUTE, cells=cells, seeds=1)
    c = res.base
    per = model_flops_per_step(c.N, c.M, c.d, c.d_h, c.d_v)
    runs, steps = len(COMPUTE_MUS), c.steps
    obs = {f: observe_flops(c.n_test, c.M, c.d, c.d_h, c.d_v, c.N, f) * 2 * runs for f in ("plain", "dual")}
    plain = per["plain"] * runs * steps + obs["plain"]
    dual = per["dual"] * runs * steps + obs["dual"] + dual_setup_flops(c.n_test, c.M, c.d, c.d_h, c.d_v, c.N) * runs
    flops = dict(per_run_step=per, runs=runs, steps=steps, observe_total=obs, plain_total=plain,
                 literal_total=per["literal"] * runs * steps + obs["plain"],
                 executed_total={"theorylab": dual, "theorylab, plain form": plain})
    return _run_bench("vit compute-bound (d=1024, M=16, N=20, 200 steps, 8 runs)", res, reps, flops)


def compile_only_phase_cpu(reps: int = 0) -> dict:
    """Compile (or load from the disk cache) every program of the phase cpu preset, nothing else."""
    del reps
    res = common.resolved_of(vit_benign.PHASE, "cpu")
    t0 = time.perf_counter()
    sweep = common.compile_sweep(vit_benign.PHASE, res)
    return dict(name="compile only: vit-benign/phase cpu", compile_s=time.perf_counter() - t0,
                programs=len({id(f) for f in sweep.fns}))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("which", nargs="*", default=["phase", "compute"])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", help="write the results (a JSON list) here too")
    args = ap.parse_args(argv)
    results = []
    for w in args.which:
        fn = {"phase": bench_phase_cpu, "compute": bench_compute, "compile-phase": compile_only_phase_cpu}[w]
        results.append(fn(args.reps))
        print(json.dumps(results[-1], indent=1, default=float), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1, default=float)


if __name__ == "__main__":
    main()
