"""Shared pieces of the benchmarks: machine facts, the GEMM rate, A/B timing, engine drivers.

Timing protocol (issue 5): theorylab and the paper-style baseline run the same grid on the
same machine, alternating A, B, A, B, ... for ``reps`` repetitions; we report each side's
median and the median of the per-repetition ratios. theorylab's compile time is measured once
(the first, cold call) and reported separately; its timed repetitions reuse the compiled
programs, as a sweep over dynamic fields does.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import subprocess
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from theorylab.config import dynamic_names
from theorylab.engine.chunking import plan
from theorylab.engine.trainer import compile_chunk, split_run_key
from theorylab.sweep.grid import resolve


def machine() -> dict[str, Any]:
    """CPU model, core count, load and library versions, for the report header."""
    cpu = platform.processor() or "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = dict(cpu=cpu, cores=os.cpu_count(), python=platform.python_version(), jax=jax.__version__,
                numpy=np.__version__, load_avg=os.getloadavg()[0])
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        info["torch"] = "not installed"
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                        text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        info["commit"] = "?"
    return info


def gemm_rate(n: int = 2048, reps: int = 7) -> dict[str, float]:
    """Measured fp32 GEMM rate of this machine: a square n x n jnp.dot, median of ``reps``.

    FLOPs of one n x n x n product: 2 n^3 (one multiply and one add per term).
    """
    ka, kb = jax.random.split(jax.random.PRNGKey(0))
    a = jax.random.normal(ka, (n, n), jnp.float32)  # [n, n]
    b = jax.random.normal(kb, (n, n), jnp.float32)  # [n, n]
    dot = jax.jit(jnp.dot)
    jax.block_until_ready(dot(a, b))  # compile and warm up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        jax.block_until_ready(dot(a, b))
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return dict(n=n, reps=reps, median_s=med, gflops=2 * n**3 / med / 1e9,
                best_gflops=2 * n**3 / min(times) / 1e9)


def alternate(fns: dict[str, Callable[[], Any]], reps: int = 3, reference: str = "baseline") -> dict[str, Any]:
    """Run the arms in turn (A, B, C, A, B, C, ...) ``reps`` times.

    Returns per arm its times, their median and ``ratio``: the median over repetitions of
    time(reference) / time(arm) within the same repetition (how many times faster it is).
    """
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    out = {}
    for name, ts in times.items():
        ratios = [r / t for r, t in zip(times[reference], ts)]
        out[name] = dict(times_s=ts, median_s=statistics.median(ts), ratio=statistics.median(ratios), ratios=ratios)
    return out


def pick_torch_threads(run: Callable[[], Any], choices=(1, 2)) -> dict[str, Any]:
    """Give the baseline its best thread count: time ``run`` under each choice, keep the faster.

    On a shared 2-core machine two OpenMP threads can be slower than one for small matrices;
    picking the faster setting keeps the ratio conservative.
    """
    import torch

    times = {}
    for n in choices:
        torch.set_num_threads(n)
        run()  # warm-up
        t0 = time.perf_counter()
        run()
        times[n] = time.perf_counter() - t0
    best = min(times, key=times.get)
    torch.set_num_threads(best)
    return dict(threads=best, calibration_s={str(k): v for k, v in times.items()})


# ---------------------------------------------------------------------------------------
# theorylab driven the way the sweep runner drives it (plan -> compile per static shape -> run)


@dataclasses.dataclass
class Sweep:
    """A resolved grid planned into chunks, with its programs compiled once."""

    problem: Any
    chunks: list
    fns: list  # one run_fn per chunk
    compile_s: float
    programs: int

    workers: int = 2  # chunks side by side, as `theorylab run`'s local executor does

    def run(self) -> list:
        """Train every chunk, ``workers`` at a time in threads; ChunkResults in chunk order
        (padding runs included)."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(lambda i: self.fns[i](self.chunks[i].keys(), self.chunks[i].dyn()),
                                 range(len(self.chunks))))


def resolved_of(exp, preset: str, sets: dict | None = None, cells: tuple | None = None, seeds: int | None = None):
    p = exp.presets[preset]
    return resolve(exp.name, preset, exp.config, p.base, cells if cells is not None else p.cells,
                   seeds if seeds is not None else p.seeds, sets or {})


def compile_sweep(exp, resolved, memory_budget: int = 2 * 2**30, max_chunk: int | None = None) -> Sweep:
    problem = exp.problem
    chunks = plan(problem, resolved.runs(), memory_budget, max_chunk)
    fns, total, programs = [], 0.0, 0
    for ch in chunks:
        cfg = ch.static_cfg
        fn, c_s = compile_chunk(problem, cfg, dynamic_names(type(cfg)), ch.size, cfg.steps, cfg.log_every)
        fns.append(fn)
        total += c_s
        programs += c_s > 0
    return Sweep(problem, chunks, fns, total, programs)


def setup_arrays(problem, chunk) -> tuple[Any, Any]:
    """The (params, data) the engine starts each run of ``chunk`` from, as numpy pytrees [R, ...].

    Same keys and the same split as the engine (``split_run_key``), so a baseline fed these
    arrays trains exactly the runs theorylab trains.
    """
    static_cfg = chunk.static_cfg

    @jax.jit
    def one(key, dyn):
        cfg = dataclasses.replace(static_cfg, **dyn)
        return problem.setup(split_run_key(key)[0], cfg)

    out = jax.vmap(one)(chunk.keys(), {k: jnp.asarray(v) for k, v in chunk.dyn().items()})
    return jax.tree_util.tree_map(np.asarray, out)
