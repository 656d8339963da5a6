"""The unrolled threefry lowering (engine/fast_rng.py) gives JAX's bits exactly."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax._src.random import threefry2x32 as tf

from theorylab.engine import fast_rng


def test_unrolled_threefry_is_installed_and_bit_identical_to_the_rolled_loop():
    assert fast_rng.install()
    k1, k2 = jnp.uint32(0x12345678), jnp.uint32(0x9ABCDEF0)
    x1 = jnp.arange(10_000, dtype=jnp.uint32)
    x2 = x1 * jnp.uint32(2654435761)
    rolled = jax.jit(lambda *a: tf._threefry2x32_lowering(*a, use_rolled_loops=True))(k1, k2, x1, x2)
    prim = jax.jit(lambda *a: tf.threefry2x32_p.bind(*a))(k1, k2, x1, x2)  # the registered lowering
    for a, b in zip(rolled, prim):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert len(np.unique(np.asarray(prim[0]))) > 9_990  # real hash output, not a constant
    # Threefry-2x32 (20 rounds) known-answer vector (Random123 kat_vectors): key = counter = 0
    z = jnp.zeros((1,), jnp.uint32)
    out = jax.jit(lambda *a: tf.threefry2x32_p.bind(*a))(jnp.uint32(0), jnp.uint32(0), z, z)
    assert [int(out[0][0]), int(out[1][0])] == [0x6B200159, 0x99BA4EFE]


def test_random_draws_equal_those_of_plain_jax():
    """jax.random.normal / uniform in a process without theorylab (JAX's rolled CPU lowering)
    equal the draws here, with the unrolled lowering installed, bit for bit."""
    code = ("import jax, numpy as np, sys; k = jax.random.PRNGKey(7); "
            "a = np.concatenate([np.asarray(jax.random.normal(k, (3, 4097))).ravel(), "
            "np.asarray(jax.random.uniform(jax.random.fold_in(k, 1), (999,)))]); "
            "sys.stdout.write(a.tobytes().hex())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    theirs = np.frombuffer(bytes.fromhex(out), np.float32)
    k = jax.random.PRNGKey(7)
    ours = np.concatenate([np.asarray(jax.random.normal(k, (3, 4097))).ravel(),
                           np.asarray(jax.random.uniform(jax.random.fold_in(k, 1), (999,)))])
    np.testing.assert_array_equal(ours, theirs)
