"""Autoregressive sequences s_{t+1} = W s_t with a fresh orthogonal (or unitary) W per sequence.

The data of "How do Transformers perform In-Context Autoregressive Learning?" (Sander, Giryes,
Suzuki, Blondel, Peyré; ICML 2024; arXiv:2402.05787), as in the authors' code:

    s_0 = 1/sqrt(d) * ones(d)  (the same for every sequence),   s_{t+1} = W s_t,  t = 0..n-1

with W drawn per sequence from one of the families

    "haar":       Haar-orthogonal (non-commuting), from Gram-Schmidt on a Gaussian matrix with
                  the signs fixed so that R has a positive diagonal (Mezzadri 2007);
    "rotations":  block-diagonal 2x2 rotations R(theta_j), theta_j ~ U[0, 2 pi) (d even): a
                  commuting family;

and, for the positional-encoding experiment (d = 1, complex): s_0 = 1, lambda = exp(i theta / mu),
theta ~ U[0, 2 pi), s_{t+1} = lambda s_t.

Pure jnp (no LAPACK call inside a compiled, vmapped program: the Gram-Schmidt is unrolled over
the d columns).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

FAMILIES = ("haar", "rotations")


def haar_orthogonal(key: jax.Array, m: int, d: int) -> jax.Array:
    """[m, d, d] Haar-distributed orthogonal matrices: the Q of Z = QR (Z Gaussian), with R's
    diagonal made positive, computed by Gram-Schmidt on the columns of Z (two projection passes
    per column)."""
    z = jax.random.normal(key, (m, d, d))
    cols = []
    for j in range(d):
        v = z[:, :, j]
        for _ in range(2):  # "twice is enough": a second pass restores orthogonality in float32
            for q in cols:
                v = v - jnp.sum(q * v, axis=-1, keepdims=True) * q
        cols.append(v / jnp.linalg.norm(v, axis=-1, keepdims=True))
    return jnp.stack(cols, axis=-1)


def block_rotations(key: jax.Array, m: int, d: int) -> jax.Array:
    """[m, d, d] block-diagonal rotations diag(R(theta_1), ..., R(theta_{d/2})), theta ~ U[0, 2 pi)."""
    if d % 2:
        raise ValueError(f"block rotations need an even dimension, got d = {d}")
    theta = jax.random.uniform(key, (m, d // 2), maxval=2 * jnp.pi)
    c, s = jnp.cos(theta), jnp.sin(theta)
    blocks = jnp.stack([jnp.stack([c, -s], -1), jnp.stack([s, c], -1)], -2)  # [m, d/2, 2, 2]
    eye = jnp.eye(d // 2)
    return jnp.einsum("ij,mipq->mipjq", eye, blocks).reshape(m, d, d)


def draw_w(key: jax.Array, m: int, d: int, family: str) -> jax.Array:
    if family == "haar":
        return haar_orthogonal(key, m, d)
    if family == "rotations":
        return block_rotations(key, m, d)
    raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")


def rollout(w: jax.Array, n: int) -> jax.Array:
    """[m, n+1, d]: s_0 = ones/sqrt(d), s_{t+1} = W s_t, for W [m, d, d]."""
    m, d, _ = w.shape
    s0 = jnp.full((m, d), 1.0 / jnp.sqrt(d), w.dtype)

    def step(s, _):
        nxt = jnp.einsum("mij,mj->mi", w, s)
        return nxt, nxt

    _, rest = jax.lax.scan(step, s0, None, length=n)
    return jnp.concatenate([s0[:, None], jnp.swapaxes(rest, 0, 1)], axis=1)


def sample(key: jax.Array, m: int, *, d: int, n: int, family: str) -> jax.Array:
    """[m, n+1, d]: m sequences s_0..s_n, each with its own W of the family."""
    return rollout(draw_w(key, m, d, family), n)


def sample_scalar_complex(key: jax.Array, m: int, *, n: int, mu) -> jax.Array:
    """[m, n+1] complex: s_0 = 1, s_{t+1} = lambda s_t with lambda = exp(i theta / mu),
    theta ~ U[0, 2 pi) (the positional-encoding experiment, d = 1)."""
    theta = jax.random.uniform(key, (m, 1), maxval=2 * jnp.pi)
    t = jnp.arange(n + 1)[None, :]
    return jnp.exp(1j * theta * t / mu)
