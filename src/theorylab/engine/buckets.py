"""Shape buckets: one compiled program for many values of a static size.

A Config field declared ``param(..., static=True, bucket=p)`` (a sample count N, a number of
training samples n, ...) would otherwise compile one program per value. The engine instead
pads runs of nearby sizes to a common *bucket* size B >= N: the program is compiled for B,
and each run carries its true size as a traced value. The Problem draws and builds its arrays
at size B and masks the entries beyond the true size (``size_mask``), so that they contribute
exactly nothing: no loss, no gradient, no observable, no early-stop test.

    true_size(cfg, "N")   the run's N: a traced int inside a bucketed program, else cfg.N
    size_mask(cfg, "N")   bool [cfg.N]: True for the run's own entries (all True unbucketed)

Inside a bucketed program ``cfg.N`` is the bucket size B (a Python int, usable as a shape).
Data drawn along the *leading* axis with ``jax.random`` is prefix-stable (JAX's partitionable
threefry: the first N rows of a draw of B rows equal a draw of N rows), so a padded run sees
the same samples as the same run compiled at its own size.

An observable whose last axis runs over a bucketed size (a value per sample or per context
position) has the bucket's length inside the program; the Problem names it in
``Problem.padded_axes`` (``PaddedAxis``) and the engine keeps only the run's own entries when it
stores the run, so stored results never depend on which bucket a run was padded into.

Which sizes share a bucket (``choose``): the distinct values of a group (all other static
fields equal) are cut into contiguous ranges, each padded to its largest value. Padding costs
work: with a run's work ~ size^p, the padded total over the exact total is the *waste*. The
choice takes the fewest buckets whose waste stays within ``max_waste`` (then the least waste
among those), trading compile time (one program per bucket) against padded FLOPs.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, NamedTuple

import jax.numpy as jnp

TRUE_PREFIX = "_true_"
PADS = ("end", "start")
MAX_WASTE = 0.35  # default bound on padded / exact work - 1 per group


def true_size(cfg, name: str):
    """The run's own value of the size ``name`` (traced in a bucketed program, else cfg.<name>)."""
    value = getattr(cfg, TRUE_PREFIX + name, None)
    return getattr(cfg, name) if value is None else value


def size_mask(cfg, name: str) -> jnp.ndarray:
    """bool [cfg.<name>]: True for the run's own entries, False for bucket padding."""
    return jnp.arange(getattr(cfg, name)) < true_size(cfg, name)


class PaddedAxis(NamedTuple):
    """The last axis of ``observable`` runs over the bucketed size ``size``: its length is the
    size plus a constant (N positions, or N + 1 with the query), and ``pad`` says where a padded
    run's extra entries sit: "end" (its own entries first: padded samples) or "start" (its own
    entries last: a sequence left-padded so that its last token stays last)."""

    observable: str
    size: str
    pad: str = "end"


def own_entries(arr, axis: PaddedAxis, bucket: int, own: int):
    """The run's own entries of ``arr`` (last axis of length bucket + c): length own + c."""
    if axis.pad not in PADS:
        raise ValueError(f"PaddedAxis.pad must be one of {', '.join(PADS)}, got {axis.pad!r}")
    extra = bucket - own
    if extra == 0:
        return arr
    return arr[..., extra:] if axis.pad == "start" else arr[..., :arr.shape[-1] - extra]


@functools.lru_cache(maxsize=None)
def sized_class(cls, names: tuple[str, ...]):
    """A subclass of the Config class with one traced field ``_true_<name>`` per bucketed size."""
    extra = [(TRUE_PREFIX + n, Any, dataclasses.field(default=None, metadata={"doc": f"true {n} (bucketed)"}))
             for n in names]
    return dataclasses.make_dataclass(cls.__name__, extra, bases=(cls,), frozen=True)


def bucket_config(cfg, buckets: dict[str, int]):
    """The static config of a bucketed program: sizes set to their buckets, true sizes as fields."""
    cls = sized_class(type(cfg), tuple(sorted(buckets)))
    values = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(type(cfg))}
    values.update(buckets)
    values.update({TRUE_PREFIX + n: b for n, b in buckets.items()})
    return cls(**values)


def run_value(cfg, name: str):
    """A run's value of a (possibly ``_true_``) field, read from its plain config."""
    return getattr(cfg, name[len(TRUE_PREFIX):] if name.startswith(TRUE_PREFIX) else name)


def choose(counts: dict[int, int], exponent: float, max_waste: float = MAX_WASTE) -> dict[int, int]:
    """value -> bucket for the sizes ``counts`` (value -> runs), contiguous ranges padded to
    their largest value: the fewest buckets with padded / exact work <= 1 + max_waste, then
    the least padded work among those. Work of a run of size v: v^exponent."""
    vals = sorted(counts)
    k = len(vals)
    if k <= 1:
        return {v: v for v in vals}
    work = [counts[v] * v**exponent for v in vals]
    budget = (1 + max_waste) * sum(work)
    # best[j][m]: least padded work covering vals[:j] with m buckets
    inf = math.inf
    best = [[inf] * (k + 1) for _ in range(k + 1)]
    cut = [[0] * (k + 1) for _ in range(k + 1)]
    best[0][0] = 0.0
    for j in range(1, k + 1):
        for m in range(1, j + 1):
            for i in range(m - 1, j):  # last bucket holds vals[i:j], padded to vals[j-1]
                cost = best[i][m - 1] + sum(counts[v] for v in vals[i:j]) * vals[j - 1] ** exponent
                if cost < best[j][m]:
                    best[j][m], cut[j][m] = cost, i
    m = next(m for m in range(1, k + 1) if best[k][m] <= budget * (1 + 1e-12))
    out, j = {}, k
    while m:
        i = cut[j][m]
        for v in vals[i:j]:
            out[v] = vals[j - 1]
        j, m = i, m - 1
    return out


def waste(counts: dict[int, int], mapping: dict[int, int], exponent: float) -> float:
    """Padded work over exact work, minus one."""
    exact = sum(c * v**exponent for v, c in counts.items())
    padded = sum(c * mapping[v] ** exponent for v, c in counts.items())
    return padded / exact - 1.0
