"""Closed-form in-context regression predictors, evaluated at every context length at once.

For a prompt (x_0 .. x_N, y_0 .. y_N) (row N is the query), the *prefix prediction* at
position k = 0..N predicts y_k from the k examples before it, x_k playing the query (the
error-against-context-length curves of Garg, Tsipras, Liang & Valiant, "What Can Transformers
Learn In-Context?", arXiv:2208.01066). Every ``*_prefix`` function maps an ``ICLBatch``
(x [n, N+1, d], y [n, N+1]) to predictions [n, N+1]; column N is the prediction for the query.

* least squares:   y_hat_k = x_k^T pinv(X_<k) y_<k                    (min-norm when k < d)
* ridge:           y_hat_k = x_k^T (X^T X + lam I)^-1 X^T y over the first k examples
* weighted sums:   y_hat_k = x_k^T sum_{j<k} W[k, j] y_j x_j  — covers
    - the online-GD predictor, the trained S6 layer's limit (Trained Mamba Emulates Online
      Gradient Descent in In-Context Linear Regression, arXiv:2509.23779):
      W[k, j] = (1 - alpha) beta alpha^(k-j)
    - the linear-attention optimum (Zhang, Frei & Bartlett, "Trained Transformers Learn Linear
      Models In-Context", arXiv:2306.09927, isotropic data):
      W[k, j] = 1 / (k + d + 1)                         (= Gamma^-1 (1/k), Gamma = (1+(d+1)/k) I)

The in-program solves avoid LAPACK (``models/linalg.py``). ``least_squares_prefix`` is ridge
with lam = 1e-4 (min-norm least squares up to a relative bias ~1e-4);
``least_squares_prefix_pinv`` is the exact pinv form, for reference.

A prompt left-padded with zero tokens (data/icl.py, ``sample_padded``) gets the predictions of
the unpadded prompt at its own positions: zero examples add nothing to the prefix sums, and the
one position count (the linear-attention optimum's k) takes ``first``.

``error_curve`` turns prefix predictions into the curve; ``bilinear_optimum_loss`` is the exact
training optimum of a model bilinear in per-prompt features (the S6 layer with Delta frozen).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from theorylab.data.icl import ICLBatch
from theorylab.models.linalg import spd_solve
from theorylab.models.losses import half_squared_error


def _prefix_mask(n_pos: int) -> jax.Array:
    """[K, L] with K = L = n_pos: mask[k, j] = 1 iff j < k."""
    return jnp.tril(jnp.ones((n_pos, n_pos)), k=-1)


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


def linear_attention_weights(n_pos: int, d: int, first=0) -> jax.Array:
    """[K, L]: W[k, j] = 1 / (k + d + 1) for j < k: the linear-attention optimum at length k;
    ``first``: the position of the first example of a left-padded prompt (k counts from it)."""
    k = jnp.maximum(jnp.arange(n_pos) - first, 0)
    return _prefix_mask(n_pos) / (k[:, None] + d + 1.0)


def error_curve(pred: jax.Array, y: jax.Array) -> jax.Array:
    """[K]: (1/2) mean over prompts of (y_hat_k - y_k)^2, for predictions and targets [n, K]."""
    return half_squared_error(pred, y, axis=0)


def bilinear_optimum_loss(q: jax.Array, m: jax.Array, y: jax.Array) -> jax.Array:
    """min over M of (1/2) mean_i (q_i^T M m_i - y_i)^2, for q, m [n, p] and y [n]: the exact
    optimum of a fixed training set for any model whose prediction is such a bilinear form
    (the S6 layer with Delta frozen: M = [W_C b_C]^T [W_B b_B], reachable when d_h >= p).

    Least squares of y on the features phi_i = q_i (x) m_i [p^2]: normal equations with a
    1e-7 relative ridge, solved by ``spd_solve`` plus one step of iterative refinement."""
    phi = (q[:, :, None] * m[:, None, :]).reshape(len(y), -1)
    gram = phi.T @ phi
    gram = gram + 1e-7 * jnp.trace(gram) / len(gram) * jnp.eye(len(gram))
    coef = spd_solve(gram, phi.T @ y)
    coef = coef + spd_solve(gram, phi.T @ (y - phi @ coef))  # one step of iterative refinement
    return 0.5 * jnp.mean((phi @ coef - y) ** 2)
