"""Runs -> chunks: group by static config, cap each chunk by a memory budget, pad to one size.

A group of runs that share every static field compiles into one program. It is split into
chunks of at most ``cap`` runs, where cap = memory_budget // (estimated bytes per run); the
last chunk is padded with copies of its last run (their results are dropped) so that every
chunk of a group has the same size and the group compiles once.

Runs that stop early (a problem whose ``stop_below`` is positive) get chunks of at most
``EARLY_STOP_CHUNK`` runs: a chunk steps until its slowest run stops, so it costs
size x max(stop step) run-steps for sum(stop steps) needed. Neighbouring runs of a grid
(seeds of one cell, then the next value of the innermost axis) stop at similar steps, so small
chunks of neighbours waste little: on vit-benign/phase cpu, chunks of 56 computed 1.8x the
needed run-steps and chunks of 8 1.2x, and trained the preset 1.6x faster (BENCHMARKS.md).
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import math
from typing import Any

import jax
import numpy as np

from theorylab.config import bucketed_names, canonical_json, dynamic_names, static_names, to_dict
from theorylab.engine import buckets

# Working memory of a step relative to the run's state (params, data, optimizer state):
# gradients, optimizer temporaries and activations of a small model (a conservative factor).
STATE_TO_STEP_BYTES = 8
EARLY_STOP_CHUNK = 8  # runs per chunk when runs stop early (see the module docstring)


@dataclasses.dataclass(frozen=True)
class Run:
    run_id: str  # identity hash of (experiment, resolved config) + seed
    cell: str  # human label of the grid cell
    cfg: Any  # the resolved config
    seed: int
    key: np.ndarray  # uint32[2]


@dataclasses.dataclass(frozen=True)
class Chunk:
    index: int
    static_cfg: Any
    runs: tuple[Run, ...]
    size: int  # padded size (>= len(runs))

    @property
    def static_key(self) -> str:
        return canonical_json({n: getattr(self.static_cfg, n) for n in static_names(type(self.static_cfg))})

    @property
    def digest(self) -> str:
        """Hash of the resolved config of every run in the chunk: its identity in the store."""
        ident = [[r.run_id, to_dict(r.cfg), r.seed] for r in self.runs]
        return hashlib.blake2b(canonical_json(ident).encode(), digest_size=8).hexdigest()

    def keys(self) -> np.ndarray:
        ks = [r.key for r in self.runs]
        ks += [ks[-1]] * (self.size - len(ks))
        return np.stack(ks).astype(np.uint32)

    def dyn(self) -> dict[str, np.ndarray]:
        """name -> [size] values of every dynamic field (and, in a bucketed chunk, of every
        run's true size ``_true_<name>``), padding runs repeating the last run."""
        cls = type(self.static_cfg)
        cfgs = list(self.runs) + [self.runs[-1]] * (self.size - len(self.runs))
        return {n: np.array([buckets.run_value(r.cfg, n) for r in cfgs]) for n in dynamic_names(cls)}


def state_bytes(problem, cfg) -> int:
    """Bytes of one run's params + data, from shapes only (nothing is computed)."""
    shapes = jax.eval_shape(lambda key: problem.setup(key, cfg), jax.ShapeDtypeStruct((2,), np.uint32))
    return sum(math.prod(x.shape) * x.dtype.itemsize for x in jax.tree_util.tree_leaves(shapes))


def stops_early(problem, runs: list[Run]) -> bool:
    """Whether any run can stop before its step budget (a positive stop threshold)."""
    if problem.stop_below is None:
        return False
    return any(float(problem.stop_below(r.cfg) or 0.0) > 0.0 for r in runs)


def bucket_groups(runs: list[Run], max_waste: float = buckets.MAX_WASTE) -> list[tuple[Any, list[Run]]]:
    """(static config of the program, its runs), in first-seen order. Runs that differ only
    in bucketed sizes (``param(bucket=...)``) share a program padded to their bucket."""
    if not runs:
        return []
    sizes = bucketed_names(type(runs[0].cfg))
    outer: dict[str, list[Run]] = {}
    for r in runs:
        key = canonical_json({n: getattr(r.cfg, n) for n in static_names(type(r.cfg)) if n not in sizes})
        outer.setdefault(key, []).append(r)
    out = []
    for members in outer.values():
        if not sizes:
            out.append((members[0].cfg, members))
            continue
        maps = {}
        for n, p in sizes.items():
            counts = collections.Counter(getattr(r.cfg, n) for r in members)
            maps[n] = buckets.choose(dict(counts), p, max_waste)
        inner: dict[tuple, list[Run]] = {}
        for r in members:
            inner.setdefault(tuple(maps[n][getattr(r.cfg, n)] for n in sizes), []).append(r)
        for bucket, group in inner.items():
            out.append((buckets.bucket_config(group[0].cfg, dict(zip(sizes, bucket))), group))
    return out


def plan(problem, runs: list[Run], memory_budget: int, max_chunk: int | None = None,
         use_buckets: bool = True) -> list[Chunk]:
    """Group by static config (in first-seen order; bucketed sizes share programs unless
    ``use_buckets`` is off) and cut groups into equal-size chunks."""
    if use_buckets:
        groups = bucket_groups(runs)
    else:
        plain: dict[str, list[Run]] = {}
        for r in runs:
            plain.setdefault(canonical_json({n: getattr(r.cfg, n) for n in static_names(type(r.cfg))}), []).append(r)
        groups = [(m[0].cfg, m) for m in plain.values()]
    chunks: list[Chunk] = []
    for static_cfg, members in groups:
        per_run = STATE_TO_STEP_BYTES * state_bytes(problem, static_cfg)
        cap = max(1, memory_budget // max(per_run, 1))
        if max_chunk is not None:
            cap = min(cap, max_chunk)
        elif stops_early(problem, members):
            cap = min(cap, EARLY_STOP_CHUNK)
        n_chunks = math.ceil(len(members) / cap)
        size = math.ceil(len(members) / n_chunks)  # balanced: pad at most n_chunks - 1 runs
        for i in range(n_chunks):
            part = tuple(members[i * size:(i + 1) * size])
            chunks.append(Chunk(len(chunks), static_cfg, part, size))
    return chunks
