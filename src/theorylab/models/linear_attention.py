"""One-layer attention models for in-context regression (the baselines of arXiv:2509.23779).

Tokens e_j = (x_j, y_j) in R^D (D = d+1), query token e_q = (x_q, 0). Both models read out
the y coordinate at the query position through a value vector v in R^D (the last row of
W^PV) and score keys with one matrix W in R^(D x D) (W^KQ); the query is not its own key.

    linear  (Zhang, Frei & Bartlett 2024):  y_hat = v^T ( (1/k) sum_{j<k} e_j e_j^T ) W e_q
    softmax:                                y_hat = sum_{j<k} softmax_j(e_j^T W e_q) v^T e_j

with k the number of examples before the query. A prompt left-padded with zero tokens
(data/icl.py, ``sample_padded``) is read exactly as the unpadded one when the functions are
told where its examples start: ``n_ctx`` (the count k of the linear model) and ``keys`` (the
positions softmax may attend to; a zero key would otherwise get weight e^0). The prefix forms evaluate position k = 0..N
with the token e_k (y zeroed) as the query and the k tokens before it as the context (k = 0
predicts 0), giving Garg-style error-against-context-length curves in one pass.

The linear model is linear in the tensor T_abc = v_a W_bc with the prompt entering only
through the features Phi_abc = S_ab (e_q)_c, S = (1/N) sum_j e_j e_j^T, so the mean squared
error over a fixed training set is the quadratic form (1/2)(T^T G T - 2 r^T T + mean y^2) with
G = mean Phi Phi^T, r = mean y Phi (``linear_gram``): a GD step then costs O(D^6), not O(n N D^2).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class AttnParams(NamedTuple):
    v: jax.Array  # [D]
    w: jax.Array  # [D, D]


def init(key: jax.Array, dim: int, std) -> AttnParams:
    kv, kw = jax.random.split(key)
    return AttnParams(v=std * jax.random.normal(kv, (dim,)), w=std * jax.random.normal(kw, (dim, dim)))


def init_zfb(dim: int, sigma) -> AttnParams:
    """The init of Zhang, Frei & Bartlett (2024) under which GD provably reaches the optimum:
    v = sigma e_y, W = sigma [[Theta, 0], [0, 0]] with Theta = I_d / sqrt(d) (|Theta|_F = 1).
    (From a generic random init GD often stalls at a loss plateau ~3x the optimum.)"""
    d = dim - 1
    v = jnp.zeros(dim).at[d].set(sigma)
    w = jnp.zeros((dim, dim)).at[:d, :d].set(sigma * jnp.eye(d) / jnp.sqrt(d))
    return AttnParams(v=v, w=w)


def linear_features(tok: jax.Array, n_ctx=None) -> tuple[jax.Array, jax.Array]:
    """tok [..., N+1, D] -> (S [..., D, D], e_q [..., D]) of the last position; ``n_ctx``: the
    number of examples (default N; fewer when the context is left-padded with zero tokens)."""
    ctx = tok[..., :-1, :]
    s = jnp.einsum("...ld,...le->...de", ctx, ctx) / (ctx.shape[-2] if n_ctx is None else n_ctx)
    return s, tok[..., -1, :]


def linear_from_features(p: AttnParams, s: jax.Array, e_q: jax.Array) -> jax.Array:
    """[...]: v^T S W e_q."""
    return jnp.einsum("d,...de,...e->...", p.v, s, e_q @ p.w.T)


def linear_gram(tok: jax.Array, y: jax.Array, n_ctx=None) -> tuple[jax.Array, jax.Array, jax.Array]:
    """tok [n, N+1, D], y [n] -> (G [D^3, D^3], r [D^3], mean y^2) of the features Phi."""
    s, e_q = linear_features(tok, n_ctx)
    phi = (s[:, :, :, None] * e_q[:, None, None, :]).reshape(len(y), -1)  # [n, D^3]
    return phi.T @ phi / len(y), phi.T @ y / len(y), jnp.mean(y**2)


def linear_loss_from_gram(p: AttnParams, gram, rhs, y2) -> jax.Array:
    """(1/2) mean (y_hat - y)^2 over the set summarised by ``linear_gram``."""
    t = (p.v[:, None, None] * p.w[None]).reshape(-1)  # T_abc = v_a W_bc
    return 0.5 * (t @ gram @ t - 2 * rhs @ t + y2)


def _queries(tok: jax.Array) -> jax.Array:
    """Every position as a query: the y coordinate zeroed."""
    return tok.at[..., -1].set(0.0)


def linear_prefix(p: AttnParams, tok: jax.Array, first=0) -> jax.Array:
    """tok [n, N+1, D] -> [n, N+1]: prediction at every position from the tokens before it;
    ``first``: the position of the first example (the zero tokens before it are not counted)."""
    n_pos = tok.shape[1]
    mask = jnp.tril(jnp.ones((n_pos, n_pos)), k=-1)  # [K, L]: j < k
    count = jnp.maximum(jnp.arange(n_pos) - first, 1.0)[:, None]
    vals = tok @ p.v  # [n, L]
    scores = jnp.einsum("nld,nkd->nkl", tok, _queries(tok) @ p.w.T)  # e_j^T W e_k
    return jnp.einsum("nkl,nl->nk", scores * mask / count, vals)


def softmax_prefix(p: AttnParams, tok: jax.Array, keys=None) -> jax.Array:
    """tok [n, N+1, D] -> [n, N+1]: causal softmax attention, position k attends to j < k
    (and only to the positions where ``keys`` [N+1] bool is True, when given)."""
    n_pos = tok.shape[1]
    mask = jnp.tril(jnp.ones((n_pos, n_pos), bool), k=-1)
    if keys is not None:
        mask = mask & keys[None, :]
    scores = jnp.einsum("nld,nkd->nkl", tok, _queries(tok) @ p.w.T)
    att = jax.nn.softmax(jnp.where(mask, scores, -jnp.inf), axis=-1, where=mask)
    att = jnp.where(mask, att, 0.0)  # row k = 0 has no key: predicts 0
    return jnp.einsum("nkl,nl->nk", att, tok @ p.v)


def softmax_last(p: AttnParams, tok: jax.Array, keys=None) -> jax.Array:
    """tok [..., N+1, D] -> [...]: the softmax model's prediction for the query (attending only
    to the context positions where ``keys`` [N] bool is True, when given)."""
    ctx, e_q = tok[..., :-1, :], tok[..., -1, :]
    scores = jnp.einsum("...ld,...d->...l", ctx, e_q @ p.w.T)
    att = jax.nn.softmax(scores if keys is None else jnp.where(keys, scores, -jnp.inf), axis=-1)
    return jnp.einsum("...l,...l->...", att, ctx @ p.v)
