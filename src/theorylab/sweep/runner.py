"""Execute a resolved sweep into a run directory through an executor, resumably.

The driver (``execute``) plans the chunks, keeps those already stored (a manifest entry that
vouches for an intact shard), reports and forgets corrupt ones, and hands the rest to an
executor (``sweep/executors.py``). Whoever trains a chunk also stores it (``run_chunk``): a
Ray task or a SLURM array task writes its shard and manifest entry into the shared run
directory itself, so a driver killed mid-sweep loses nothing that finished.

What a worker receives is a ``SweepJob``: plain data (the experiment's reference, resolved
config as JSON, run directory, float width, chunking knobs) plus ``lookup``, a top-level
function that maps the reference to ``(Config class, Problem)``. The run lifecycle passes
``theorylab.loader.lookup_problem``, which finds built-in experiments, files, modules and
plugins alike; pickled by reference, it is imported in the worker, so sweep/ never imports
papers/ and workers never unpickle closures.

Whoever trains (``run_chunk``) first switches on the fast threefry lowering
(``engine/fast_rng.py``) and, for an x64 job, JAX's float64 mode: both explicitly, in the
process that compiles, never at import.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Callable

import jax

from theorylab.config import canonical_json, dynamic_names
from theorylab.engine import fast_rng
from theorylab.engine.chunking import Chunk, plan
from theorylab.engine.trainer import Problem, compile_chunk
from theorylab.store import manifest, shards
from theorylab.sweep.grid import Resolved
from theorylab.sweep.progress import LogProgress

DEFAULT_MEMORY_BUDGET = 2 * 2**30  # bytes per chunk


@dataclasses.dataclass(frozen=True)
class SweepJob:
    """Everything a worker needs to rebuild the plan and train any of its chunks (picklable)."""

    experiment: str  # the experiment's reference (theorylab.loader): a name, file.py:NAME, module:NAME
    resolved: dict[str, Any]  # Resolved.to_json()
    run_dir: str  # absolute path, shared by driver and workers
    lookup: Callable[[str], tuple[type, Problem]]  # top-level function: reference -> (Config, Problem)
    memory_budget: int = DEFAULT_MEMORY_BUDGET
    max_chunk: int | None = None
    x64: bool = False  # train in float64 (init and data drawn in float64 too)
    buckets: bool = True  # pad bucketed sizes (param(bucket=...)) so that they share programs


_PLANS: dict[str, tuple[Problem, tuple[Chunk, ...]]] = {}


def job_plan(job: SweepJob) -> tuple[Problem, tuple[Chunk, ...]]:
    """(problem, chunks) of a job; cached per process, so a worker plans once for many chunks."""
    key = canonical_json([job.experiment, job.resolved, job.memory_budget, job.max_chunk, job.x64, job.buckets,
                          f"{job.lookup.__module__}.{job.lookup.__qualname__}"])
    if key not in _PLANS:
        cfg_cls, problem = job.lookup(job.experiment)
        resolved = Resolved.from_json(cfg_cls, job.resolved)
        if len(_PLANS) > 8:
            _PLANS.clear()
        _PLANS[key] = problem, tuple(plan(problem, resolved.runs(), job.memory_budget, job.max_chunk, job.buckets))
    return _PLANS[key]


def prepare_process(x64: bool) -> None:
    """What a process that trains needs switched on, explicitly: the fast threefry lowering
    (same bits) and, for an x64 job, JAX's float64 mode."""
    fast_rng.install()
    if x64 and not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)


def run_chunk(problem: Problem, chunk: Chunk, run_dir: Path) -> dict:
    """Compile (cached per static config and size), train and store one chunk; its stats."""
    fast_rng.install()
    cfg = chunk.static_cfg
    run_fn, c_s = compile_chunk(problem, cfg, dynamic_names(type(cfg)), chunk.size, cfg.steps,
                                cfg.log_every)
    res = run_fn(chunk.keys(), chunk.dyn())
    shards.write_chunk(run_dir, chunk, res)
    return dict(index=chunk.index, digest=chunk.digest, runs=len(chunk.runs), compile_s=c_s,
                train_s=res.run_s, batch_steps=res.executed_steps,
                run_steps=int(res.stop_step[: len(chunk.runs)].sum()), skipped=False)


