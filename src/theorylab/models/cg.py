"""Conjugate gradients for dense symmetric positive definite systems, in plain jnp ops.

A LAPACK-free alternative to ``models.linalg.spd_solve`` when the system is large (a kernel
ridge Gram matrix of a few thousand prompts): Gauss-Jordan costs n^3 memory-bound updates,
CG costs ``iters`` matrix products, n^2 each. Several ridge penalties share one matrix: the
L systems (a + s_l I) x_l = b are run as L independent CG recursions whose matrix-vector
products are one product a @ [p_1 .. p_L] (a is read once per step for all penalties).
For A = K + s I with s > 0, after k steps

    |x_k - x*|_A <= 2 ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^k |x_0 - x*|_A,  kappa = cond(A),

so ``iters`` ~ sqrt(kappa) suffices; tests/test_icl_lowdim_blocks.py checks the kernel-ridge
systems used here against a direct float64 solve.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def cg_solve_shifts(a: jax.Array, b: jax.Array, shifts: jax.Array, iters: int = 200) -> jax.Array:
    """[L, n]: x_l ~= (a + shifts_l I)^-1 b for SPD a [n, n], b [n], shifts [L] >= 0 (may be
    traced); ``iters`` CG steps from x = 0 (a converged recursion is left unchanged)."""
    shifts = jnp.asarray(shifts, a.dtype)

    def body(_, state):
        x, r, p, rr = state  # [L, n], [L, n], [L, n], [L]
        ap = p @ a + shifts[:, None] * p  # a symmetric: (a p_l)^T = p_l^T a
        live = rr > 1e-30
        pap = jnp.sum(p * ap, axis=-1)
        alpha = jnp.where(live, rr / jnp.where(live, pap, 1.0), 0.0)
        x = x + alpha[:, None] * p
        r = r - alpha[:, None] * ap
        rr_new = jnp.sum(r * r, axis=-1)
        beta = jnp.where(live, rr_new / jnp.where(live, rr, 1.0), 0.0)
        return x, r, r + beta[:, None] * p, rr_new

    r0 = jnp.broadcast_to(b, (shifts.shape[0], b.shape[0]))
    state = (jnp.zeros_like(r0), r0, r0, jnp.sum(r0 * r0, axis=-1))
    return jax.lax.fori_loop(0, iters, body, state)[0]


def cg_solve(a: jax.Array, b: jax.Array, shift=0.0, iters: int = 200) -> jax.Array:
    """[n]: x ~= (a + shift I)^-1 b for SPD a [n, n], b [n], one shift >= 0."""
    return cg_solve_shifts(a, b, jnp.reshape(jnp.asarray(shift, a.dtype), (1,)), iters)[0]
