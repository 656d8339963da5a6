"""Closed-form population losses of "How do Transformers perform In-Context Autoregressive
Learning?" (Sander, Giryes, Suzuki, Blondel, Peyré; ICML 2024; arXiv:2402.05787, Fig. 3), as
written in the authors' code (github michaelsdr/ical, unitary.py and orthogonal.py).

Parameters A, B (heads x d) and a positional matrix P [T, T]; C = B^T A [d, d]. The total loss
sums a per-position loss over the rows t = 0..T-2 of P, each restricted to its first t+2 entries
p = P[t, :t+2]; p_{-1}, p_{-2} are the last two entries of p (P[t, t+1] and P[t, t]).

* unitary (diagonal unitary W, A, B in R^{d x d}):
      l(C, p) = |p|^2 |C|_F^2 + p_{-2}^2 1^T C^T C 1 - 2 tr(C) p_{-1} + d
  minimum 0 at C = c I, c p_{-1} = 1, every other entry of p = 0.
* orthogonal (2x2 rotation blocks, A, B in R^{H x d}), with r = row sums of C,
      t1 = 1^T C^T C 1,   t2 = |C|_F^2,
      t3 = sum_i (r_{2i} C_{2i,2i+1} + r_{2i+1} C_{2i+1,2i}),
      t4 = sum_i (C_{2i,2i+1}^2 + C_{2i+1,2i}^2),
      l(C, p) = p_{-2}^2 t1 + (|p|^2 - p_{-2}^2) t2 + 2 t3 (p_{-2} sum(p) - p_{-2}^2)
                + ((sum p~)^2 - |p~|^2) t4 - 2 tr(C) p_{-1} + d,      p~ = p without p_{-2}
  minimum 0 at C = c blockdiag([[1, 1], [1, 1]]), c p_{-1} = 1, c p_{-2} = -1/2 (per plane,
  s_{T+1} = 2 cos(theta) s_T - s_{T-1}, Cayley-Hamilton).

The model behind these formulas is not in the code; they are implemented as given. Vectorised
over rows with a mask (no Python loop over t), differentiable in A, B, P.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _rows(P: jax.Array):
    """(masked rows p [T-1, T], p_{-1} [T-1], p_{-2} [T-1]) for the rows t = 0..T-2."""
    T = P.shape[0]
    t = jnp.arange(T - 1)[:, None]
    k = jnp.arange(T)[None, :]
    p = jnp.where(k <= t + 1, P[:-1], 0.0)
    idx = jnp.arange(T - 1)
    return p, P[idx, idx + 1], P[idx, idx]


def unitary_loss(A: jax.Array, B: jax.Array, P: jax.Array) -> jax.Array:
    """Total closed-form loss, unitary case. A, B [d, d], P [T, T] -> scalar.

    Evaluated as the same polynomial regrouped into non-negative terms,
        l = |p_{-1} C - I|_F^2 + (|p|^2 - p_{-1}^2) |C|_F^2 + p_{-2}^2 |C 1|^2,
    so that float32 resolves losses far below d (the literal form cancels terms of size d)."""
    C = B.T @ A
    d = C.shape[0]
    p, p1, p2 = _rows(P)
    eye = jnp.eye(d, dtype=C.dtype)
    fit = jnp.sum((p1[:, None, None] * C[None] - eye) ** 2, axis=(1, 2))
    rest = jnp.sum(jnp.where(jnp.arange(P.shape[0])[None, :] == jnp.arange(P.shape[0] - 1)[:, None] + 1, 0.0, p) ** 2, 1)
    per = fit + rest * jnp.sum(C**2) + p2**2 * jnp.sum(jnp.sum(C, axis=1) ** 2)
    return jnp.sum(per)


def orthogonal_terms(C: jax.Array) -> tuple[jax.Array, ...]:
    """(t1, t2, t3, t4, tr C) of the orthogonal loss for C [d, d], d even."""
    r = C.sum(-1)
    up, down = jnp.diagonal(C, 1)[::2], jnp.diagonal(C, -1)[::2]  # C[2i, 2i+1], C[2i+1, 2i]
    t3 = jnp.sum(r[::2] * up + r[1::2] * down)
    t4 = jnp.sum(up**2) + jnp.sum(down**2)
    return jnp.sum(C.T @ C), jnp.sum(C**2), t3, t4, jnp.trace(C)


def orthogonal_loss(A: jax.Array, B: jax.Array, P: jax.Array) -> jax.Array:
    """Total closed-form loss, orthogonal 2x2-block case. A, B [H, d], P [T, T] -> scalar."""
    C = B.T @ A
    d = C.shape[0]
    t1, t2, t3, t4, tr = orthogonal_terms(C)
    p, p1, p2 = _rows(P)
    sq, sm = jnp.sum(p**2, 1), jnp.sum(p, 1)
    sq_tilde, sm_tilde = sq - p2**2, sm - p2
    per = (p2**2 * t1 + (sq - p2**2) * t2 + 2 * t3 * (p2 * sm - p2**2)
           + (sm_tilde**2 - sq_tilde) * t4 - 2 * tr * p1 + d)
    return jnp.sum(per)


def unitary_loss_loop(A, B, P) -> float:
    """The authors' loop over rows, literally (the reference the vectorised form is tested against)."""
    import numpy as np

    A, B, P = (np.asarray(x, np.float64) for x in (A, B, P))
    C = B.T @ A
    d = C.shape[0]
    total = 0.0
    for t in range(P.shape[0] - 1):
        p = P[t, :t + 2]
        total += (p**2).sum() * (C**2).sum() + p[-2] ** 2 * (C.T @ C).sum() - 2 * np.trace(C) * p[-1] + d
    return float(total)


def orthogonal_loss_loop(A, B, P) -> float:
    """The authors' loop over rows, literally (numpy, float64)."""
    import numpy as np

    A, B, P = (np.asarray(x, np.float64) for x in (A, B, P))
    C = B.T @ A
    d = C.shape[0]
    t1 = (C.T @ C).sum()
    t2 = (C**2).sum()
    t3 = (C.sum(-1)[::2] * np.diag(C, k=1)[::2] + C.sum(-1)[1::2] * np.diag(C, k=-1)[::2]).sum()
    t4 = np.diag(C**2, k=1)[::2].sum() + np.diag(C**2, k=-1)[::2].sum()
    total = 0.0
    for t in range(P.shape[0] - 1):
        p = P[t, :t + 2]
        pt = np.append(p[:-2], p[-1])
        total += (p[-2] ** 2 * t1 + ((p**2).sum() - p[-2] ** 2) * t2 + 2 * t3 * ((p[-2] * p).sum() - p[-2] ** 2)
                  + (pt.sum() ** 2 - (pt**2).sum()) * t4 - 2 * np.trace(C) * p[-1] + d)
    return float(total)


def one_step_gd_best_eta(g: jax.Array, target: jax.Array, weight: jax.Array | None = None) -> jax.Array:
    """The scalar eta minimising sum |eta g - target|^2 (one in-context GD step from W' = 0 with
    the best step size): eta* = <g, target> / |g|^2. g, target [..., d]; weight [...] optional."""
    w = 1.0 if weight is None else weight[..., None]
    return jnp.sum(w * g * target) / jnp.sum(w * g * g)
