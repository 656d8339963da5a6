"""Long-format result shards, one Parquet file per chunk, written atomically.

Row = (run, log point). Columns: run_id, cell, seed, every config field, step, stop_step,
stop_reason, and one column per observable (scalars as float64, arrays as lists).

A shard is written to ``<name>.tmp`` and renamed into place, so a crash or a kill leaves
either a complete shard or none. ``manifest.json`` maps each shard to the digest of the
resolved configs of its runs; a rerun skips chunks whose shard is present, readable and
recorded under the same digest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from theorylab.config import to_dict
from theorylab.engine.trainer import StopReason

RUNS_DIR = "runs"
MANIFEST = "manifest.json"


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
    cols["stop_reason"] = np.repeat(
        [StopReason(int(v)).name.lower() for v in result.stop_reason[:n_real]], n_log
    )
    for name, arr in result.obs.items():
        arr = np.asarray(arr)[:, :n_real]  # [n_log, R, ...]
        arr = np.swapaxes(arr, 0, 1).reshape(n_real * n_log, *arr.shape[2:]).astype(np.float64)
        if arr.ndim == 1:
            cols[name] = arr
        else:  # array-valued observable: one flat list per row (shape in the schema metadata)
            cols[name] = pa.array(list(arr.reshape(len(arr), -1)), type=pa.list_(pa.float64()))
    return pa.table(cols)


def write_atomic(path: Path, table: pa.Table) -> None:
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def shard_name(chunk) -> str:
    return f"chunk-{chunk.index:05d}-{chunk.digest}.parquet"


def load_manifest(run_dir: Path) -> dict[str, Any]:
    p = Path(run_dir) / MANIFEST
    return json.loads(p.read_text()) if p.exists() else {}


def save_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    p = Path(run_dir) / MANIFEST
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(tmp, p)


def shard_ok(path: Path, expected_rows: int) -> bool:
    """A shard counts as finished only if it reads back whole with the rows it should have."""
    try:
        return path.exists() and pq.read_metadata(path).num_rows == expected_rows
    except Exception:  # truncated or corrupt file: not finished
        return False


def read_runs(run_dir: Path) -> pd.DataFrame:
    """All shards of a run directory as one long-format DataFrame."""
    files = sorted((Path(run_dir) / RUNS_DIR).glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no result shards in {Path(run_dir) / RUNS_DIR}")
    return pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)


def final_rows(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: its last log point (a stopped run's frozen final state)."""
    return df.sort_values("step").groupby("run_id", sort=False).tail(1).reset_index(drop=True)
