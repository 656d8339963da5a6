"""The manifest of a run directory: one small JSON entry per finished chunk.

    <run_dir>/manifest/<digest>.json = {"digest", "shard", "index", "rows", "bytes", "sha256", "run_ids",
                                        "host", "pid"}

An entry is keyed by the chunk's digest (a hash of the resolved config of every run in the
chunk, ``Chunk.digest``) and written atomically *after* its shard is in place, by whichever
process wrote the shard: the local loop, a Ray task or a SLURM array task. So there is no
shared file that concurrent workers update, and a worker killed at any instant leaves either
a complete (shard, entry) pair, or a shard without an entry (not trusted, recomputed), or
nothing.

When a sweep completes, the driver also writes ``manifest.json``: every entry of the plan in
one file, in chunk order. Its presence says "this directory holds the whole sweep"; it is
removed when a rerun starts and rewritten when that rerun completes. Readers trust the
entries, never the index alone.

An entry vouches for its shard only while the shard still has the recorded size and SHA-256
and reads back as Parquet with the recorded number of rows (``check``): a truncated or
overwritten shard is detected, never silently read.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import uuid
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

MANIFEST_DIR = "manifest"
INDEX = "manifest.json"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write to ``<path>.tmp``, fsync, rename: readers see the old file or the new one, whole."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def entry_path(run_dir: Path, digest: str) -> Path:
    return Path(run_dir) / MANIFEST_DIR / f"{digest}.json"


def record(run_dir: Path, digest: str, shard: Path, index: int, rows: int, run_ids: list[str]) -> dict:
    """Vouch for a shard that is already in place (call after its atomic rename)."""
    entry = dict(digest=digest, shard=shard.name, index=index, rows=rows,
                 bytes=shard.stat().st_size, sha256=sha256_of(shard), run_ids=list(run_ids),
                 host=socket.gethostname(), pid=os.getpid())  # who wrote it (a node, a task)
    (Path(run_dir) / MANIFEST_DIR).mkdir(parents=True, exist_ok=True)
    write_json_atomic(entry_path(run_dir, digest), entry)
    return entry


def load(run_dir: Path) -> dict[str, dict]:
    """digest -> entry, for every entry of the run directory (unreadable entries are skipped:
    an entry is written atomically, so a broken one was damaged from outside; its chunk is
    then simply not finished)."""
    out = {}
    d = Path(run_dir) / MANIFEST_DIR
    for p in sorted(d.glob("*.json")) if d.exists() else ():
        try:
            e = json.loads(p.read_text())
            out[e["digest"]] = e
        except (ValueError, KeyError, TypeError):
            continue
    return out


def check(run_dir: Path, entry: dict, shards_dir: str = "runs") -> str | None:
    """None if the entry's shard is intact, else why not (missing, truncated, corrupt)."""
    path = Path(run_dir) / shards_dir / entry["shard"]
    if not path.exists():
        return f"shard {entry['shard']} is missing"
    size = path.stat().st_size
    if size != entry["bytes"]:
        return f"shard {entry['shard']} has {size} bytes, the manifest recorded {entry['bytes']} (truncated?)"
    if sha256_of(path) != entry["sha256"]:
        return f"shard {entry['shard']} does not match its recorded SHA-256 (corrupt)"
    try:
        rows = pq.read_metadata(path).num_rows
    except Exception as e:  # noqa: BLE001  any Parquet failure means: not a valid shard
        return f"shard {entry['shard']} is not readable Parquet ({type(e).__name__})"
    if rows != entry["rows"]:
        return f"shard {entry['shard']} has {rows} rows, expected {entry['rows']}"
    return None


def forget(run_dir: Path, digest: str) -> None:
    entry_path(run_dir, digest).unlink(missing_ok=True)


def write_index(run_dir: Path, entries: dict[str, dict]) -> None:
    ordered = sorted(entries.values(), key=lambda e: e["index"])
    write_json_atomic(Path(run_dir) / INDEX, {"complete": True, "chunks": len(ordered), "entries": ordered})


def drop_index(run_dir: Path) -> None:
    (Path(run_dir) / INDEX).unlink(missing_ok=True)
