"""One-layer attention on [position; token; previous token] embeddings, index-based.

The theoretical model of "From Shortcut to Induction Head: How Data Diversity Shapes
Algorithm Selection in Transformers" (arXiv:2512.18634, Sec. 2): with one-hot blocks

    x_t = [p_t; e_{z_t}; e_{z_{t-1}}] in R^D,  D = L + 2N   (the previous-token slot of t = 1 is 0)
    f(X) = W_V X softmax(X^T W_KQ x_T) in R^N,   p(next = k) = softmax(f)_k

the query is the last token x_T; it attends to all T positions, its own included; no 1/sqrt(D)
scaling. W_KQ [D, D] is tied key-query with the row the key and the column the query
(s_t = x_t^T W_KQ x_T); W_V [N, D] has the FFN folded in.

Nothing is one-hot in memory: x_t has three nonzeros, so with slot indices
I_t = (t, L + z_t, L + N + z_{t-1}),

    c = W_KQ x_T = sum_{b in I_T} W_KQ[:, b]                  (gather of 3 columns)   [D]
    s_t = sum_{a in I_t} c[a]                                 (gathers)               [T]
    xbar = sum_t a_t x_t = scatter-add of a_t at I_t          (a = softmax(s))        [D]
    f = W_V xbar                                                                      [N]

which is 5-10x faster than the dense form and makes large vocabularies cheap. Autodiff gives the
gradients (gathers <-> scatter-adds).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class Params(NamedTuple):
    w_v: jax.Array  # [N, D]
    w_kq: jax.Array  # [D, D]: row = key slot, column = query slot


def dim(n_pos: int, n_vocab: int) -> int:
    """D = L + 2N."""
    return n_pos + 2 * n_vocab


def zeros(n_pos: int, n_vocab: int, dtype=None) -> Params:
    """The paper's initialisation: W_V = 0, W_KQ = 0."""
    d = dim(n_pos, n_vocab)
    return Params(jnp.zeros((n_vocab, d), dtype), jnp.zeros((d, d), dtype))


def slots(tokens: jax.Array, length: jax.Array, n_pos: int, n_vocab: int) -> tuple[jax.Array, jax.Array]:
    """(idx [M, t_max, 3] int32, weight [M, t_max, 3] in {0, 1}) of the three nonzeros of every
    x_t: position t, token slot L + z_t, previous-token slot L + N + z_{t-1}. The previous slot
    of t = 0 and every slot of a padded position (t >= length) have weight 0."""
    m, t_max = tokens.shape
    t = jnp.broadcast_to(jnp.arange(t_max), (m, t_max))
    prev = jnp.concatenate([jnp.zeros((m, 1), tokens.dtype), tokens[:, :-1]], axis=1)
    idx = jnp.stack([t, n_pos + tokens, n_pos + n_vocab + prev], axis=-1).astype(jnp.int32)
    valid = t < length[:, None]
    w = jnp.stack([valid, valid, valid & (t > 0)], axis=-1)
    return idx, w.astype(jnp.float32)


def attention(params: Params, idx: jax.Array, w: jax.Array, length: jax.Array) -> jax.Array:
    """[M, t_max]: softmax over t < length of s_t = x_t^T W_KQ x_T (0 on padded positions)."""
    last = jnp.take_along_axis(idx, (length - 1)[:, None, None], axis=1)[:, 0]  # [M, 3]
    w_last = jnp.take_along_axis(w, (length - 1)[:, None, None], axis=1)[:, 0]  # [M, 3]
    c = jnp.einsum("mbd,mb->md", params.w_kq.T[last], w_last)  # [M, D] = W_KQ x_T
    s = jnp.sum(jnp.take_along_axis(c, idx.reshape(idx.shape[0], -1), axis=1).reshape(idx.shape) * w,
                axis=-1)  # [M, t_max]
    valid = jnp.arange(idx.shape[1])[None, :] < length[:, None]
    s = jnp.where(valid, s, -jnp.inf)
    return jax.nn.softmax(s, axis=-1)


def pooled(a: jax.Array, idx: jax.Array, w: jax.Array, d: int) -> jax.Array:
    """[M, D]: xbar = sum_t a_t x_t (scatter-add of a_t [M, t_max] at the slots idx, weights w)."""
    vals = (a[..., None] * w).reshape(a.shape[0], -1)

    def one(i, v):
        return jnp.zeros((d,), v.dtype).at[i].add(v)

    return jax.vmap(one)(idx.reshape(a.shape[0], -1), vals)


def logits(params: Params, tokens: jax.Array, length: jax.Array, n_pos: int) -> jax.Array:
    """[M, N]: f(X) for sequences tokens [M, t_max] of lengths length [M] (<= n_pos)."""
    n_vocab, d = params.w_v.shape
    idx, w = slots(tokens, length, n_pos, n_vocab)
    a = attention(params, idx, w, length)
    return pooled(a, idx, w, d) @ params.w_v.T


def cross_entropy(f: jax.Array, target: jax.Array) -> jax.Array:
    """Mean over M of -log softmax(f)[target]; f [M, N], target [M] int."""
    logp = jax.nn.log_softmax(f, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, target[:, None], axis=1))


def dense_embedding(tokens: jax.Array, length: jax.Array, n_pos: int, n_vocab: int) -> jax.Array:
    """[M, t_max, D]: the one-hot x_t themselves (zero rows beyond the length). The reference the
    index-based form is tested against; too large for training batches."""
    idx, w = slots(tokens, length, n_pos, n_vocab)
    d = dim(n_pos, n_vocab)
    return jnp.sum(jax.nn.one_hot(idx, d) * w[..., None], axis=2)


def logits_dense(params: Params, x: jax.Array, length: jax.Array) -> jax.Array:
    """[M, N]: f(X) = W_V X softmax(X^T W_KQ x_T) from dense embeddings x [M, t_max, D]."""
    x_last = jnp.take_along_axis(x, (length - 1)[:, None, None], axis=1)[:, 0]  # [M, D]
    s = jnp.einsum("mtd,de,me->mt", x, params.w_kq, x_last)
    valid = jnp.arange(x.shape[1])[None, :] < length[:, None]
    a = jax.nn.softmax(jnp.where(valid, s, -jnp.inf), axis=-1)
    return jnp.einsum("mt,mtd,nd->mn", a, x, params.w_v)
