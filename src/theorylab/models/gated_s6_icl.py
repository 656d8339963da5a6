"""One gated S6 (Mamba) layer on a quadratic embedding, in closed form, for in-context
single-index regression: the model of "Mamba Can Learn Low-Dimensional Targets In-Context via
Test-Time Feature Learning" (Oh, Huang, Suzuki; arXiv:2510.12026), as far as its summaries and
reviews describe it (details marked [I] are the toolkit's reading).

Embedding [I]: phi(x) = [1, x_j, (x_j^2 - 1)/sqrt 2, x_j x_k (j < k)] in R^{D}, D = (d+1)(d+2)/2
(153 at d = 16, 561 at d = 32). Tokens z_l = (phi(x_l), y_l), the query (phi(x_q), 0).

Layer: A = -1 on every channel, W_B^T W_C = diag(gamma, 0) (gamma [D] trained), selection
Delta_l = softplus(y_l / rho + b_Delta) (gate vector w = (0_D, 1/rho)). With ZOH, the y-channel
output at the query is exactly (``models.s6``, tested against ``s6.final_output``)

    o = sum_l kappa_l y_l sum_k gamma_k phi_k(x_l) phi_k(x_q),
    kappa_l = sigma(a_l) prod_{l < j <= N} sigma(-a_j) * sigma(-b_Delta),   a_l = y_l / rho + b_Delta,

since e^{-softplus(a)} = sigma(-a). The "linear" ablation replaces kappa_l by 1/N (linear
attention on the same embedding). o is linear in gamma: o = gamma . (phi(x_q) * S),
S = sum_l kappa_l y_l phi(x_l) (``state``).
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from theorylab.models import s6


def embed_dim(d: int) -> int:
    return (d + 1) * (d + 2) // 2


def _pairs(d: int) -> tuple[np.ndarray, np.ndarray]:
    ij = np.array(list(itertools.combinations(range(d), 2)), dtype=np.int32).reshape(-1, 2)
    return ij[:, 0], ij[:, 1]


def embed(x: jax.Array) -> jax.Array:
    """[..., D]: phi(x) for x [..., d] (constant, linear, diagonal Hermite, cross terms)."""
    d = x.shape[-1]
    i, j = _pairs(d)
    ones = jnp.ones(x.shape[:-1] + (1,), x.dtype)
    return jnp.concatenate([ones, x, (x * x - 1) / jnp.sqrt(2.0), x[..., i] * x[..., j]], axis=-1)


def support_mask(d: int, support: np.ndarray) -> np.ndarray:
    """[D] bool: the non-constant features built only from coordinates in ``support`` (the
    index set I of the task subspace)."""
    s = np.zeros(d, bool)
    s[np.asarray(support)] = True
    i, j = _pairs(d)
    return np.concatenate([[False], s, s, s[i] & s[j]])


def kappa(y: jax.Array, rho, b_delta, gated: bool) -> jax.Array:
    """[..., N]: token weights kappa_l for labels y [..., N] (gated: the S6 selection; else 1/N)."""
    if not gated:
        return jnp.full_like(y, 1.0 / y.shape[-1])
    a = y / rho + b_delta
    log_keep = jax.nn.log_sigmoid(-a)  # log e^{-Delta_j}
    after = jnp.flip(jnp.cumsum(jnp.flip(log_keep, -1), -1), -1) - log_keep  # sum_{j > l}
    return jnp.exp(jax.nn.log_sigmoid(a) + after + jax.nn.log_sigmoid(-b_delta))


def state(phi: jax.Array, y: jax.Array, kap: jax.Array) -> jax.Array:
    """[..., D]: S = sum_l kappa_l y_l phi(x_l) for phi [..., N, D], y, kap [..., N]."""
    return jnp.einsum("...l,...ld->...d", kap * y, phi)


def output(gamma: jax.Array, phi_q: jax.Array, s: jax.Array) -> jax.Array:
    """[...]: o = sum_k gamma_k phi_k(x_q) S_k."""
    return jnp.sum(gamma * phi_q * s, axis=-1)


def as_s6(gamma: jax.Array, rho, b_delta) -> s6.S6Params:
    """The same layer as a general ``models.s6`` layer (d_h = D): W_B = [I | 0], W_C = [diag gamma | 0],
    w_Delta = (0, 1/rho), A = -1. Its last-channel output at the last token equals ``output``."""
    dim = gamma.shape[0]
    zero = jnp.zeros((dim, 1))
    w_b = jnp.concatenate([jnp.eye(dim), zero], axis=1)
    w_c = jnp.concatenate([jnp.diag(gamma), zero], axis=1)
    w_delta = jnp.zeros(dim + 1).at[-1].set(1.0 / rho)
    return s6.S6Params(w_b=w_b, b_b=jnp.zeros(dim), w_c=w_c, b_c=jnp.zeros(dim), w_delta=w_delta,
                       b_delta=jnp.asarray(b_delta, jnp.float32), a=-jnp.ones((dim + 1, dim)))


def last_channel_scan(p: s6.S6Params, u: jax.Array) -> jax.Array:
    """[]: the last channel's output at the last token of a general S6 layer, by the sequential
    ZOH recursion h_l = A_bar_l h_{l-1} + B_bar_l u_l^(y), o = C_L^T h_L (``s6.deltas``, ``s6.zoh``;
    only this channel's state [d_h] is carried: u [L, D])."""
    dl = s6.deltas(p, u)
    bmat = u @ p.w_b.T + p.b_b  # [L, d_h]
    a_y = p.a[-1:]  # [1, d_h]

    def step(h, inp):
        u_y, b_l, d_l = inp
        a_bar, gain = s6.zoh(a_y, d_l)
        return a_bar[0] * h + gain[0] * b_l * u_y, None

    h, _ = jax.lax.scan(step, jnp.zeros(p.w_b.shape[0], u.dtype), (u[:, -1], bmat, dl))
    return h @ (p.w_c @ u[-1] + p.b_c)
