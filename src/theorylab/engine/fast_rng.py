"""Unrolled threefry on CPU: the same random bits as JAX's default CPU lowering, 3-4x faster.

JAX lowers its threefry2x32 hash (behind every ``jax.random`` draw) on CPU as a *rolled*
loop: 5 iterations of 4 rounds whose rotation amounts are loop-carried arrays. That keeps
programs small but runs at ~11.7 ns per float32 normal on this project's 2-core machine, so
drawing the data of a sweep (vit-benign/phase cpu: ~1.7e8 normals) cost more than training it.
On GPUs JAX uses the *unrolled* form of the same hash (20 rounds with constant rotations,
``use_rolled_loops=False`` in jax/_src/random/threefry2x32.py), which XLA CPU vectorises:
~3.1 ns per normal. Both forms compute Threefry-2x32 with 20 rounds on the same counters, so the
bits are identical (tests/test_fast_rng.py checks it against the rolled form); only speed and
the size of the compiled program change.

``install()`` registers that unrolled lowering for the CPU platform. Importing theorylab does
*not* call it: the runner does, explicitly, before it compiles a chunk (sweep/runner.py), and
from then on every CPU program of the process draws faster (the same bits). It touches a
private JAX module, so it is guarded twice: it acts only under the pinned JAX version
(``PINNED_JAX``), and only if the module layout is the expected one; otherwise it does nothing
and JAX's default lowering stays in place (draws are then slower, never different).
"""

from __future__ import annotations

import jax

PINNED_JAX = "0.10.2"  # the version whose private lowering rule this was checked against
_installed = False


def install() -> bool:
    """Use the unrolled threefry lowering on CPU; True if it is (now) in place."""
    global _installed
    if _installed:
        return True
    if jax.__version__ != PINNED_JAX:
        return False
    try:
        from jax._src.interpreters import mlir
        from jax._src.random import threefry2x32 as tf

        rule = tf._threefry2x32_lowering_rule  # the unrolled, out-of-line lowering
        prim = tf.threefry2x32_p
    except (ImportError, AttributeError):
        return False
    mlir.register_lowering(prim, rule, platform="cpu")
    _installed = True
    return True
