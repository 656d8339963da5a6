"""Signal-noise decomposition of the filters of the two-layer CNN (``models/cnn.py``).

Full-batch GD on patch data whose patches are +-mu or noise vectors xi_i keeps every filter in
w(0) + span(mu, xi_1, ..., xi_n), so (Towards understanding the benefit of label noise GD in
the low-SNR regime, arXiv:2510.17526; On the role of label noise in the feature
learning process, arXiv:2505.18909)

    w_{j,r}(t) = w_{j,r}(0) + j gamma_{j,r}(t) mu / |mu|^2 + sum_i rho_{j,r,i}(t) xi_i / |xi_i|^2,

gamma the signal learning and rho the noise memorisation. The n + 1 vectors are linearly
independent almost surely when n + 1 <= d, and the coefficients solve a linear system in their
span: with basis rows b_0 = mu / |mu|^2, b_i = xi_i / |xi_i|^2 and unit rows u_k = b_k / |b_k|,

    G a = U dw,   G = U U^T   [n+1, n+1],   c_k = a_k / |b_k|,

so that dw = sum_k c_k b_k (least squares; exact when dw lies in the span). Then
gamma_{j,r} = j c_0 and rho_{j,r,i} = c_i. When the noise is orthogonal to mu this gives
gamma_{j,r} = j <w_{j,r} - w_{j,r}(0), mu>.

G^-1 is computed once per run by Gauss-Jordan elimination (``models/linalg.py``: no LAPACK
call inside the compiled, vmapped program).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from theorylab.models.linalg import spd_inverse


class Basis(NamedTuple):
    unit: jax.Array  # [n+1, d] rows u_k = b_k / |b_k|
    scale: jax.Array  # [n+1] |b_k|
    gram_inv: jax.Array  # [n+1, n+1] G^-1, G = U U^T


def basis(mu: jax.Array, xi: jax.Array, mask: jax.Array | None = None) -> Basis:
    """Basis of span(mu, xi_1..xi_n) for mu [d] and xi [n, d] (see the module docstring).

    ``mask`` bool [n] (optional; the run's own samples of a bucket, ``engine/buckets.py``): the
    basis of the kept samples at the padded size. Masked rows get unit 0, scale 1 and a 1 on the
    Gram diagonal, so the Gram matrix is block diagonal (the own block, identity), its inverse
    leaves the own block as at the own size, and every coefficient of a masked row is exactly 0."""
    if mask is None:
        mask = jnp.ones(xi.shape[0], bool)
    keep = jnp.concatenate([jnp.ones((1,), bool), mask])  # [n+1]: row 0 is mu
    sq = jnp.where(mask, jnp.sum(xi**2, axis=1), 1.0)
    b = jnp.concatenate([(mu / jnp.sum(mu**2))[None], jnp.where(mask[:, None], xi, 0.0) / sq[:, None]])
    scale = jnp.where(keep, jnp.linalg.norm(b, axis=1), 1.0)
    unit = b / scale[:, None]
    return Basis(unit=unit, scale=scale, gram_inv=spd_inverse(unit @ unit.T + jnp.diag((~keep).astype(unit.dtype))))


def coefficients(dw: jax.Array, bs: Basis) -> jax.Array:
    """[..., n+1]: c with dw = sum_k c_k b_k, for dw [..., d]."""
    a = (dw @ bs.unit.T) @ bs.gram_inv  # [..., n+1]  (G is symmetric)
    return a / bs.scale


def decompose(w: jax.Array, w0: jax.Array, bs: Basis) -> tuple[jax.Array, jax.Array]:
    """gamma [2, m] and rho [2, m, n] of filters w, w0 [2, m, d] (row 0: j = +1, row 1: j = -1)."""
    c = coefficients(w - w0, bs)  # [2, m, n+1]
    j = jnp.array([1.0, -1.0])[:, None]
    return j * c[..., 0], c[..., 1:]


def reconstruct(gamma: jax.Array, rho: jax.Array, mu: jax.Array, xi: jax.Array) -> jax.Array:
    """[2, m, d]: j gamma mu / |mu|^2 + sum_i rho_i xi_i / |xi_i|^2 (the inverse of ``decompose``)."""
    j = jnp.array([1.0, -1.0])[:, None, None]
    sig = j * gamma[..., None] * (mu / jnp.sum(mu**2))
    return sig + rho @ (xi / jnp.sum(xi**2, axis=1, keepdims=True))


def masked_max(v: jax.Array, mask: jax.Array) -> jax.Array:
    """max of v [n] over mask [n] (bool); 0 when the mask is empty."""
    return jnp.where(mask.any(), jnp.max(jnp.where(mask, v, -jnp.inf)), 0.0)


def masked_mean(v: jax.Array, mask: jax.Array) -> jax.Array:
    """mean of v [n] over mask [n] (bool); 0 when the mask is empty."""
    return jnp.sum(jnp.where(mask, v, 0.0)) / jnp.maximum(mask.sum(), 1)
