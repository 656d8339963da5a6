"""Small dense linear algebra in plain jnp ops: no LAPACK call inside a compiled program.

Why not ``jnp.linalg.solve`` / ``inv``: they lower to LAPACK custom calls on CPU, and XLA's CPU
runtime was seen to deadlock on 2 cores when several batched LAPACK calls run in one vmapped
program (the Mamba ICL baselines; the CNN gamma / rho decomposition). Gauss-Jordan elimination
written with jnp ops compiles to plain loops and vmaps like any other op. Without pivoting it
is stable for symmetric positive definite matrices, the only ones solved here (Gram matrices,
normal equations). tests/test_label_noise.py checks that the compiled programs that use it
contain no LAPACK call.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def spd_solve(a: jax.Array, b: jax.Array) -> jax.Array:
    """x = a^-1 b for symmetric positive definite a [..., n, n] and b [..., n] or [..., n, k].

    Gauss-Jordan on the augmented matrix [a | b], pivot i = 0..n-1 in order:

        r_a = a_i / a_ii,  r_b = b_i / a_ii,  a_j <- a_j - a_ji r_a,  b_j <- b_j - a_ji r_b  (j != i),
        then row i <- (r_a, r_b).

    After n pivots a = I and b = a^-1 b. Batch dimensions of a and b must agree.
    """
    vector = b.ndim == a.ndim - 1
    b = b[..., None] if vector else b
    n = a.shape[-1]

    def eliminate(i, state):
        a, b = state
        piv = a[..., i, i][..., None]  # [..., 1]
        row_a, row_b = a[..., i, :] / piv, b[..., i, :] / piv
        col = a[..., :, i].at[..., i].set(0.0)  # multiple of row i to remove from every other row
        a = (a - col[..., :, None] * row_a[..., None, :]).at[..., i, :].set(row_a)
        b = (b - col[..., :, None] * row_b[..., None, :]).at[..., i, :].set(row_b)
        return a, b

    x = jax.lax.fori_loop(0, n, eliminate, (a, b))[1]
    return x[..., 0] if vector else x


def spd_inverse(a: jax.Array) -> jax.Array:
    """[..., n, n]: a^-1 of a symmetric positive definite a [..., n, n] (``spd_solve`` with b = I)."""
    eye = jnp.broadcast_to(jnp.eye(a.shape[-1], dtype=a.dtype), a.shape)
    return spd_solve(a, eye)
