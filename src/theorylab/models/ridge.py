"""Ridge regression on fixed features (random-features / conjugate-kernel ridge), LAPACK-free.

    a_hat = argmin_a (1/n) |y - Phi a|^2 + lam |a|^2
          = (Phi^T Phi / n + lam I_N)^{-1} Phi^T y / n              (primal, N x N)
          = Phi^T (Phi Phi^T / n + lam I_n)^{-1} y / n              (dual, n x n)

for features Phi [n, N] and labels y [n]; the smaller system is solved (a static choice from
the shapes) by the Gauss-Jordan SPD solve of ``models.baselines`` (no LAPACK call inside a
vmapped program). With the random-features scaling Phi = sigma(X W) / sqrt(N) the penalty
(lambda / N) |a|^2 of Ba et al. (arXiv:2205.01445, eq. after (2.2)) is lam = lambda / N.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from theorylab.models.baselines import spd_solve


def ridge_fit(phi: jax.Array, y: jax.Array, lam) -> jax.Array:
    """[N]: ridge coefficients for features phi [n, N], labels y [n], penalty lam > 0."""
    n, width = phi.shape
    scale = width  # entries of Phi^T Phi / n are O(1/N): solve the N-rescaled, O(1) system
    if width <= n:
        gram = scale * (phi.T @ phi) / n + scale * lam * jnp.eye(width, dtype=phi.dtype)
        return spd_solve(gram, scale * (phi.T @ y) / n)
    gram = scale * (phi @ phi.T) / n + scale * lam * jnp.eye(n, dtype=phi.dtype)
    return phi.T @ spd_solve(gram, scale * y) / n


def ridge_risk(phi: jax.Array, y: jax.Array, lam, phi_test: jax.Array, f_test: jax.Array) -> jax.Array:
    """Scalar: mean over the test set of (Phi_test a_hat - f_test)^2, a_hat fitted on (phi, y)."""
    a = ridge_fit(phi, y, lam)
    return jnp.mean((phi_test @ a - f_test) ** 2)
