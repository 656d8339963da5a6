"""mamba-icl/context-length at the cpu preset against the paper-style PyTorch baseline.

    python -m benchmarks.bench_mamba [--reps 3] [--sample-steps 3]

1. Check: a short run (20 GD steps, log every step) per value of N in {4, 50}: the baseline
   (benchmarks/mamba_torch.py), started from theorylab's init and training prompts, gives the
   same training loss at every step.
2. Time: theorylab runs the whole cpu preset (6 values of N x 10 seeds x 3000 steps, attention
   baselines and every observable included). The baseline would take hours (a Python loop
   over 51 tokens per step, for 3000 steps, for each of the 60 runs), so it is timed on a
   sample and extrapolated linearly (the work per step is fixed, there is no early stop):
   per N, ``--sample-steps`` GD steps of one run and its test loss on 5000 of the 40,000 test
   prompts, scaled to 3000 steps, 40,000 test prompts and 10 seeds. A and B alternate.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np

from benchmarks import common
from benchmarks.mamba_torch import train_run
from theorylab.data import icl
from theorylab.engine.trainer import split_run_key
from theorylab.papers import mamba_icl

EXP = mamba_icl.CONTEXT


TEST_SAMPLE = 5000  # test prompts the baseline is timed on (scaled to n_test)


def raw_prompts(run, n: int, which: str):
    """The raw (tokens, y_q) of a run's first n training or test prompts, drawn as theorylab's
    setup draws them (papers/mamba_icl.py ``setup``: key -> (init, data); one draw of
    n_train + n_test + n_probe prompts, sliced in that order). If that module changes how it
    draws, ``check`` fails loudly rather than time a baseline on other data."""
    cfg = run.cfg
    _, k_data = jax.random.split(split_run_key(run.key)[0])
    allp = mamba_icl._prompts(k_data, cfg.n_train + cfg.n_test + cfg.n_probe, cfg)
    start = 0 if which == "train" else cfg.n_train
    stop = start + min(n, cfg.n_train if which == "train" else cfg.n_test)
    b = icl.take(allp, start, stop)
    return np.asarray(icl.tokens(b)), np.asarray(icl.query_target(b))


def _run_arrays(sweep):
    """[(run, s6 params, frozen)] of every real run, from theorylab's own setup."""
    out = []
    for ch in sweep.chunks:
        params, data = common.setup_arrays(sweep.problem, ch)
        for i, run in enumerate(ch.runs):
            p = {k: v[i] for k, v in params["s6"].items()}
            frozen = {k: data[k][i] for k in ("w_delta", "b_delta", "a")}
            out.append((run, p, frozen))
    return out


def check(steps: int = 20) -> dict:
    """Per-step training losses of theorylab and the baseline from the same init and prompts."""
    sets = dict(steps=steps, log_every=1, baselines=False, n_test=1000, n_probe=100)
    res = common.resolved_of(EXP, "cpu", sets=sets, cells=(dict(N=4), dict(N=50)), seeds=1)
    sweep = common.compile_sweep(EXP, res)
    results = sweep.run()
    worst = 0.0
    for (run, p, frozen), r in zip(_run_arrays(sweep), results):
        tok, y = raw_prompts(run, run.cfg.n_train, "train")
        base = train_run(p, frozen, tok, y, run.cfg.lr, steps)["losses"]
        ours = r.obs["train_loss"][:steps, 0]
        rel = np.abs(np.array(base) - ours) / np.abs(ours)
        worst = max(worst, float(rel.max()))
        if not rel.max() < 1e-3:
            raise SystemExit(f"mamba baseline disagrees at N={run.cfg.N}: {list(zip(ours, base))[:5]}")
        if not ours[-1] < 0.5 * ours[0]:
            raise SystemExit("the check run did not train: the comparison would be vacuous")
    return dict(runs=len(results), steps=steps, max_rel_loss_diff=worst)


def bench(reps: int = 3, sample_steps: int = 3) -> dict:
    agree = check()
    res = common.resolved_of(EXP, "cpu")
    t0 = time.perf_counter()
    sweep = common.compile_sweep(EXP, res)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sweep.run()
    first_s = time.perf_counter() - t0
    runs = _run_arrays(sweep)
    one_per_n = {}
    for run, p, frozen in runs:
        one_per_n.setdefault(run.cfg.N, (run, p, frozen))
    seeds = {n: sum(r.cfg.N == n for r, _, _ in runs) for n in one_per_n}
    data = {n: (raw_prompts(r, r.cfg.n_train, "train"), raw_prompts(r, TEST_SAMPLE, "test"))
            for n, (r, _, _) in one_per_n.items()}
    sample_log = []

    def baseline_sample():
        """Extrapolated seconds of the whole grid from one sampled run per N."""
        total = 0.0
        for n, (run, p, frozen) in one_per_n.items():
            (tok, y), (ttok, ty) = data[n]
            t0 = time.perf_counter()
            train_run(p, frozen, tok, y, run.cfg.lr, sample_steps)
            t_steps = time.perf_counter() - t0
            t0 = time.perf_counter()
            train_run(p, frozen, tok, y, run.cfg.lr, 0, ttok, ty)
            t_test = time.perf_counter() - t0
            per_run = t_steps * run.cfg.steps / sample_steps + t_test * run.cfg.n_test / len(ttok)
            total += per_run * seeds[n]
        sample_log.append(total)
        return total

    n0 = next(iter(one_per_n))
    threads = common.pick_torch_threads(lambda: train_run(*one_per_n[n0][1:], *data[n0][0], 1e-4, 1))
    times, extrap = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        sweep.run()
        times.append(time.perf_counter() - t0)
        extrap.append(baseline_sample())
    ratios = [b / a for a, b in zip(times, extrap)]
    med = lambda xs: float(np.median(xs))  # noqa: E731
    return dict(name="mamba-icl/context-length cpu", runs=len(runs), baseline_s=med(extrap), baseline_times_s=extrap,
                baseline_extrapolated=True, torch_threads=threads, reps=reps, sample_steps=sample_steps,
                check=agree,
                arms={"theorylab": dict(median_s=med(times), times_s=times, ratio=med(ratios), compile_s=compile_s,
                                        programs=sweep.programs, chunks=len(sweep.chunks), first_run_s=first_s,
                                        agreement=dict(runs=agree["runs"], same_stop_step=agree["runs"],
                                                       max_rel_loss_diff=agree["max_rel_loss_diff"]))},
                note=(f"baseline extrapolated from {sample_steps} GD steps of one run per N and its test loss on "
                      f"{TEST_SAMPLE} prompts (linear in steps, prompts and seeds: no early stop); "
                      f"checked equal to theorylab step by step over {agree['steps']} steps at N = 4 and 50 "
                      f"(max relative train-loss difference {agree['max_rel_loss_diff']:.1e}). theorylab also "
                      "trains the two attention baselines and computes every observable; the baseline does not."))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sample-steps", type=int, default=3)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    r = bench(args.reps, args.sample_steps)
    print(json.dumps(r, indent=1, default=float))
    if args.out:
        with open(args.out, "w") as f:
            json.dump([r], f, indent=1, default=float)


if __name__ == "__main__":
    main()
