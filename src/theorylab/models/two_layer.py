"""Two-layer networks f(x) = (1/sqrt(N)) a^T sigma(W^T x) in the mean-field scaling.

Shapes: x [n, d], W [d, N] (column j is neuron j's weight), a [N]. The initialisation of
"High-dimensional Asymptotics of Feature Learning: How One Gradient Step Improves the
Representation" (Ba, Erdogdu, Suzuki, Wang, Wu, Yang; arXiv:2205.01445, Section 2):
sqrt(d) W_ij ~ N(0, 1), sqrt(N) a_j ~ N(0, 1). Any named activation of
``data.hermite_expansion``; the second layer may be trained or frozen (the caller decides which
leaves are params).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from theorylab.data.hermite_expansion import link


def init(key: jax.Array, d: int, width: int) -> tuple[jax.Array, jax.Array]:
    """(W [d, N], a [N]) with sqrt(d) W_ij ~ N(0, 1) and sqrt(N) a_j ~ N(0, 1)."""
    kw, ka = jax.random.split(key)
    return jax.random.normal(kw, (d, width)) / jnp.sqrt(d), jax.random.normal(ka, (width,)) / jnp.sqrt(width)


def features(w: jax.Array, x: jax.Array, act: str) -> jax.Array:
    """[n, N]: the random features sigma(x W) / sqrt(N) of inputs x [n, d]."""
    return link(act)(x @ w) / jnp.sqrt(w.shape[1])


def apply(w: jax.Array, a: jax.Array, x: jax.Array, act: str) -> jax.Array:
    """[n]: f(x_i) = (1/sqrt(N)) sum_j a_j sigma(<w_j, x_i>)."""
    return features(w, x, act) @ a


def half_mse(w: jax.Array, a: jax.Array, x: jax.Array, y: jax.Array, act: str) -> jax.Array:
    """(1/2n) sum_i (f(x_i) - y_i)^2: the full-batch squared loss (a frozen or not)."""
    return 0.5 * jnp.mean((apply(w, a, x, act) - y) ** 2)
