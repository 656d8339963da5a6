"""Gaussian inputs and index teachers: y = sigma*(<beta, x>) + zeta eps.

Pure jnp functions of the key they are given (usable inside a compiled, vmapped program). An
online-SGD loss calls them with the engine's fresh per-step key, so no sample stream is stored.

* isotropic inputs   x ~ N(0, I_d);
* spiked inputs      x ~ N(0, Sigma), Sigma = (I_d + kappa theta theta^T) / (1 + kappa), |theta| = 1
  (the spike direction has variance 1, the bulk 1 / (1 + kappa));
* single-index       y = sigma*(<beta, x>) - offset + zeta eps, sigma* a named link of
  ``data.hermite_expansion`` (``offset`` = E sigma*(z) centres a non-centred teacher);
* multi-index        y = sum_j a_j sigma*(<B_j, x>) + zeta eps, e.g. a width-m ReLU teacher net
  ("Excess Risk of Two-Layer ReLU Neural Networks in Teacher-Student Settings and its
  Superiority to Kernel Methods", Akiyama & Suzuki, arXiv:2205.14818).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from theorylab.data.hermite_expansion import link


def unit_vector(key: jax.Array, d: int) -> jax.Array:
    """[d]: a direction uniform on the sphere S^{d-1}."""
    v = jax.random.normal(key, (d,))
    return v / jnp.linalg.norm(v)


def with_overlap(key: jax.Array, beta: jax.Array, m0) -> jax.Array:
    """[d]: a unit vector w with <w, beta> = m0 exactly, its part orthogonal to beta [d]
    (|beta| = 1) uniformly random; |m0| <= 1 (may be traced)."""
    u = jax.random.normal(key, beta.shape)
    u = u - (u @ beta) * beta
    u = u / jnp.linalg.norm(u)
    return m0 * beta + jnp.sqrt(1.0 - m0**2) * u


def gaussian_inputs(key: jax.Array, n: int, d: int) -> jax.Array:
    """[n, d]: x_i ~ N(0, I_d)."""
    return jax.random.normal(key, (n, d))


def spiked_inputs(key: jax.Array, n: int, theta: jax.Array, kappa) -> jax.Array:
    """[n, d]: x_i ~ N(0, (I + kappa theta theta^T) / (1 + kappa)), theta [d] unit, kappa >= 0.

    x = (z + a <theta, z> theta) / sqrt(1 + kappa), z ~ N(0, I), a = sqrt(1 + kappa) - 1, since
    (I + a theta theta^T)^2 = I + kappa theta theta^T."""
    z = jax.random.normal(key, (n, theta.shape[0]))
    a = jnp.sqrt(1.0 + kappa) - 1.0
    return (z + a * (z @ theta)[:, None] * theta[None, :]) / jnp.sqrt(1.0 + kappa)


def spiked_cov_apply(v: jax.Array, theta: jax.Array, kappa) -> jax.Array:
    """[..., d]: Sigma v for v [..., d], Sigma = (I + kappa theta theta^T) / (1 + kappa), without
    forming the d x d matrix."""
    return (v + kappa * (v @ theta)[..., None] * theta) / (1.0 + kappa)


def single_index_labels(key: jax.Array, x: jax.Array, beta: jax.Array, teacher: str, zeta=0.0,
                        offset=0.0) -> jax.Array:
    """[n]: y_i = sigma*(<beta, x_i>) - offset + zeta eps_i, for x [n, d], beta [d]."""
    eps = jax.random.normal(key, x.shape[:1])
    return link(teacher)(x @ beta) - offset + zeta * eps


def multi_index_labels(key: jax.Array, x: jax.Array, b: jax.Array, a: jax.Array, teacher: str,
                       zeta=0.0) -> jax.Array:
    """[n]: y_i = sum_j a_j sigma*(<b_j, x_i>) + zeta eps_i for x [n, d], directions b [m, d],
    second layer a [m] (a width-m teacher network; teacher='relu' for a ReLU net)."""
    eps = jax.random.normal(key, x.shape[:1])
    return link(teacher)(x @ b.T) @ a + zeta * eps


def single_index_batch(key: jax.Array, n: int, beta: jax.Array, teacher: str, zeta=0.0,
                       offset=0.0) -> tuple[jax.Array, jax.Array]:
    """n fresh isotropic samples of the single-index model: (x [n, d], y [n])."""
    kx, ky = jax.random.split(key)
    x = gaussian_inputs(kx, n, beta.shape[0])
    return x, single_index_labels(ky, x, beta, teacher, zeta, offset)
