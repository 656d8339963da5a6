"""The one-layer, position-only attention of "Transformers Provably Solve Parity Efficiently
with Chain of Thought" (Kim & Suzuki; ICLR 2025; arXiv:2410.08633, Sec. 2).

Token j carries the j-th bit of every sample; scores depend on positions only: node m attends to
j in its allowed set A(m) with weight softmax_j(w_{j,m}) (W [D, D], D = d + k - 1, row = key j,
column = query m, init 0) and outputs

    z_m = sum_{j in A(m)} softmax_j(w_{., m}) x_j,     xhat_m = phi(z_m)

with the fixed link phi(t) = -4t^2 - 8t - 3 on [-1, -1/2), 4t^2 - 1 on [-1/2, 1/2),
-4t^2 + 8t - 3 on [1/2, 1], so phi(0) = -1, phi(+-1) = 1, phi(+-1/2) = 0, phi ~ -1 + c t^2 with
c = 4: phi((a + b)/2) = a b for a, b in {+-1}. No residual, no other layer. Only nodes m >= d
(0-based) are generated.

Masks: causal A(m) = {j < m} (teacher forcing; the direct model), block A(m) = {j < d_{h(m)-1}}
(CoT without teacher forcing: a node sees the inputs and the levels below its own).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from theorylab.data.parity_tree import level_ends, levels

C_LINK = 4.0  # phi(t) ~ -1 + C_LINK t^2 near 0


def phi(t: jax.Array) -> jax.Array:
    """The paper's link, elementwise."""
    return jnp.where(t < -0.5, -4 * t**2 - 8 * t - 3, jnp.where(t < 0.5, 4 * t**2 - 1, -4 * t**2 + 8 * t - 3))


def causal_mask(d: int, k: int) -> np.ndarray:
    """[D, k-1] bool: key j allowed for internal node d + i iff j < d + i."""
    n = d + k - 1
    return np.arange(n)[:, None] < (d + np.arange(k - 1))[None, :]


def block_mask(d: int, k: int) -> np.ndarray:
    """[D, k-1] bool: key j allowed for a node of level h iff j < d_{h-1} (inputs and lower levels)."""
    n = d + k - 1
    ends = level_ends(d, k)
    lim = ends[levels(d, k) - 1]
    return np.arange(n)[:, None] < lim[None, :]


def attention(w: jax.Array, mask: np.ndarray, d: int) -> jax.Array:
    """[D, k-1]: softmax over allowed keys j of w[j, m] for the internal nodes m = d..D-1."""
    s = jnp.where(mask, w[:, d:], -jnp.inf)
    return jax.nn.softmax(s, axis=0)


def teacher_forced(w: jax.Array, x: jax.Array, d: int, k: int) -> jax.Array:
    """[n, k-1]: xhat_m from the ground-truth chain x [n, D] under the causal mask."""
    return phi(x @ attention(w, causal_mask(d, k), d))


def generate(w: jax.Array, bits: jax.Array, d: int, k: int, mask: np.ndarray | None = None) -> jax.Array:
    """[n, D]: the chain generated node by node from the input bits [n, d] (every z_m reads the
    generated values of earlier nodes); the last column is yhat."""
    a = attention(w, causal_mask(d, k) if mask is None else mask, d)
    x = jnp.concatenate([bits, jnp.zeros((bits.shape[0], k - 1), bits.dtype)], axis=1)

    def one(i, x):
        return x.at[:, d + i].set(phi(x @ a[:, i]))

    return jax.lax.fori_loop(0, k - 1, one, x)


def cot_loss(xhat: jax.Array, x_nodes: jax.Array) -> jax.Array:
    """(1/2n) sum_m |xhat_m - x_m|^2 / (k-1): the CoT loss, scaled by 1/(k-1) as in the paper's
    experiments. xhat, x_nodes [n, k-1]."""
    return 0.5 * jnp.mean(jnp.sum((xhat - x_nodes) ** 2, axis=1)) / x_nodes.shape[1]


def child_mass(w: jax.Array, children: jax.Array, d: int, k: int, mask: np.ndarray | None = None) -> jax.Array:
    """[k-1]: the softmax mass each internal node puts on its two children."""
    a = attention(w, causal_mask(d, k) if mask is None else mask, d)
    i = jnp.arange(k - 1)
    return a[children[:, 0], i] + a[children[:, 1], i]


def zero_gradient_formula(d: int, k: int) -> np.ndarray:
    """[k-1]: the child entries of the TF gradient at W = 0 (App. B), with the 1/(k-1) scaling:
    -2c / ((k-1)(m-1)^2), m the paper's 1-based node index (m - 1 = d + i keys are visible)."""
    m_minus_1 = d + np.arange(k - 1)
    return -2 * C_LINK / ((k - 1) * m_minus_1.astype(float) ** 2)
