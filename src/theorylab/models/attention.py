"""One-layer softmax self-attention with a frozen linear readout (arXiv:2409.19345).

For one sample X in R^{M x d} (rows are tokens):

    S = (X W_Q)(X W_K)^T                in R^{M x M}    (no 1/sqrt(d_h) temperature)
    A = softmax_rows(S)                                   attention of query l on key k
    f(X) = (1/M) sum_l sum_k A_{lk} (X W_V w_O)_k          = mean_l (A v)_l,  v = X (W_V w_O)

Trained: W_Q, W_K in R^{d x d_h}, W_V in R^{d x d_v}; frozen: w_O in R^{d_v}.
Because w_O is frozen, the values enter only through the vector W_V w_O in R^d, so the forward
pass computes v = X (W_V w_O) [M d] instead of (X W_V) w_O [M d d_v]; autodiff gives the same
gradient dL/dW_V = (dL/du) w_O^T with u = W_V w_O (tests check both forms agree).

``span_basis`` gives the exact reparametrisation of full-batch GD on the data span
(W = W_0 + Q B; see its docstring), tested against plain GD on W.

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
    return apply_from_projections(x @ params.w_q, x @ params.w_k, x @ (params.w_v @ w_o))


def apply_from_projections(q: jax.Array, k: jax.Array, v: jax.Array) -> jax.Array:
    """f(X) from the token projections q = X W_Q [..., M, d_h], k = X W_K [..., M, d_h] and
    v = X (W_V w_O) [..., M]: mean_l sum_k softmax_k(q_l . k_k) v_k -> [...]."""
    a = jax.nn.softmax(q @ jnp.swapaxes(k, -1, -2), axis=-1)  # [..., M, M]
    return jnp.mean(jnp.einsum("...lk,...k->...l", a, v), axis=-1)


def span_basis(tokens: jax.Array) -> jax.Array:
    """[T, d] training tokens -> Q [d, min(T, d)] with orthonormal columns spanning them.

    Why (the span shortcut of full-batch GD): every gradient of a loss of the projections
    X W is X^T G, so it lies in span(Q). Writing W = W_0 + Q B and running GD on B,
        B <- B - eta Q^T grad_W L   =>   W <- W - eta Q Q^T grad_W L = W - eta grad_W L,
    which is GD on W exactly (Q Q^T X^T = X^T). The training projections cost
    X W = X W_0 + (X Q) B: T x T x d_h per step instead of T x d x d_h, a factor d / T
    fewer FLOPs. Householder QR gives orthonormal columns even when tokens repeat (the
    signal token of every sample of one class is the same vector).
    """
    q, _ = jnp.linalg.qr(tokens.T)  # [d, T]
    return q


def apply_plain(params: AttentionParams, w_o: jax.Array, x: jax.Array) -> jax.Array:
    """The same f(X) computed literally as (1/M) 1^T A (X W_V) w_O — the reference form."""
    a = attention(params, x)
    out = (a @ (x @ params.w_v)) @ w_o  # [..., M]
    return jnp.mean(out, axis=-1)


class SpanParams(NamedTuple):
    """Trainable coordinates of the span form: W_Q = W_Q0 + Q b_q, W_K = W_K0 + Q b_k; W_V as is."""

    b_q: jax.Array  # [r, d_h], r = min(T, d)
    b_k: jax.Array  # [r, d_h]
    w_v: jax.Array  # [d, d_v]


def to_span(params: AttentionParams, x_train: jax.Array) -> tuple[SpanParams, dict[str, jax.Array]]:
    """Plain params and training tokens x_train [N, M, d] -> (span coordinates at
    B = 0, the frozen arrays of the span form: basis Q [d, T], x_basis = X Q [T, T], the
    initial projections p_q0 = X W_Q0, p_k0 = X W_K0 [T, d_h] and w_q0, w_k0)."""
    x = x_train.reshape(-1, x_train.shape[-1])  # [T, d]
    basis = span_basis(x)
    r, d_h = basis.shape[1], params.w_q.shape[1]  # r = min(T, d): no saving once T >= d
    frozen = dict(basis=basis, x_basis=x @ basis, p_q0=x @ params.w_q, p_k0=x @ params.w_k,
                  w_q0=params.w_q, w_k0=params.w_k)
    zeros = jnp.zeros((r, d_h), params.w_q.dtype)
    return SpanParams(b_q=zeros, b_k=zeros, w_v=params.w_v), frozen


def from_span(sp: SpanParams, frozen: dict[str, jax.Array]) -> AttentionParams:
    """The plain parameters W = W_0 + Q B (for observables; d x T x d_h per call)."""
    return AttentionParams(w_q=frozen["w_q0"] + frozen["basis"] @ sp.b_q,
                           w_k=frozen["w_k0"] + frozen["basis"] @ sp.b_k, w_v=sp.w_v)


def apply_span(sp: SpanParams, frozen: dict[str, jax.Array], w_o: jax.Array, x_train: jax.Array) -> jax.Array:
    """f on the training samples x_train [N, M, d] -> [N], in span coordinates: the projections
    X W_Q = p_q0 + (X Q) b_q cost T x T x d_h instead of T x d x d_h."""
    n, m, _ = x_train.shape
    q = (frozen["p_q0"] + frozen["x_basis"] @ sp.b_q).reshape(n, m, -1)  # [N, M, d_h]
    k = (frozen["p_k0"] + frozen["x_basis"] @ sp.b_k).reshape(n, m, -1)
    return apply_from_projections(q, k, x_train @ (sp.w_v @ w_o))


def logistic_loss(margin: jax.Array) -> jax.Array:
    """log(1 + exp(-margin)), computed stably."""
    return jax.nn.softplus(-margin)