def run_chunks(job: SweepJob, indices: list[int], digests: list[str]) -> list[dict]:
    """The body of a remote task: train and store the given chunks, skipping stored ones.

    ``digests`` are the driver's: a worker whose plan differs (another code version on a
    node) refuses to write rather than store results under the wrong identity.
    """
    prepare_process(job.x64)
    problem, chunks = job_plan(job)
    out = []
    for i, digest in zip(indices, digests):
        ch = chunks[i]
        if ch.digest != digest:
            raise RuntimeError(f"chunk {i}: worker planned digest {ch.digest}, driver {digest}; "
                               "is the same theorylab version installed on every node?")
        if shards.chunk_state(job.run_dir, ch)[0]:  # done before a requeue or a retry
            out.append(dict(index=i, digest=digest, runs=len(ch.runs), compile_s=0.0, train_s=0.0,
                            batch_steps=0, run_steps=0, skipped=True))
            continue
        out.append(run_chunk(problem, ch, Path(job.run_dir)))
    return out


def _tidy(run_dir: Path, chunks: tuple[Chunk, ...], progress) -> list[Chunk]:
    """Forget what does not belong to this plan or is damaged; return the chunks still to do."""
    wanted = {ch.digest: ch for ch in chunks}
    entries = manifest.load(run_dir)
    for digest, entry in list(entries.items()):
        if digest not in wanted:  # another chunking of the same config (e.g. --max-chunk changed)
            progress.note(f"dropping shard {entry['shard']}: not a chunk of this plan")
            manifest.forget(run_dir, digest)
            (run_dir / shards.RUNS_DIR / entry["shard"]).unlink(missing_ok=True)
            del entries[digest]
    keep = {shards.shard_name(ch) for ch in chunks if ch.digest in entries}
    for p in (run_dir / shards.RUNS_DIR).iterdir():
        if p.name not in keep:  # leftovers of a kill: *.tmp, or a shard whose entry never landed
            p.unlink()
    for p in (run_dir / manifest.MANIFEST_DIR).glob("*.tmp"):
        p.unlink()
    todo = []
    for ch in chunks:
        done, problem = shards.chunk_state(run_dir, ch, entries)
        if problem:
            progress.note(f"recomputing chunk {ch.index}: {problem}")
            manifest.forget(run_dir, ch.digest)
            (run_dir / shards.RUNS_DIR / shards.shard_name(ch)).unlink(missing_ok=True)
        if not done:
            todo.append(ch)
    return todo


def execute(job: SweepJob, executor, progress=None) -> dict:
    """Train every run of the job not yet stored through ``executor`` (sweep/executors.py);
    return timing of this call.

    timing: wall_s, compile_s and train_s (summed over workers), runs, chunks, chunks_skipped
    (already stored), batch_steps (loop iterations, each batched over a chunk) and run_steps.
    """
    progress = progress or LogProgress()
    prepare_process(job.x64)
    run_dir = Path(job.run_dir)
    (run_dir / shards.RUNS_DIR).mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    problem, chunks = job_plan(job)
    manifest.drop_index(run_dir)  # the directory is changing: it is complete again only at the end
    todo = _tidy(run_dir, chunks, progress)
    n_runs = sum(len(ch.runs) for ch in chunks)
    timing = dict(wall_s=0.0, compile_s=0.0, train_s=0.0, runs=n_runs, chunks=len(chunks),
                  chunks_skipped=len(chunks) - len(todo), batch_steps=0, run_steps=0,
                  executor=executor.name)

    def on_done(st: dict) -> None:
        for k in ("compile_s", "train_s", "batch_steps", "run_steps"):
            timing[k] += st[k]
        progress.chunk_done(st)

    progress.start(len(chunks), n_runs, len(chunks) - len(todo), n_runs - sum(len(c.runs) for c in todo))
    try:
        if todo:
            executor.run(job, problem, todo, on_done)
    finally:
        progress.close()
    entries = manifest.load(run_dir)
    missing = [ch.index for ch in chunks if not shards.chunk_state(run_dir, ch, entries)[0]]
    if missing:
        raise shards.StoreError(f"{len(missing)} chunks were not stored (first: {missing[0]}); "
                                "rerun the same command to finish them")
    manifest.write_index(run_dir, {ch.digest: entries[ch.digest] for ch in chunks})
    timing["wall_s"] = time.perf_counter() - t_start
    return timing
