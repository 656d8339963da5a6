"""Two-layer CNN with filters shared over patches and a fixed +-1/m second layer.

The network of the CNN feature-learning papers (arXiv:2510.17526 and arXiv:2505.18909,
spec label_noise.md "Model"):

    f(W, x) = F_{+1}(W_{+1}, x) - F_{-1}(W_{-1}, x),
    F_j(W_j, x) = (1/m) sum_{r=1..m} sum_{p=1..P} sigma(<w_{j,r}, x^(p)>),
    sigma(z) = max(0, z)^q            (q = 1: ReLU, q = 2: squared ReLU, ...)

W has shape [2, m, d]: W[0] holds the m filters w_{+1,r}, W[1] the filters w_{-1,r}. Only W
is trained; the second layer (+1/m for j = +1, -1/m for j = -1) is fixed. Entries of W are
N(0, sigma0^2) at initialisation.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Q_CHOICES = (1, 2, 3, 4)
SIGN = (1.0, -1.0)  # j of W[0], W[1]


def init(key: jax.Array, m: int, d: int, sigma0) -> jax.Array:
    """[2, m, d] filters with i.i.d. N(0, sigma0^2) entries."""
    return sigma0 * jax.random.normal(key, (2, m, d))


def activation(z: jax.Array, q: int) -> jax.Array:
    """sigma(z) = max(0, z)^q, elementwise."""
    return jnp.maximum(z, 0.0) ** q


def branch_outputs(w: jax.Array, x: jax.Array, q: int) -> jax.Array:
    """[n, 2]: F_{+1} and F_{-1} for w [2, m, d] and x [n, P, d]."""
    pre = jnp.einsum("npd,jrd->njrp", x, w)  # [n, 2, m, P]
    return activation(pre, q).sum(axis=3).mean(axis=2)


def apply(w: jax.Array, x: jax.Array, q: int) -> jax.Array:
    """[n]: f(W, x_i) = F_{+1} - F_{-1} for w [2, m, d] and x [n, P, d]."""
    f = branch_outputs(w, x, q)
    return f[:, 0] - f[:, 1]


def logistic_loss(margin: jax.Array) -> jax.Array:
    """l(z) = log(1 + exp(-z)), elementwise and stable."""
    return jax.nn.softplus(-margin)
