"""The two-layer ReLU readout of the Li / Wang one-layer sequence classifiers, its hinge loss
and magnitude pruning of its neurons.

    F(H) = (1/|S|) sum_{l in S} sum_{i<=m} a_i ReLU(v_i^T h_l)

H = (h_1 ... h_L) [L, d] the mixer's output tokens, S the kept tokens (a mask; all by
default), V = (v_i) [m, d] trained, a [m] fixed with a_i = +1/sqrt(m) for the first half and
-1/sqrt(m) for the rest ("A Theoretical Understanding of Shallow Vision Transformers",
arXiv:2302.06015, and the group's later papers).

Hinge loss l(z) = max(0, 1 - z) of the margin z = y F. Magnitude pruning zeroes a fraction R
of the rows of V (or of W_O), the smallest-norm first or the largest first
("How Do Nonlinear Transformers Learn and Generalize in In-Context Learning?", arXiv:2402.15607).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def readout_signs(m: int) -> jax.Array:
    """[m]: a_i = +1/sqrt(m) for i < m - m // 2, -1/sqrt(m) after (half each for even m)."""
    return jnp.where(jnp.arange(m) < m - m // 2, 1.0, -1.0) / jnp.sqrt(m)


def readout(v: jax.Array, a: jax.Array, h: jax.Array, keep: jax.Array | None = None) -> jax.Array:
    """F: v [m, d], a [m], h [..., L, d], keep [..., L] bool or None -> [...]."""
    per_token = jax.nn.relu(h @ v.T) @ a  # [..., L]
    if keep is None:
        return jnp.mean(per_token, axis=-1)
    w = keep.astype(per_token.dtype)
    return jnp.sum(per_token * w, axis=-1) / jnp.maximum(jnp.sum(w, axis=-1), 1.0)


def hinge_loss(margin: jax.Array) -> jax.Array:
    """l(z) = max(0, 1 - z), elementwise."""
    return jax.nn.relu(1.0 - margin)


def prune_rows(w: jax.Array, frac, *, largest: bool = False) -> jax.Array:
    """w [m, k] with round(frac m) of its rows zeroed: those of smallest Euclidean norm
    (largest=False) or of largest norm (largest=True). frac may be traced; ties keep order."""
    m = w.shape[0]
    norms = jnp.sqrt(jnp.sum(w**2, axis=1))
    rank = jnp.argsort(jnp.argsort(-norms if largest else norms))  # 0 = first to prune
    drop = rank < jnp.round(frac * m)
    return jnp.where(drop[:, None], 0.0, w)
