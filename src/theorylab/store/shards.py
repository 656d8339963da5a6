"""Long-format result shards, one Parquet file per chunk, written atomically.

Row = (run, log point). Columns: run_id, cell, seed, every config field, step, stop_step,
stop_reason, and one column per observable (scalars as float64, arrays as flat lists).

A shard is written to ``<name>.tmp``, fsynced and renamed into place, then vouched for by a
manifest entry (``store/manifest.py``: digest, size, SHA-256, rows). Only vouched-for and
intact shards are ever read; a chunk counts as finished only then.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from theorylab.config import ConfigError, to_dict
from theorylab.engine import buckets
from theorylab.stop_reasons import name_of
from theorylab.store import manifest

RUNS_DIR = "runs"


class StoreError(ConfigError):
    """A run directory whose stored results cannot be trusted (one line, names the shard)."""


def chunk_table(chunk, result) -> pa.Table:
    """Turn a ChunkResult (padded runs dropped) into the long-format table."""
    n_real = len(chunk.runs)
    n_log = len(result.log_steps)
    cols: dict[str, Any] = {
        "run_id": np.repeat([r.run_id for r in chunk.runs], n_log),
        "cell": np.repeat([r.cell for r in chunk.runs], n_log),
        "seed": np.repeat([r.seed for r in chunk.runs], n_log).astype(np.int64),
    }
    for name in to_dict(chunk.runs[0].cfg):
        cols[name] = np.repeat([getattr(r.cfg, name) for r in chunk.runs], n_log)
    cols["step"] = np.tile(result.log_steps, n_real).astype(np.int64)
    cols["stop_step"] = np.repeat(result.stop_step[:n_real], n_log).astype(np.int64)
    cols["stop_reason"] = np.repeat([name_of(v) for v in result.stop_reason[:n_real]], n_log)
    padded = {a.observable: a for a in result.padded_axes}
    for name, arr in result.obs.items():
        arr = np.asarray(arr)[:, :n_real]  # [n_log, R, ...]
        arr = np.swapaxes(arr, 0, 1).astype(np.float64)  # [R, n_log, ...]
        if arr.ndim == 2:
            cols[name] = arr.reshape(-1)
            continue
        if name in padded:  # a bucketed run keeps only its own entries of the padded axis
            ax = padded[name]
            bucket = getattr(chunk.static_cfg, ax.size)
            runs = [buckets.own_entries(a, ax, bucket, getattr(r.cfg, ax.size)) for a, r in zip(arr, chunk.runs)]
        else:
            runs = list(arr)
        # array-valued observable: one flat list per row
        flat = [row.reshape(-1) for a in runs for row in a]
        cols[name] = pa.array(flat, type=pa.list_(pa.float64()))
    return pa.table(cols)


def write_atomic(path: Path, table: pa.Table) -> None:
    """Write to a temporary file of this writer's own (two tasks retrying the same chunk never
    share one), fsync it, rename it over ``path``: readers see no shard or a whole one."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    pq.write_table(table, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def shard_name(chunk) -> str:
    return f"chunk-{chunk.index:05d}-{chunk.digest}.parquet"


def write_chunk(run_dir: Path, chunk, result) -> dict:
    """Store one finished chunk: its shard (atomically), then its manifest entry."""
    path = Path(run_dir) / RUNS_DIR / shard_name(chunk)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = chunk_table(chunk, result)
    write_atomic(path, table)
    return manifest.record(run_dir, chunk.digest, path, chunk.index, table.num_rows,
                           [r.run_id for r in chunk.runs])


def chunk_state(run_dir: Path, chunk, entries: dict[str, dict] | None = None) -> tuple[bool, str | None]:
    """(finished, problem): finished iff a manifest entry for this digest vouches for an
    intact shard with this chunk's name; ``problem`` says why an existing entry does not."""
    entries = manifest.load(run_dir) if entries is None else entries
    entry = entries.get(chunk.digest)
    if entry is None:
        return False, None
    if entry["shard"] != shard_name(chunk):
        return False, f"manifest entry {chunk.digest} names shard {entry['shard']}, expected {shard_name(chunk)}"
    problem = manifest.check(run_dir, entry, RUNS_DIR)
    return problem is None, problem


def verified_shards(run_dir: Path) -> list[Path]:
    """Paths of every vouched-for shard, each checked whole; StoreError on the first bad one."""
    run_dir = Path(run_dir)
    entries = manifest.load(run_dir)
    if not entries:
        raise StoreError(f"no finished chunks in {run_dir} (no manifest entries)")
    seen: dict[str, str] = {}
    paths = []
    for entry in sorted(entries.values(), key=lambda e: e["index"]):
        problem = manifest.check(run_dir, entry, RUNS_DIR)
        if problem:
            raise StoreError(f"{run_dir}: {problem}; rerun the same command to recompute it")
        for rid in entry["run_ids"]:
            if rid in seen:
                raise StoreError(f"{run_dir}: run {rid} is stored in both {seen[rid]} and {entry['shard']}")
            seen[rid] = entry["shard"]
        paths.append(run_dir / RUNS_DIR / entry["shard"])
    return paths


def read_table(run_dir: Path) -> pa.Table:
    """Every verified shard of a run directory as one Arrow table (shards in chunk order)."""
    return pa.concat_tables([pq.read_table(p) for p in verified_shards(run_dir)], promote_options="default")


def read_runs(run_dir: Path) -> pd.DataFrame:
    """All verified shards of a run directory as one long-format DataFrame."""
    return read_table(run_dir).to_pandas()


def final_rows(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: its last log point (a stopped run's frozen final state)."""
    return df.sort_values("step").groupby("run_id", sort=False).tail(1).reset_index(drop=True)
