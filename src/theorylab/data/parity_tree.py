"""k-parity with its chain-of-thought tree.

From "Transformers Provably Solve Parity Efficiently with Chain of Thought" (Kim & Suzuki;
ICLR 2025; arXiv:2410.08633, Sec. 2 and App. D):
x ~ Unif{+-1}^d, a secret subset p of k = 2^v coordinates, y = prod_{j in p} x_j. The chain of
thought is a binary tree over nodes 0..d+k-2 (0-based here; the paper's node m is index m-1):

    leaves   x_0..x_{d-1}                       the input bits (k of them are in the tree)
    level 1  x_d..x_{d+k/2-1}                   products of pairs of the k chosen bits
    level l  the next 2^{v-l} nodes             products of pairs of level l-1 nodes
    top      x_{d+k-2} = y

Nodes are numbered level by level, left to right; level l ends at d_l = d + sum_{j<=l} 2^{v-j}
(exclusive, 0-based). Leaf order and pairing are not given by the paper: a random permutation of
p paired consecutively (toolkit default).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class ParityTree(NamedTuple):
    children: jax.Array  # [k-1, 2] int32: the two children (node indices) of internal node d + i


def levels(d: int, k: int) -> np.ndarray:
    """[k-1] int: the level (1..v) of each internal node d..d+k-2."""
    v = int(np.log2(k))
    return np.concatenate([np.full(2 ** (v - l), l) for l in range(1, v + 1)])


def level_ends(d: int, k: int) -> np.ndarray:
    """[v+1]: d_0 = d, d_l = d + sum_{j<=l} 2^{v-j} (exclusive ends of each level, 0-based)."""
    v = int(np.log2(k))
    return d + np.concatenate([[0], np.cumsum([2 ** (v - l) for l in range(1, v + 1)])])


def check_sizes(d: int, k: int) -> None:
    if k < 2 or k & (k - 1):
        raise ValueError(f"k must be a power of two >= 2, got {k}")
    if k > d:
        raise ValueError(f"k = {k} must be <= d = {d}")


def sample_tree(key: jax.Array, d: int, k: int) -> ParityTree:
    """A random subset p of k bits in random order, paired consecutively, then the fixed pairing
    of each level's nodes."""
    check_sizes(d, k)
    leaves = jax.random.permutation(key, d)[:k].astype(jnp.int32)
    rows = [leaves.reshape(-1, 2)]
    ends = level_ends(d, k)
    for l in range(1, len(ends) - 1):
        rows.append(jnp.arange(ends[l - 1], ends[l], dtype=jnp.int32).reshape(-1, 2))
    return ParityTree(jnp.concatenate(rows, axis=0))


def node_values(bits: jax.Array, tree: ParityTree) -> jax.Array:
    """[n, d+k-1]: the input bits [n, d] followed by every internal node (products of children)."""
    k1 = tree.children.shape[0]
    out = jnp.concatenate([bits, jnp.zeros((bits.shape[0], k1), bits.dtype)], axis=1)

    def one(i, x):
        c = tree.children[i]
        return x.at[:, bits.shape[1] + i].set(x[:, c[0]] * x[:, c[1]])

    return jax.lax.fori_loop(0, k1, one, out)


def sample_bits(key: jax.Array, n: int, d: int) -> jax.Array:
    """[n, d] i.i.d. uniform +-1."""
    return jnp.where(jax.random.bernoulli(key, 0.5, (n, d)), 1.0, -1.0)
