"""Two-layer CNN with filters shared over patches and a fixed +-1/m second layer.

The network of the CNN feature-learning papers ("Towards understanding the benefit of label
noise GD in the low-SNR regime", arXiv:2510.17526; "On the role of label noise in the feature
learning process", arXiv:2505.18909):

    f(W, x) = F_{+1}(W_{+1}, x) - F_{-1}(W_{-1}, x),
    F_j(W_j, x) = (1/m) sum_{r=1..m} sum_{p=1..P} sigma(<w_{j,r}, x^(p)>),
    sigma(z) = max(0, z)^q            (q = 1: ReLU, q = 2: squared ReLU, ...)

W has shape [2, m, d]: W[0] holds the m filters w_{+1,r}, W[1] the filters w_{-1,r}. Only W
is trained; the second layer (+1/m for j = +1, -1/m for j = -1) is fixed. Entries of W are
N(0, sigma0^2) at initialisation. ``setup_runs`` draws W(0) and the train / test sets of one
run on signal-noise data (``data/signal_noise.py``), with the basis of the signal / noise
decomposition of the filters (``models/decomposition.py``).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from theorylab.data import signal_noise
from theorylab.models import decomposition

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


def setup_runs(key: jax.Array, *, m: int, d: int, sigma0, n: int, n_test: int, mu: jax.Array,
               sample: Callable[[jax.Array, int], signal_noise.PatchData],
               mask: jax.Array | None = None) -> tuple[jax.Array, dict]:
    """One run of the CNN on signal-noise data: (filters W(0) [2, m, d], data).

    W(0) has i.i.d. N(0, sigma0^2) entries; the training set (n samples) and the test set
    (n_test) are drawn by ``sample(key, size)``, whose first noise token per sample is xi_i;
    mu [d] is the +1 class signal. data holds x [n, P, d], y (observed labels), y_true (before
    any flip), the same for the test set (x_test, y_test, y_test_true), w0 = W(0), and the
    basis of span(mu, xi_1..xi_n) for the gamma / rho decomposition (``models/decomposition``).

    ``mask`` bool [n] (optional): the run's own samples when n is a bucket size shared with
    smaller runs (``engine/buckets.py``); data then also holds it. The padded samples (False)
    get zero patches and labels 0, so they enter no margin, loss or gradient, and basis rows
    decoupled from the run's own (``decomposition.basis`` with the mask): their rho is exactly 0 and the run's own
    coefficients are those of the basis of its own n samples.
    """
    k_init, k_train, k_test = jax.random.split(key, 3)
    w0 = init(k_init, m, d, sigma0)
    train, test = sample(k_train, n), sample(k_test, n_test)
    xi = signal_noise.noise_tokens(train)[:, 0]  # [n, d]
    data = dict(x=train.x, y=train.y, y_true=train.y_true, x_test=test.x, y_test=test.y,
                y_test_true=test.y_true, w0=w0)
    if mask is None:
        return w0, dict(data, basis=decomposition.basis(mu, xi))
    keep = mask.astype(train.x.dtype)
    return w0, dict(data, x=train.x * keep[:, None, None], y=train.y * keep, y_true=train.y_true * keep,
                    mask=mask, basis=decomposition.basis(mu, xi, mask))

