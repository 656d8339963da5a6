"""Trigger -> output copying sequences (the induction-head task).

From "From Shortcut to Induction Head: How Data Diversity Shapes Algorithm Selection in
Transformers" (Kawata, Song, Bietti et al.; NeurIPS 2025; arXiv:2512.18634, Sec. 2). Vocabulary
[N], tokens 0-based here: triggers 0..n_trg-1, non-triggers n_trg..N-1. A sequence with
subtext lengths (l1, l2) has length T = l1 + l2 + 3 (1-based positions):

    z_1..z_l1         i.i.d. uniform non-triggers (filler)
    z_{l1+1} = t      a uniform trigger
    z_{l1+2} = o      a uniform non-trigger: the output to copy
    z_{l1+3}..z_{T-1} filler (l2 tokens)
    z_T = t           the trigger again: the target is z_{T+1} = o

Filler may equal o; nothing excludes it. Laws of (l1, l2):

    train / ID test:  l1 = l2 = l ~ D_l  (weights q_l over l = 0..l_cap; a positional rule
                      "copy position (T+1)/2" is then exact)
    shifted (OOD):    l ~ Unif{lo..hi}, l1 ~ Unif({1..2l-1} minus {l}), l2 = 2l - l1: the
                      length T = 2l+3 of training, with the first trigger moved. The paper's
                      OOD test is lo = l_min + 1, hi = l_max.

Sequences are padded to a static width t_max with token 0 beyond their length; every length
bound may be a traced scalar, so one compiled program serves many (l_min, l_max).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

LAWS = ("uniform", "linear")


class CopyBatch(NamedTuple):
    tokens: jax.Array  # [M, t_max] int32, 0 beyond the length
    length: jax.Array  # [M] int32: T = l1 + l2 + 3
    l1: jax.Array  # [M] int32: the first trigger sits at 0-based index l1, the output at l1 + 1
    target: jax.Array  # [M] int32: o


def length_weights(l_min, l_max, l_cap: int, law: str = "uniform") -> jax.Array:
    """[l_cap + 1] unnormalised weights q_l over l = 0..l_cap, zero outside [l_min, l_max]:
    "uniform" (q_l = 1) or "linear" (q_l = l, the cheapest law of Prop. 8)."""
    ell = jnp.arange(l_cap + 1)
    inside = (ell >= l_min) & (ell <= l_max)
    if law == "uniform":
        return inside.astype(jnp.float32)
    if law == "linear":
        return jnp.where(inside, ell, 0).astype(jnp.float32)
    raise ValueError(f"length law must be one of {', '.join(LAWS)}, got {law!r}")


def _uniform_int(key, shape, lo, hi) -> jax.Array:
    """Unif{lo..hi} (inclusive; lo, hi may be traced or arrays broadcasting to shape)."""
    u = jax.random.uniform(key, shape)
    return jnp.minimum(lo + jnp.floor(u * (hi - lo + 1)).astype(jnp.int32), hi).astype(jnp.int32)


def build(key: jax.Array, l1: jax.Array, l2: jax.Array, *, n_vocab: int, n_trg, t_max: int) -> CopyBatch:
    """Sequences with the given subtext lengths l1, l2 [M] (l1 + l2 + 3 <= t_max)."""
    m = l1.shape[0]
    k_fill, k_trg, k_out = jax.random.split(key, 3)
    fill = _uniform_int(k_fill, (m, t_max), n_trg, n_vocab - 1)
    trg = _uniform_int(k_trg, (m,), 0, n_trg - 1)
    out = _uniform_int(k_out, (m,), n_trg, n_vocab - 1)
    length = (l1 + l2 + 3).astype(jnp.int32)
    t = jnp.arange(t_max)[None, :]
    tok = jnp.where(t == l1[:, None], trg[:, None], fill)
    tok = jnp.where(t == l1[:, None] + 1, out[:, None], tok)
    tok = jnp.where(t == length[:, None] - 1, trg[:, None], tok)
    tok = jnp.where(t < length[:, None], tok, 0).astype(jnp.int32)
    return CopyBatch(tok, length, l1.astype(jnp.int32), out)


def sample_balanced(key: jax.Array, m: int, weights: jax.Array, *, n_vocab: int, n_trg, t_max: int) -> CopyBatch:
    """M sequences with l1 = l2 = l ~ q (weights [l_cap + 1] from ``length_weights``)."""
    k_len, k_seq = jax.random.split(key)
    ell = jax.random.categorical(k_len, jnp.log(weights), shape=(m,)).astype(jnp.int32)
    return build(k_seq, ell, ell, n_vocab=n_vocab, n_trg=n_trg, t_max=t_max)


def sample_shifted(key: jax.Array, m: int, lo, hi, *, n_vocab: int, n_trg, t_max: int) -> CopyBatch:
    """M sequences of length 2l+3 with l ~ Unif{lo..hi} (lo >= 2) and the first trigger moved:
    l1 ~ Unif({1..2l-1} minus {l}), l2 = 2l - l1."""
    k_len, k_pos, k_seq = jax.random.split(key, 3)
    ell = _uniform_int(k_len, (m,), lo, hi)
    k = _uniform_int(k_pos, (m,), 0, 2 * ell - 3)  # 2l - 2 choices
    l1 = jnp.where(k + 1 < ell, k + 1, k + 2)
    return build(k_seq, l1, 2 * ell - l1, n_vocab=n_vocab, n_trg=n_trg, t_max=t_max)


def token_at(batch: CopyBatch, index: jax.Array) -> jax.Array:
    """[M]: the token at 0-based position index [M] (or a scalar) of each sequence."""
    index = jnp.broadcast_to(index, batch.length.shape)
    return jnp.take_along_axis(batch.tokens, index[:, None], axis=1)[:, 0]
