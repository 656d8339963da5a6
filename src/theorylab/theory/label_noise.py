"""Signal-noise decomposition of CNN filters (arXiv:2510.17526, arXiv:2505.18909).

Full-batch gradients of the CNN of ``models/cnn.py`` on patch data whose patches are +-mu
and the noise vectors xi_i lie in span(mu, xi_1, ..., xi_n). Hence, for every filter,

    w_{j,r}(t) = w_{j,r}(0) + j * gamma_{j,r}(t) * mu / |mu|^2
                            + sum_i rho_{j,r,i}(t) * xi_i / |xi_i|^2         (spec, paper A)

with gamma the signal learning and rho the noise memorisation. The coefficients are the
unique solution of a linear system in that span (the n + 1 vectors are linearly independent
almost surely when n + 1 <= d): with the basis rows b_0 = mu / |mu|^2, b_i = xi_i / |xi_i|^2
and u_k = b_k / |b_k| their unit versions,

    G a = U dw,   G = U U^T  (Gram matrix, [n+1, n+1]),   c_k = a_k / |b_k|,

so that dw = sum_k c_k b_k exactly (least squares; exact when dw lies in the span). Then
gamma_{j,r} = j * c_0 and rho_{j,r,i} = c_i. When the noise is orthogonal to mu this gives
gamma_{j,r} = j <w_{j,r} - w_{j,r}(0), mu>.

G^{-1} is computed once per run by Gauss-Jordan elimination in plain jnp ops (no LAPACK call
inside the compiled, vmapped program: XLA's CPU LAPACK calls were seen to deadlock there).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

LN2 = float(np.log(2.0))


class Basis(NamedTuple):
    unit: jax.Array  # [n+1, d] rows u_k = b_k / |b_k|
    scale: jax.Array  # [n+1] |b_k|
    gram_inv: jax.Array  # [n+1, n+1] G^{-1}, G = U U^T


def spd_inverse(a: jax.Array) -> jax.Array:
    """[k, k]: the inverse of a symmetric positive definite a [k, k] by Gauss-Jordan
    elimination without pivoting (stable for SPD matrices), in plain jnp ops."""
    k = a.shape[0]

    def eliminate(i, state):
        a, inv = state
        piv = a[i, i]
        row_a, row_inv = a[i] / piv, inv[i] / piv
        col = a[:, i].at[i].set(0.0)  # multiple of row i to remove from every other row
        a = (a - col[:, None] * row_a[None, :]).at[i].set(row_a)
        inv = (inv - col[:, None] * row_inv[None, :]).at[i].set(row_inv)
        return a, inv

    return jax.lax.fori_loop(0, k, eliminate, (a, jnp.eye(k, dtype=a.dtype)))[1]


def basis(mu: jax.Array, xi: jax.Array) -> Basis:
    """Basis of span(mu, xi_1..xi_n) for mu [d] and xi [n, d] (see the module docstring)."""
    b = jnp.concatenate([(mu / jnp.sum(mu**2))[None], xi / jnp.sum(xi**2, axis=1, keepdims=True)])
    scale = jnp.linalg.norm(b, axis=1)
    unit = b / scale[:, None]
    return Basis(unit=unit, scale=scale, gram_inv=spd_inverse(unit @ unit.T))


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
    """[2, m, d]: j gamma mu / |mu|^2 + sum_i rho_i xi_i / |xi_i|^2 (the inverse of decompose)."""
    j = jnp.array([1.0, -1.0])[:, None, None]
    sig = j * gamma[..., None] * (mu / jnp.sum(mu**2))
    return sig + rho @ (xi / jnp.sum(xi**2, axis=1, keepdims=True))


def masked_max(v: jax.Array, mask: jax.Array) -> jax.Array:
    """max of v [n] over mask [n] (bool); 0 when the mask is empty."""
    return jnp.where(mask.any(), jnp.max(jnp.where(mask, v, -jnp.inf)), 0.0)


def masked_mean(v: jax.Array, mask: jax.Array) -> jax.Array:
    """mean of v [n] over mask [n] (bool); 0 when the mask is empty."""
    return jnp.sum(jnp.where(mask, v, 0.0)) / jnp.maximum(mask.sum(), 1)


def snr(mu_norm, sigma, d):
    """SNR = |mu| / (sigma sqrt(d)) (spec, paper A "Data")."""
    return np.asarray(mu_norm) / (np.asarray(sigma) * np.sqrt(np.asarray(d, float)))


def mu_for_snr(snr_value, sigma, d) -> float:
    """|mu| giving the SNR at noise level sigma and dimension d."""
    return float(snr_value * sigma * np.sqrt(d))
