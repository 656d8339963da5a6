"""Downstream linear probe: L2-regularised logistic regression on frozen features, fitted by
Newton's method inside the compiled program (Gauss-Jordan solves, ``models/linalg.py``: no
LAPACK call).

    beta = argmin (1/n) sum_i log(1 + exp(-y_i <F_i, beta>)) + (l2 / 2) ||beta||^2

F [n, k] features (append a column of ones for an intercept: ``with_intercept``), y [n] +-1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from theorylab.models.linalg import spd_solve


def fit_logistic(F: jax.Array, y: jax.Array, l2, iters: int = 30) -> jax.Array:
    """[k]: beta after ``iters`` Newton steps from 0 (F [n, k], y [n] in {+1, -1}, l2 > 0)."""
    n, k = F.shape

    def step(_, beta):
        z = y * (F @ beta)
        s = jax.nn.sigmoid(-z)  # [n]
        grad = -(F.T @ (y * s)) / n + l2 * beta
        hess = (F.T * (s * (1 - s))) @ F / n + l2 * jnp.eye(k, dtype=F.dtype)
        return beta - spd_solve(hess, grad)

    return jax.lax.fori_loop(0, iters, step, jnp.zeros((k,), F.dtype))


def with_intercept(F: jax.Array) -> jax.Array:
    """[n, k + 1]: F with a column of ones."""
    return jnp.concatenate([F, jnp.ones((F.shape[0], 1), F.dtype)], axis=1)


def accuracy(F: jax.Array, y: jax.Array, beta: jax.Array) -> jax.Array:
    """Fraction of sign(<F_i, beta>) == y_i."""
    return jnp.mean(y * (F @ beta) > 0)
