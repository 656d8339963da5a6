"""Per-run PRNG keys derived from the run's identity, never from its position in a batch.

    key(run) = fold_in( threefry_key( blake2b(experiment, cell) ), seed )

``cell`` is the run's full resolved config (a dict). A run therefore draws the same data, the
same init and the same per-step noise whether it trains alone or inside any chunk.
"""

from __future__ import annotations

import hashlib
from typing import Any

import jax
import numpy as np

from theorylab.config import canonical_json


def identity_hash(experiment: str, cell: dict[str, Any]) -> str:
    return hashlib.blake2b(canonical_json([experiment, cell]).encode(), digest_size=16).hexdigest()


def run_key(experiment: str, cell: dict[str, Any], seed: int) -> np.ndarray:
    """A raw threefry key, uint32[2], for one run."""
    h = bytes.fromhex(identity_hash(experiment, cell))
    base = np.frombuffer(h[:8], dtype=np.uint32).copy()
    return np.asarray(jax.random.fold_in(base, seed))
