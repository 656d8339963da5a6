"""Closed forms of "Trained Mamba Emulates Online Gradient Descent in In-Context Linear
Regression" (Jiang, Huang, Zhang, Suzuki, Nie; NeurIPS 2025; arXiv:2509.23779).

Setting: x_i, x_q, w ~ N(0, I_d), y = w^T x, one S6 layer under Assumption 4.1
(A = -I, w_Delta = 0, Delta_l = ln 2 / N), so the per-token decay is

    alpha = exp(-Delta) = 2^(-1/N)                       (alpha^N = 1/2)

and the constants of the limit are

    beta_1 = alpha^2 (1 - alpha^N)^2 + (d+1) alpha^2 (1 - alpha)(1 - alpha^(2N)) / (1 + alpha)
    beta_3 = alpha (1 - alpha^N)
    beta   = beta_3 / beta_1.

Training drives C^T B -> beta I_d and C^T b -> 0 (W_B = [B b], W_C = [C c], last column the y
column); the limiting predictor is an online-GD variant that weighs newer examples more,

    y_hat = x_q^T sum_{j=1..N} (1 - alpha) beta alpha^(N-j+1) y_j x_j,

with population loss L* = (d/2)(1 - beta_3^2 / beta_1) <= 3 d (d+1) / (2N).
Linear-attention baseline (Zhang, Frei & Bartlett, arXiv:2306.09927; isotropic data): the trained predictor
x_q^T Gamma^-1 (1/N) sum y_i x_i with Gamma = (1 + (d+1)/N) I has loss d (d+1) / (2 (N+d+1)).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def _xp(n):
    """(array module, n as floats): numpy for numbers and arrays, jax for a traced N (a context
    length padded into a shape bucket, engine/buckets.py)."""
    if isinstance(n, jax.Array):
        return jnp, n.astype(jnp.result_type(float))
    return np, np.asarray(n, float)


def alpha(n):
    """Per-token decay exp(-Delta) = 2^(-1/N) under Assumption 4.1."""
    xp, n = _xp(n)
    return xp.exp(-np.log(2.0) / n)


def _one_minus_alpha(n):
    """1 - alpha = -expm1(-ln2 / N), without the cancellation of 1 - alpha in float32."""
    xp, n = _xp(n)
    return -xp.expm1(-np.log(2.0) / n)


# alpha^N = 1/2 for every N, so 1 - alpha^N = 1/2 and 1 - alpha^(2N) = 3/4 in the forms below.
def beta_1(d, n):
    a = alpha(n)
    return a**2 / 4 + (d + 1) * a**2 * _one_minus_alpha(n) * 0.75 / (1 + a)


def beta_3(d, n):
    del d
    return alpha(n) / 2


def beta(d, n):
    """The limit of C^T B is beta I_d."""
    return beta_3(d, n) / beta_1(d, n)


def limit_loss(d, n):
    """L* = (d/2)(1 - beta_3^2 / beta_1): the population loss of the limiting S6 layer."""
    return d / 2 * (1 - beta_3(d, n) ** 2 / beta_1(d, n))


def loss_bound(d, n):
    """The paper's upper bound 3 d (d+1) / (2N) on L*."""
    return 3 * d * (d + 1) / (2 * np.asarray(n, float))


def linear_attention_loss(d, n):
    """d (d+1) / (2 (N + d + 1)): the trained linear-attention optimum's population loss."""
    return d * (d + 1) / (2 * (np.asarray(n, float) + d + 1))


def linear_attention_scale(d, n):
    """Gamma^-1 = N / (N + d + 1): the linear-attention optimum predicts
    x_q^T [N/(N+d+1)] (1/N) sum_i y_i x_i."""
    return n / (n + d + 1.0)


def position_weights(d: int, n: int) -> np.ndarray:
    """[N]: the limiting weight (1 - alpha) beta alpha^(N-j+1) of example j = 1..N."""
    a = alpha(n)
    j = np.arange(1, n + 1)
    return (1 - a) * beta(d, n) * a ** (n - j + 1)


def online_gd_loss(d: int, weights: np.ndarray) -> float:
    """Population loss of y_hat = x_q^T sum_j c_j y_j x_j for Gaussian data (any weights c).

    E[(w - h)^T (w - h)]/2 with h = sum_j c_j y_j x_j:  E h^T w = d S1,
    E|h|^2 = (d+2) d S2 + d (S1^2 - S2)  (S1 = sum c_j, S2 = sum c_j^2), so
    loss = (d/2) (1 - 2 S1 + (d+1) S2 + S1^2).  With the limit weights it equals L*.
    """
    c = np.asarray(weights, float)
    s1, s2 = c.sum(), (c**2).sum()
    return d / 2 * (1 - 2 * s1 + (d + 1) * s2 + s1**2)


def ideal_cosine(d: int, n: int, n_prompts: int = 100_000, seed: int = 0) -> np.ndarray:
    """[N]: E cos(h_l, w) for l = 1..N of the ideal projected state
    h_l = alpha h_{l-1} + (1 - alpha) beta y_l x_l (the scale beta does not matter), by
    Monte Carlo over n_prompts Gaussian prompts: the reference curve of the paper's Fig. 1b
    (at d = 4, N = 50: 0.42, 0.59, 0.78, 0.87, 0.93, 0.95, 0.96, 0.97 at l = 1, 2, 5, ..., 50).
    """
    rng = np.random.default_rng(seed)
    a = alpha(n)
    out = np.zeros(n)
    done = 0
    while done < n_prompts:
        m = min(10_000, n_prompts - done)
        w = rng.standard_normal((m, d))
        h = np.zeros((m, d))
        for l in range(n):
            x = rng.standard_normal((m, d))
            y = np.einsum("md,md->m", x, w)
            h = a * h + (1 - a) * y[:, None] * x
            cos = np.einsum("md,md->m", h, w) / (np.linalg.norm(h, axis=1) * np.linalg.norm(w, axis=1))
            out[l] += cos.sum()
        done += m
    return out / n_prompts
