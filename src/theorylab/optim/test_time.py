"""Test-time training on one prompt: recover the task direction, then fit the link.

The toolkit's reading of the algorithm of "Test time training enhances in-context learning of
nonlinear functions" (Kuwataka & Suzuki; arXiv:2509.25741; the paper's own details are unclear
to its reviewers too, see the experiment module). All functions act on ONE prompt and vmap over
prompts; everything is plain jnp (no LAPACK call: eigenvectors by orthogonal / power iteration).

* ``top_eigvecs``: the top-r eigenspace of a symmetric matrix (the projection of the inputs on
  the pretrained attention matrix's top-r eigenspace).
* ``weak_recovery``: from teacher values g_i at points w_i [n, k] (the pretrained attention's
  outputs at fresh queries), two candidate directions,
      linear     u ~ sum_i (g_i - mean g) w_i,
      quadratic  u = top |eigen|vector of sum_i (g_i - mean g)(w_i w_i^T - I),
  keeping the one whose student (<u, w> or <u, w>^2) correlates more with g.
* ``strong_recovery``: rounds of (refit the link on random ReLU features of <u, x> by ridge on
  one split; one sphere-projected GD step u <- normalise(u - eta (I - u u^T) grad) of the
  squared loss on another split).
* ``link_features`` / ``fit_link``: the student f(x) = sum_j a_j relu(v_j <u, x> + b_j).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from theorylab.models.cg import cg_solve


def _orthonormalise(m: jax.Array) -> jax.Array:
    """[d, r]: Gram-Schmidt on the columns of m [d, r] (r small, static)."""
    cols = []
    for j in range(m.shape[1]):
        v = m[:, j]
        for c in cols:
            v = v - (c @ v) * c
        cols.append(v / (jnp.linalg.norm(v) + 1e-30))
    return jnp.stack(cols, axis=1)


def top_eigvecs(sym: jax.Array, r: int, iters: int = 200) -> jax.Array:
    """[d, r]: an orthonormal basis of the top-r (largest |eigenvalue|) eigenspace of a symmetric
    sym [d, d], by orthogonal iteration from a fixed start."""
    d = sym.shape[0]
    q0 = _orthonormalise(jnp.eye(d, r) + 0.01 * jnp.arange(1, d * r + 1).reshape(d, r) / (d * r))
    return jax.lax.fori_loop(0, iters, lambda _, q: _orthonormalise(sym @ q), q0)


def _unit(v):
    return v / (jnp.linalg.norm(v) + 1e-30)


def _abs_corr(a, b):
    a, b = a - a.mean(), b - b.mean()
    return jnp.abs(a @ b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b) + 1e-30)


def weak_recovery(g: jax.Array, w: jax.Array, iters: int = 100) -> tuple[jax.Array, jax.Array]:
    """(u [k] unit, quadratic?) from teacher values g [n] at points w [n, k]."""
    gc = g - g.mean()
    u_lin = _unit(gc @ w)
    k = w.shape[1]
    mat = (w * gc[:, None]).T @ w / g.shape[0] - gc.mean() * jnp.eye(k)
    u_q = jax.lax.fori_loop(0, iters, lambda _, u: _unit(mat @ u), _unit(jnp.ones(k) + 0.1 * jnp.arange(k)))
    quad = _abs_corr(g, (w @ u_q) ** 2) > _abs_corr(g, w @ u_lin)
    return jnp.where(quad, u_q, u_lin), quad


def link_features(u: jax.Array, x: jax.Array, v: jax.Array, b: jax.Array) -> jax.Array:
    """[n, m]: relu(v_j <u, x_i> + b_j) for x [n, k], u [k], v, b [m]."""
    return jax.nn.relu((x @ u)[:, None] * v + b)


def fit_link(u, x, y, v, b, lam, iters: int = 100) -> jax.Array:
    """[m]: ridge a on the features of <u, x> (penalty lam * mean diag of the Gram)."""
    phi = link_features(u, x, v, b)
    gram = phi.T @ phi / x.shape[0]
    return cg_solve(gram, phi.T @ y / x.shape[0], lam * jnp.mean(jnp.diagonal(gram)), iters)


def strong_recovery(u: jax.Array, x_fit, y_fit, x_step, y_step, v, b, *, rounds: int, lr, lam) -> jax.Array:
    """[k]: ``rounds`` of (link refit on (x_fit, y_fit); one sphere-projected GD step of
    (1/2n) sum (f_u(x) - y)^2 on (x_step, y_step))."""

    def loss(u, a):
        return 0.5 * jnp.mean((link_features(u, x_step, v, b) @ a - y_step) ** 2)

    def body(_, u):
        a = fit_link(u, x_fit, y_fit, v, b, lam)
        grad = jax.grad(loss)(u, a)
        grad = grad - (grad @ u) * u
        return _unit(u - lr * grad)

    return jax.lax.fori_loop(0, rounds, body, u)
