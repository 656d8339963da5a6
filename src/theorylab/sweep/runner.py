"""Execute a resolved sweep into a run directory, chunk after chunk (the local executor).

Finished chunks are skipped on a rerun: a chunk is finished when its shard is listed in the
manifest under the same digest and reads back with the expected number of rows.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

from theorylab.config import dynamic_names
from theorylab.engine.chunking import plan
from theorylab.engine.trainer import compile_chunk
from theorylab.store import shards

DEFAULT_MEMORY_BUDGET = 2 * 2**30  # bytes per chunk


def execute(problem, resolved, run_dir: Path, *, memory_budget: int = DEFAULT_MEMORY_BUDGET,
            max_chunk: int | None = None, log: Callable[[str], None] | None = None) -> dict:
    """Train every run of ``resolved``; return timing (wall, compile, runs, steps, chunks)."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    run_dir = Path(run_dir)
    (run_dir / shards.RUNS_DIR).mkdir(parents=True, exist_ok=True)
    runs = resolved.runs()
    chunks = plan(problem, runs, memory_budget, max_chunk)
    manifest = shards.load_manifest(run_dir)
    timing = dict(wall_s=0.0, compile_s=0.0, train_s=0.0, runs=len(runs), chunks=len(chunks),
                  chunks_skipped=0, batch_steps=0, run_steps=0)
    t_start = time.perf_counter()
    for ch in chunks:
        name = shards.shard_name(ch)
        path = run_dir / shards.RUNS_DIR / name
        cfg = ch.static_cfg
        n_log = cfg.steps // cfg.log_every + 1
        if manifest.get(name) == ch.digest and shards.shard_ok(path, len(ch.runs) * n_log):
            timing["chunks_skipped"] += 1
            continue
        run_fn, c_s = compile_chunk(problem, cfg, dynamic_names(type(cfg)), ch.size, cfg.steps,
                                    cfg.log_every, cache_key=ch.static_key)
        res = run_fn(ch.keys(), ch.dyn())
        shards.write_atomic(path, shards.chunk_table(ch, res))
        manifest[name] = ch.digest
        shards.save_manifest(run_dir, manifest)
        timing["compile_s"] += c_s
        timing["train_s"] += res.run_s
        timing["batch_steps"] += res.executed_steps
        timing["run_steps"] += int(res.stop_step[: len(ch.runs)].sum())
        log(f"chunk {ch.index + 1}/{len(chunks)}: {len(ch.runs)} runs, {res.executed_steps} steps, "
            f"compile {c_s:.1f}s, train {res.run_s:.1f}s")
    timing["wall_s"] = time.perf_counter() - t_start
    return timing
