"""Closed-form in-context regression predictors, evaluated at every context length at once.

For a prompt (x_0 .. x_N, y_0 .. y_N) (row N is the query), the *prefix prediction* at
position k = 0..N predicts y_k from the k examples before it, x_k playing the query (Garg et
al. 2022's error-against-context-length curves). Every function maps an ``ICLBatch``
(x [n, N+1, d], y [n, N+1]) to predictions [n, N+1]; column N is the prediction for the query.

* least squares:   y_hat_k = x_k^T pinv(X_<k) y_<k                    (min-norm when k < d)
* ridge:           y_hat_k = x_k^T (X^T X + lam I)^-1 X^T y over the first k examples

The in-program versions avoid LAPACK (``spd_solve`` is a Gauss-Jordan elimination in plain jnp
ops): XLA's CPU runtime deadlocked on 2 cores running several batched LAPACK calls in one
program. ``least_squares_prefix`` is ridge with lam = 1e-4 (min-norm least squares up to a
relative bias ~1e-4); ``least_squares_prefix_pinv`` is the exact pinv form, for reference.
* weighted sums:   y_hat_k = x_k^T sum_{j<k} W[k, j] y_j x_j  — covers
    - the online-GD predictor of arXiv:2509.23779 (the trained S6 layer's limit):
      W[k, j] = (1 - alpha) beta alpha^(k-j)            (spec mamba_icl.md, "Theory to overlay")
    - the linear-attention optimum (Zhang, Frei & Bartlett 2024, isotropic data):
      W[k, j] = 1 / (k + d + 1)                         (= Gamma^-1 (1/k), Gamma = (1+(d+1)/k) I)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from theorylab.data.icl import ICLBatch


def _prefix_mask(n_pos: int) -> jax.Array:
    """[K, L] with K = L = n_pos: mask[k, j] = 1 iff j < k."""
    return jnp.tril(jnp.ones((n_pos, n_pos)), k=-1)


def spd_solve(a: jax.Array, b: jax.Array) -> jax.Array:
    """Solve a x = b for symmetric positive definite a [..., n, n], b [..., n] by Gauss-Jordan
    elimination without pivoting (stable for SPD), in plain jnp ops."""
    n = a.shape[-1]
    idx = jnp.arange(n)

    def step(i, ab):
        a, b = ab
        e = (idx == i).astype(a.dtype)  # [n] one-hot
        row = jnp.einsum("...ij,i->...j", a, e)  # a[i, :]
        piv = jnp.einsum("...j,j->...", row, e)
        row, bi = row / piv[..., None], jnp.einsum("...i,i->...", b, e) / piv
        col = jnp.einsum("...ij,j->...i", a, e) - e  # a[:, i], 0 at row i
        a = a - col[..., :, None] * row[..., None, :]
        a = a * (1 - e)[:, None] + e[:, None] * row[..., None, :]  # row i <- normalised row
        b = b - col * bi[..., None]
        b = b * (1 - e) + e * bi[..., None]
        return a, b

    return jax.lax.fori_loop(0, n, step, (a, b))[1]


def ridge_prefix(batch: ICLBatch, lam) -> jax.Array:
    """[n, N+1]: ridge prediction from the first k examples, for k = 0..N. lam > 0."""
    x, y = batch.x, batch.y
    mask = _prefix_mask(x.shape[1])  # [K, L]
    d = x.shape[-1]
    gram = jnp.einsum("kl,nld,nle->nkde", mask, x, x) + lam * jnp.eye(d)  # [n, K, d, d]
    rhs = jnp.einsum("kl,nld,nl->nkd", mask, x, y)  # [n, K, d]
    w_hat = spd_solve(gram, rhs)
    return jnp.einsum("nkd,nkd->nk", w_hat, x)


LS_LAMBDA = 1e-4


def least_squares_prefix(batch: ICLBatch) -> jax.Array:
    """[n, N+1]: least-squares prediction from the first k examples (ridge, lam = 1e-4)."""
    return ridge_prefix(batch, LS_LAMBDA)


def least_squares_prefix_pinv(batch: ICLBatch) -> jax.Array:
    """[n, N+1]: min-norm least-squares prediction from the first k examples, k = 0..N."""
    x, y = batch.x, batch.y
    mask = _prefix_mask(x.shape[1])  # [K, L]
    xm = mask[None, :, :, None] * x[:, None]  # [n, K, L, d]: rows j >= k zeroed
    w_hat = jnp.einsum("nkdl,nl->nkd", jnp.linalg.pinv(xm), y)  # pinv of a zero-padded X
    return jnp.einsum("nkd,nkd->nk", w_hat, x)


def weighted_prefix(batch: ICLBatch, weights: jax.Array) -> jax.Array:
    """[n, N+1]: y_hat_k = x_k^T sum_{j<k} weights[k, j] y_j x_j; weights [N+1, N+1]."""
    x, y = batch.x, batch.y
    w = weights * _prefix_mask(x.shape[1])
    h = jnp.einsum("kj,nj,njd->nkd", w, y, x)  # [n, K, d]: the estimate of w used at k
    return jnp.einsum("nkd,nkd->nk", h, x)


def online_gd_weights(n_pos: int, alpha, beta) -> jax.Array:
    """[K, L]: W[k, j] = (1 - alpha) beta alpha^(k - j) for j < k (0 elsewhere)."""
    k = jnp.arange(n_pos)
    gap = jnp.maximum(k[:, None] - k[None, :], 0)
    return (1 - alpha) * beta * alpha**gap * _prefix_mask(n_pos)


def linear_attention_weights(n_pos: int, d: int) -> jax.Array:
    """[K, L]: W[k, j] = 1 / (k + d + 1) for j < k: the linear-attention optimum at length k."""
    k = jnp.arange(n_pos)
    return _prefix_mask(n_pos) / (k[:, None] + d + 1.0)
