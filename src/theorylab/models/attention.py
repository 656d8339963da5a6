"""One-layer softmax self-attention with a frozen linear readout (arXiv:2409.19345).

For one sample X in R^{M x d} (rows are tokens):

    S = (X W_Q)(X W_K)^T                in R^{M x M}    (no 1/sqrt(d_h) temperature)
    A = softmax_rows(S)                                   attention of query l on key k
    f(X) = (1/M) sum_l sum_k A_{lk} (X W_V w_O)_k          = mean_l (A v)_l,  v = X (W_V w_O)

Trained: W_Q, W_K in R^{d x d_h}, W_V in R^{d x d_v}; frozen: w_O in R^{d_v}.
Because w_O is frozen, the values enter only through the vector W_V w_O in R^d, so the forward
pass computes v = X (W_V w_O) [M d] instead of (X W_V) w_O [M d d_v]; autodiff gives the same
gradient dL/dW_V = (dL/du) w_O^T with u = W_V w_O (tests check both forms agree).

Init (spec "Model"): PyTorch ``nn.Linear`` default U(-1/sqrt(fan_in), +1/sqrt(fan_in)), i.e.
U(+-1/sqrt(d)) for W_Q, W_K, W_V and U(+-1/sqrt(d_v)) for w_O; then W_Q, W_K, W_V are divided
by ``shrink`` (16 for the phase diagram, 64 for the dynamics figures).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class AttentionParams(NamedTuple):
    w_q: jax.Array  # [d, d_h]
    w_k: jax.Array  # [d, d_h]
    w_v: jax.Array  # [d, d_v]


def init(key: jax.Array, d: int, d_h: int, d_v: int, shrink) -> tuple[AttentionParams, jax.Array]:
    """Returns (trainable params, frozen readout w_O [d_v])."""
    kq, kk, kv, ko = jax.random.split(key, 4)
    b = 1.0 / jnp.sqrt(d)

    def unif(k, shape, bound):
        return jax.random.uniform(k, shape, jnp.float32, -bound, bound)

    params = AttentionParams(
        w_q=unif(kq, (d, d_h), b) / shrink,
        w_k=unif(kk, (d, d_h), b) / shrink,
        w_v=unif(kv, (d, d_v), b) / shrink,
    )
    w_o = unif(ko, (d_v,), 1.0 / jnp.sqrt(d_v))
    return params, w_o


def attention(params: AttentionParams, x: jax.Array) -> jax.Array:
    """[..., M, d] -> [..., M, M] row-softmax attention weights."""
    q = x @ params.w_q  # [..., M, d_h]
    k = x @ params.w_k
    return jax.nn.softmax(q @ jnp.swapaxes(k, -1, -2), axis=-1)


def apply(params: AttentionParams, w_o: jax.Array, x: jax.Array) -> jax.Array:
    """f(X): [..., M, d] -> [...] scalar output per sample."""
    a = attention(params, x)  # [..., M, M]
    v = x @ (params.w_v @ w_o)  # [..., M]
    return jnp.mean(jnp.einsum("...lk,...k->...l", a, v), axis=-1)


def apply_plain(params: AttentionParams, w_o: jax.Array, x: jax.Array) -> jax.Array:
    """The same f(X) computed literally as (1/M) 1^T A (X W_V) w_O — the reference form."""
    a = attention(params, x)
    out = (a @ (x @ params.w_v)) @ w_o  # [..., M]
    return jnp.mean(out, axis=-1)


def logistic_loss(margin: jax.Array) -> jax.Array:
    """log(1 + exp(-margin)), computed stably."""
    return jax.nn.softplus(-margin)
