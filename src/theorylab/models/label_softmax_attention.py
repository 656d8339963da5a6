"""Softmax attention with a label transform, followed by a ReLU head: the model of "Nonlinear
transformers can perform inference-time feature learning" (Nishikawa, Song, Oko, Wu, Suzuki;
ICML 2025, eq. (3.2)), reused as the ICL model of "Test time training enhances in-context
learning of nonlinear functions" (Kuwataka & Suzuki; arXiv:2509.25741).

    p_i = softmax_i( y_i / rho + x_i^T Gamma x_q / rho )             (prompt x [N, d], y [N])
    g(X, y, x_q) = sum_i p_i y_i                                     (attention output)
    f = sum_j a_j relu(v_j g + b_j)                                  (head: a, v, b [m])

The query token carries a fixed 1 in the label slot, which is what gives the e^{y_i / rho}
factor. d g / d Gamma = (1/rho) sum_i p_i (y_i - g) x_i x_q^T.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def attend(gamma: jax.Array, x: jax.Array, y: jax.Array, xq: jax.Array, rho) -> jax.Array:
    """[n]: g for prompts x [n, N, d], y [n, N], queries xq [n, d], Gamma [d, d], rho > 0."""
    logits = (y + jnp.einsum("nid,de,ne->ni", x, gamma, xq)) / rho
    return jnp.sum(jax.nn.softmax(logits, axis=-1) * y, axis=-1)


def head_features(g: jax.Array, v: jax.Array, b: jax.Array) -> jax.Array:
    """[n, m]: relu(v_j g + b_j) for g [n], v, b [m]."""
    return jax.nn.relu(g[:, None] * v + b)


def apply(gamma, a, v, b, x, y, xq, rho) -> jax.Array:
    """[n]: f(X, y, x_q) = sum_j a_j relu(v_j g + b_j)."""
    return head_features(attend(gamma, x, y, xq, rho), v, b) @ a
