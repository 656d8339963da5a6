"""The two-stage "one gradient step, then ridge" pretraining template.

Algorithm 1 of "Pretrained transformer efficiently learns low-dimensional target functions
in-context" (Oko, Song, Suzuki, Wu; arXiv:2411.02544), also used by "Nonlinear transformers can
perform inference-time feature learning" (Nishikawa, Song, Oko, Wu, Suzuki; ICML 2025) and,
per its reviewers, by the Mamba follow-up arXiv:2510.12026:

* Stage I: one full-batch GD step on the feature parameter theta over T_1 fresh prompts, with
  weight decay lambda_1 = 1 / eta_1 so that the initialisation cancels:
      theta^(1) = -eta_1 grad L(theta^(0)) = 2 eta_1 E_t[(y^t - f_t) grad f_t]
                ~ 2 eta_1 E_t[y^t grad_theta f_t(theta^(0))]        (readout at init tiny)
  ``correlational_gradient`` computes E_t[y^t grad f_t] over fresh prompts, chunk by chunk
  (a lax.scan: memory of one chunk, any T_1); eta_1 is then a normalisation
  (``normalise_rows``: median row norm 1).
* Stage II: freeze theta, fit the readout by ridge on T_2 fresh prompts; ``ridge_dual`` solves
  the dual problem for a grid of penalties and keeps the one with the smallest validation error.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from theorylab.models.cg import cg_solve_shifts


def correlational_gradient(corr: Callable, theta, key: jax.Array, n_chunks: int):
    """(1/n_chunks) sum_c grad_theta corr(theta, key_c): the Stage-I gradient.

    corr(theta, key) -> scalar: the mean over one chunk of fresh prompts (drawn from key) of
    y^t f_t(theta) (for the full-loss ablation, -(1/2)(y^t - f_t)^2 instead: any scalar whose
    gradient is the wanted one). Chunk c uses fold_in(key, c)."""
    grad = jax.grad(corr)

    def body(acc, c):
        g = grad(theta, jax.random.fold_in(key, c))
        return jax.tree_util.tree_map(jnp.add, acc, g), None

    zero = jax.tree_util.tree_map(jnp.zeros_like, theta)
    total, _ = jax.lax.scan(body, zero, jnp.arange(n_chunks))
    return jax.tree_util.tree_map(lambda g: g / n_chunks, total)


def normalise_rows(g: jax.Array, target=1.0) -> tuple[jax.Array, jax.Array]:
    """(g * s, s) for g [m, d] with the one scalar s making the median row norm ``target``: the
    Stage-I step size eta_1 fixed by the rule sup |2 eta_1 gamma g| <~ 1 (arXiv:2411.02544)."""
    s = target / jnp.median(jnp.linalg.norm(g, axis=-1))
    return g * s, s


def ridge_dual(k: jax.Array, y: jax.Array, k_val: jax.Array, y_val: jax.Array, lams: jax.Array,
               iters: int = 400) -> tuple[jax.Array, jax.Array]:
    """(alpha [T], val_mse [L]): dual ridge alpha = (K + lam_bar I)^-1 y, lam_bar = lam * mean diag K,
    for every relative penalty in lams [L]; alpha is the one with the smallest mean squared
    error of K_val alpha against y_val. k [T, T] SPD, y [T], k_val [V, T], y_val [V]."""
    scale = jnp.mean(jnp.diagonal(k))
    alphas = cg_solve_shifts(k, y, lams * scale, iters)  # [L, T]
    val = jnp.mean((alphas @ k_val.T - y_val) ** 2, axis=-1)  # [L]
    return alphas[jnp.argmin(val)], val


def ridge_primal(phi: jax.Array, y: jax.Array, phi_val: jax.Array, y_val: jax.Array, lams: jax.Array,
                 iters: int = 400) -> tuple[jax.Array, jax.Array]:
    """(a [m], val_mse [L]): ridge readout a = (Phi^T Phi / T + lam_bar I)^-1 Phi^T y / T,
    lam_bar = lam * mean diag(Phi^T Phi / T), for every relative penalty in lams [L], keeping
    the one with the smallest validation error. phi [T, m], y [T], phi_val [V, m], y_val [V]."""
    gram = phi.T @ phi / phi.shape[0]
    scale = jnp.mean(jnp.diagonal(gram)) + 1e-30
    coefs = cg_solve_shifts(gram, phi.T @ y / phi.shape[0], lams * scale, iters)  # [L, m]
    val = jnp.mean((coefs @ phi_val.T - y_val) ** 2, axis=-1)
    return coefs[jnp.argmin(val)], val
