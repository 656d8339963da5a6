"""Linear attention for in-context autoregressive learning, and its in-context baselines.

From "How do Transformers perform In-Context Autoregressive Learning?" (arXiv:2402.05787).

* Augmented linear attention, theory variant (Sec. 3): tokens e_t = (s_t, s_{t-1}) in R^{2d}
  (s_{-1} = 0) and, at position tau (0-based),

      yhat_tau = V S_tau M e_tau,   S_tau = 1/(tau+1) sum_{t <= tau} e_t e_t^T

  i.e. causal linear attention with scores e_t^T M e_tau (row of M = key, column = query) and
  values V e_t; V [d, 2d], M [2d, 2d]. One step of gradient descent from W' = 0 on
  1/2 sum_t |s_t - W' s_{t-1}|^2 followed by W' s_tau is the point V = [I 0], M_21 = eta I:
      yhat_tau = eta/(tau+1) sum_t s_t s_{t-1}^T s_tau.
* Positional-encoding-only attention (d = 1, complex; the authors' pe_only.py): the prediction
  of s_{q+2} at query q is sum_{k <= q+1} P[q, k] conj(s_q) s_k s_k, with P [T, T] real.
* Baselines: one GD step G_tau s_tau with G_tau = 1/(tau+1) sum_{t<=tau} s_t s_{t-1}^T, and least
  squares on the context W_tau = (sum s_t s_{t-1}^T)(sum s_{t-1} s_{t-1}^T + lam I)^-1 (LAPACK-free
  Gauss-Jordan solve, models/linalg.py).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from theorylab.models.linalg import spd_solve


class AugParams(NamedTuple):
    v: jax.Array  # [d, 2d]
    m: jax.Array  # [2d, 2d]: row = key slot, column = query slot


def init_aug(key: jax.Array, d: int, scale) -> AugParams:
    kv, km = jax.random.split(key)
    return AugParams(scale * jax.random.normal(kv, (d, 2 * d)), scale * jax.random.normal(km, (2 * d, 2 * d)))


def gd_point(d: int, eta) -> AugParams:
    """The one-GD-step construction V = [I 0], M_21 = eta I (key s_{t-1}, query s_tau)."""
    eye = jnp.eye(d)
    z = jnp.zeros((d, d))
    return AugParams(jnp.concatenate([eye, z], 1), jnp.block([[z, z], [eta * eye, z]]))


def augment(s: jax.Array) -> jax.Array:
    """[m, n, 2d]: e_t = (s_t, s_{t-1}) for the inputs s [m, n, d] (s_{-1} = 0)."""
    prev = jnp.concatenate([jnp.zeros_like(s[:, :1]), s[:, :-1]], axis=1)
    return jnp.concatenate([s, prev], axis=-1)


def apply_aug(params: AugParams, s: jax.Array) -> jax.Array:
    """[m, n, d]: yhat_tau for every position tau of the inputs s [m, n, d] (the targets are s_{tau+1})."""
    e = augment(s)
    n = s.shape[1]
    scores = jnp.einsum("mtk,kq,msq->mst", e, params.m, e)  # [m, query tau, key t]
    causal = jnp.tril(jnp.ones((n, n))) / jnp.arange(1, n + 1)[:, None]
    return jnp.einsum("mst,mtk,dk->msd", scores * causal, e, params.v)


def one_step_gd(s: jax.Array) -> jax.Array:
    """[m, n, d]: G_tau s_tau = 1/(tau+1) sum_{t<=tau} s_t (s_{t-1} . s_tau)  (eta = 1)."""
    d, n = s.shape[-1], s.shape[1]
    e = augment(s)
    cur, prev = e[..., :d], e[..., d:]
    causal = jnp.tril(jnp.ones((n, n))) / jnp.arange(1, n + 1)[:, None]
    inner = jnp.einsum("mtd,msd->mst", prev, s)  # [m, tau, t]: s_{t-1} . s_tau
    return jnp.einsum("mst,mtd->msd", causal * inner, cur)


def least_squares(s: jax.Array, lam: float = 1e-6) -> jax.Array:
    """[m, n, d]: W_tau s_tau with W_tau the ridge (lam) least-squares fit of s_t ~ W s_{t-1} on
    the context t <= tau."""
    d = s.shape[-1]
    e = augment(s)
    cur, prev = e[..., :d], e[..., d:]
    cross = jnp.cumsum(jnp.einsum("mti,mtj->mtij", cur, prev), axis=1)  # sum s_t s_{t-1}^T
    gram = jnp.cumsum(jnp.einsum("mti,mtj->mtij", prev, prev), axis=1) + lam * jnp.eye(d)
    # W = cross gram^-1  ->  W s = cross (gram^-1 s)
    x = spd_solve(gram, s)
    return jnp.einsum("mtij,mtj->mti", cross, x)


def pe_only_predict(P: jax.Array, s: jax.Array) -> jax.Array:
    """[m, T-1] complex: the prediction of s_{q+2} at q = 0..T-2 from the inputs s [m, T]
    (s_0..s_{T-1}), sum_{k <= q+1} P[q, k] conj(s_q) s_k s_k."""
    T = s.shape[1]
    allowed = jnp.tril(jnp.ones((T, T)), k=1)
    scores = jnp.conj(s)[:, :, None] * s[:, None, :] * (P * allowed)[None]  # [m, q, k]
    return jnp.einsum("mqk,mk->mq", scores, s)[:, :-1]
