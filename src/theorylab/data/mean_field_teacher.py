"""Synthetic regression and classification tasks of the mean-field Langevin papers.

* ``gaussian_bump``: z ~ N(0, I_d), y = exp(-|z - a|^2 / (2 d)), a = e_1 — the student-teacher
  regression of Suzuki, Nitanda & Wu ("Uniform-in-time propagation of chaos for the mean-field
  gradient Langevin dynamics", ICLR 2023) and Suzuki, Wu & Nitanda (arXiv:2306.07221); the
  input law and the centre a are not confirmed by the papers (open question), these are the
  toolkit's defaults. With d = 20: mean y ~ 0.60, std ~ 0.10.
* ``sparse_parity``: z uniform on {+-1/sqrt(d)}^d, y = prod_{i <= k} sign(z_i) — the k-sparse
  parity of Suzuki, Wu, Oko & Nitanda ("Feature learning via mean-field Langevin dynamics:
  classifying sparse parities and beyond", NeurIPS 2023); k = 2 is the paper's task.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def gaussian_bump(key: jax.Array, n: int, d: int) -> tuple[jax.Array, jax.Array]:
    """(z [n, d], y [n]) with z ~ N(0, I_d) and y = exp(-|z - e_1|^2 / (2 d))."""
    z = jax.random.normal(key, (n, d))
    centre = jnp.zeros(d).at[0].set(1.0)
    return z, jnp.exp(-jnp.sum((z - centre) ** 2, axis=1) / (2 * d))


def sparse_parity(key: jax.Array, n: int, d: int, k: int = 2) -> tuple[jax.Array, jax.Array]:
    """(z [n, d], y [n]) with z uniform on {+-1/sqrt(d)}^d and y = prod_{i<k} sign(z_i) in {+-1}."""
    signs = jnp.where(jax.random.bernoulli(key, 0.5, (n, d)), 1.0, -1.0)
    return signs / jnp.sqrt(d), jnp.prod(signs[:, :k], axis=1)


__all__ = ["gaussian_bump", "sparse_parity"]
