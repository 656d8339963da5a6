"""One-layer softmax self-attention with a frozen linear readout (Unveil Benign Overfitting for
Transformer in Vision, arXiv:2409.19345).

For one sample X in R^{M x d} (rows are tokens):

    S = (X W_Q)(X W_K)^T                in R^{M x M}    (no 1/sqrt(d_h) temperature)
    A = softmax_rows(S)                                   attention of query l on key k
    f(X) = (1/M) sum_l sum_k A_{lk} (X W_V w_O)_k          = mean_l (A v)_l,  v = X (W_V w_O)

Trained: W_Q, W_K in R^{d x d_h}, W_V in R^{d x d_v}; frozen: w_O in R^{d_v}.
Because w_O is frozen, the values enter only through the vector W_V w_O in R^d, so the forward
pass computes v = X (W_V w_O) [M d] instead of (X W_V) w_O [M d d_v]; autodiff gives the same
gradient dL/dW_V = (dL/du) w_O^T with u = W_V w_O (tests check both forms agree).

``to_dual`` gives the exact token-space form of full-batch GD (W = W_0 + X^T a; see its
docstring), tested step for step against plain GD on W.

Init (the authors' code, github JiaruiJ/Benign_ViT): PyTorch ``nn.Linear`` default
U(-1/sqrt(fan_in), +1/sqrt(fan_in)), i.e. U(+-1/sqrt(d)) for W_Q, W_K, W_V and U(+-1/sqrt(d_v))
for w_O; then W_Q, W_K, W_V are divided by ``shrink`` (16 for the phase diagram, 64 for the
dynamics figures). Drawn in the default float dtype: float32, float64 under jax_enable_x64.
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
    """Returns (trainable params, frozen readout w_O [d_v]), in the default float dtype
    (float32; float64 under jax_enable_x64)."""
    kq, kk, kv, ko = jax.random.split(key, 4)
    b = 1.0 / jnp.sqrt(d)

    def unif(k, shape, bound):
        return jax.random.uniform(k, shape, jnp.result_type(float), -bound, bound)

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


def apply_plain(params: AttentionParams, w_o: jax.Array, x: jax.Array) -> jax.Array:
    """The same f(X) computed literally as (1/M) 1^T A (X W_V) w_O — the reference form."""
    a = attention(params, x)
    out = (a @ (x @ params.w_v)) @ w_o  # [..., M]
    return jnp.mean(out, axis=-1)


class DualParams(NamedTuple):
    """Trainable coordinates of the token-space (dual) form of full-batch GD, for training
    tokens X [T, d] (T = N M): W_Q = W_Q0 + X^T a_q, W_K = W_K0 + X^T a_k, W_V = W_V0 + X^T a_v w_O^T."""

    a_q: jax.Array  # [T, d_h]
    a_k: jax.Array  # [T, d_h]
    a_v: jax.Array  # [T]


class DualFrozen(NamedTuple):
    """What the dual form needs of the training tokens, computed once per run (see ``to_dual``)."""

    gram: jax.Array  # X X^T [T, T]
    p_q0: jax.Array  # X W_Q0 [T, d_h]
    p_k0: jax.Array  # X W_K0 [T, d_h]
    v0: jax.Array  # X W_V0 w_O [T]
    wo_sq: jax.Array  # |w_O|^2, scalar


def to_dual(params: AttentionParams, w_o: jax.Array, x_train: jax.Array) -> tuple[DualParams, DualFrozen]:
    """Plain init and training samples x_train [N, M, d] -> (dual coordinates at a = 0, frozen arrays).

    Why (full-batch GD never leaves the token span). The training loss depends on the
    weights only through the projections P = X W_Q, K = X W_K, v = X u (u = W_V w_O), so
        grad_{W_Q} L = X^T G_P,   grad_{W_K} L = X^T G_K,   grad_{W_V} L = X^T g_v w_O^T
    with G_P = dL/dP [T, d_h], G_K = dL/dK, g_v = dL/dv [T]. GD on the weights therefore
    stays of the form W = W_0 + X^T a and is, in the coefficients a,
        a_q <- a_q - eta G_P,   a_k <- a_k - eta G_K,   a_v <- a_v - eta g_v,
    while the projections the loss needs are
        P = X W_Q0 + G a_q,   K = X W_K0 + G a_k,   v = X u_0 + |w_O|^2 G a_v,   G = X X^T.
    A step then costs T x T x d_h per projection instead of T x d x d_h (d / T fewer FLOPs)
    and never touches d. No basis, no factorisation: exact in exact arithmetic for any T,
    repeated tokens included (the coefficients are not unique then; the weights are).
    ``dual_projections`` makes autodiff report exactly (G_P, G_K, g_v) as the gradient of a,
    so plain SGD on DualParams (and only plain SGD: the map is not an isometry) is GD on W.
    """
    x = x_train.reshape(-1, x_train.shape[-1])  # [T, d]
    t, d_h = x.shape[0], params.w_q.shape[1]
    frozen = DualFrozen(gram=x @ x.T, p_q0=x @ params.w_q, p_k0=x @ params.w_k, v0=x @ (params.w_v @ w_o),
                        wo_sq=w_o @ w_o)
    zeros = jnp.zeros((t, d_h), params.w_q.dtype)
    return DualParams(a_q=zeros, a_k=zeros, a_v=jnp.zeros((t,), params.w_q.dtype)), frozen


@jax.custom_vjp
def _lift(base: jax.Array, kernel: jax.Array, a: jax.Array) -> jax.Array:
    """base + kernel @ a, whose gradient with respect to a is reported as the cotangent itself
    (dL/d(output)): the coefficients of the weight gradient, see ``to_dual``."""
    return base + kernel @ a


def _lift_fwd(base, kernel, a):
    return _lift(base, kernel, a), (base, kernel)


def _lift_bwd(res, g):
    base, kernel = res
    return jnp.zeros_like(base), jnp.zeros_like(kernel), g


_lift.defvjp(_lift_fwd, _lift_bwd)


def dual_projections(dp: DualParams, frozen: DualFrozen) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Training projections (P [T, d_h], K [T, d_h], v [T]) from the dual coordinates.

    Their gradient with respect to ``dp`` is (dL/dP, dL/dK, dL/dv): the coefficients of the
    weight gradient, not the Euclidean gradient of a (which would be G dL/dP); see ``to_dual``.
    """
    p = _lift(frozen.p_q0, frozen.gram, dp.a_q)
    k = _lift(frozen.p_k0, frozen.gram, dp.a_k)
    v = _lift(frozen.v0, frozen.wo_sq * frozen.gram, dp.a_v)
    return p, k, v


def dual_projections_of(dp: DualParams, frozen: DualFrozen, cross: jax.Array, base: tuple) -> tuple:
    """Projections of other tokens Z (a test set): Z W = Z W_0 + (Z X^T) a. cross = Z X^T [S, T],
    base = (Z W_Q0, Z W_K0, Z u_0). Not differentiated (observables only)."""
    p0, k0, v0 = base
    return p0 + cross @ dp.a_q, k0 + cross @ dp.a_k, v0 + frozen.wo_sq * (cross @ dp.a_v)


def from_dual(dp: DualParams, params0: AttentionParams, w_o: jax.Array, x_train: jax.Array) -> AttentionParams:
    """The plain weights W = W_0 + X^T a (d x T x d_h per call: for tests and inspection)."""
    xt = x_train.reshape(-1, x_train.shape[-1]).T  # [d, T]
    return AttentionParams(w_q=params0.w_q + xt @ dp.a_q, w_k=params0.w_k + xt @ dp.a_k,
                           w_v=params0.w_v + jnp.outer(xt @ dp.a_v, w_o))
