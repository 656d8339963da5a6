"""In-context prompts of single-index tasks whose direction lives in a hidden r-dim subspace.

The task family of "Pretrained transformer efficiently learns low-dimensional target functions
in-context" (Oko, Song, Suzuki, Wu; arXiv:2411.02544, Assumption 1), shared by the Mamba
(arXiv:2510.12026) and test-time-training (arXiv:2509.25741) follow-ups. One prompt:

    beta = S u,  u ~ Unif(S^{r-1}),            S [d, r] an orthonormal basis of the task subspace
    x_1..x_N, x_q ~ N(0, I_d),
    f_i = sigma*(<beta, x_i>) = sum_k c_k h_k(<beta, x_i>),   h_k = He_k / sqrt(k!)
    y_i = f_i + tau s_i,  s_i ~ Unif{-1, +1}                  (the query label carries noise too)

The coefficients c [K+1] (in the orthonormal h_k basis, ``data.hermite_expansion``) are shared by
every prompt, or drawn per prompt (c [n, K+1]): the varying links of arXiv:2509.25741. The
subspace is a coordinate one (S = [e_i, i in I]: the Mamba paper needs it, its mixing matrix is
diagonal) or any orthonormal basis (``coordinate_basis`` / ``rotated_basis``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from theorylab.data.hermite_expansion import hermite


class Prompts(NamedTuple):
    x: jax.Array  # [n, N+1, d]; row N is the query x_q
    y: jax.Array  # [n, N+1]; noisy labels, y[:, N] the query's noisy label
    f: jax.Array  # [n, N+1]; clean targets sigma*(<beta, x>)
    beta: jax.Array  # [n, d]; unit task directions inside the subspace


def coordinate_basis(d: int, r: int) -> jax.Array:
    """[d, r]: S = span(e_1..e_r) (any coordinate subspace, up to relabelling the inputs)."""
    return jnp.eye(d, r)


def rotated_basis(key: jax.Array, d: int, r: int) -> jax.Array:
    """[d, r]: an orthonormal basis of a uniformly random r-dim subspace (Gram-Schmidt on a
    Gaussian matrix, written with jnp ops: no LAPACK call)."""
    g = jax.random.normal(key, (d, r))
    cols = []
    for j in range(r):
        v = g[:, j]
        for c in cols:
            v = v - (c @ v) * c
        cols.append(v / jnp.linalg.norm(v))
    return jnp.stack(cols, axis=1)


def link_values(c: jax.Array, z: jax.Array) -> jax.Array:
    """sigma*(z) = sum_k c_k h_k(z) for coefficients c [..., K+1] broadcast against z [..., L]
    (c's leading axes match z's leading axes; K static)."""
    k_max = c.shape[-1] - 1
    return sum(c[..., k, None] * hermite(k, z) for k in range(k_max + 1))


def sample(key: jax.Array, n: int, n_ctx: int, basis: jax.Array, coeffs: jax.Array, tau=0.0) -> Prompts:
    """n prompts of n_ctx examples and one query. basis [d, r] orthonormal; coeffs [K+1]
    (shared) or [n, K+1] (one link per prompt); tau >= 0 (may be traced)."""
    d, r = basis.shape
    ku, kx, ks = jax.random.split(key, 3)
    u = jax.random.normal(ku, (n, r))
    beta = (u / jnp.linalg.norm(u, axis=-1, keepdims=True)) @ basis.T
    x = jax.random.normal(kx, (n, n_ctx + 1, d))
    c = jnp.broadcast_to(coeffs, (n, coeffs.shape[-1]))
    f = link_values(c, jnp.einsum("nld,nd->nl", x, beta))
    y = f + tau * jax.random.rademacher(ks, f.shape, f.dtype)
    return Prompts(x=x, y=y, f=f, beta=beta)


def take(p: Prompts, start: int, stop: int) -> Prompts:
    """Prompts start..stop-1."""
    return Prompts(*(a[start:stop] for a in p))


def prefix(p: Prompts, n_ctx: int) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]:
    """The first n_ctx examples and the query of each prompt: (x [n, n_ctx, d], y [n, n_ctx],
    x_q [n, d], y_q [n], f_q [n])."""
    return p.x[:, :n_ctx], p.y[:, :n_ctx], p.x[:, -1], p.y[:, -1], p.f[:, -1]
