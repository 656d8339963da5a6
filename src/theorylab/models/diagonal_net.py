"""Diagonal linear networks f(x) = <v ⊙ v, x> ("Shape Matters: Understanding the Implicit Bias
of the Noise Covariance", HaoChen, Wei, Lee, Ma; arXiv:2006.08680, Sec. 4 / official script).

    params = v [d]            effective linear predictor w = v ⊙ v  [d]

Started at a large init v0 = alpha * 1, gradient descent interpolates with a dense w (kernel
regime); label noise drives w to the sparse interpolator.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def init(d: int, alpha) -> jax.Array:
    """[d]: v0 = alpha * 1 (alpha may be traced)."""
    return alpha * jnp.ones((d,))


def apply(v: jax.Array, x: jax.Array) -> jax.Array:
    """x [..., d] -> <v ⊙ v, x> [...]."""
    return x @ (v * v)


def predictor(v: jax.Array) -> jax.Array:
    """[d]: w = v ⊙ v."""
    return v * v
