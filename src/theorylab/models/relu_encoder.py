"""One-layer ReLU encoder shared over patches, the encoder of the contrastive feature-learning
analysis ("On the Comparison between Multi-modal and Single-modal Contrastive Learning", Huang,
Han, Chen, Cao, Xu, Suzuki; NeurIPS 2024; arXiv:2411.02837, Sec. 3):

    h_r(x) = sum_p sigma(<w_r, x^(p)>),   r = 1..m,   sigma = ReLU,

w [m, d] (m = embedding dimension), x [n, P, d]. Init w ~ N(0, sigma0^2).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def init(key: jax.Array, m: int, d: int, sigma0) -> jax.Array:
    """[m, d] weights, i.i.d. N(0, sigma0^2)."""
    return sigma0 * jax.random.normal(key, (m, d))


def activations(w: jax.Array, x: jax.Array) -> jax.Array:
    """[n, m, P]: sigma(<w_r, x_i^(p)>) for w [m, d], x [n, P, d]."""
    return jax.nn.relu(jnp.einsum("npd,md->nmp", x, w))


def embed(w: jax.Array, x: jax.Array) -> jax.Array:
    """[n, m]: the embedding h(x_i) = sum_p sigma(<w_r, x_i^(p)>)."""
    return activations(w, x).sum(axis=2)
