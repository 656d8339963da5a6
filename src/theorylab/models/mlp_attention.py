"""MLP embedding followed by one linear-attention layer: the model of "Pretrained transformer
efficiently learns low-dimensional target functions in-context" (Oko, Song, Suzuki, Wu;
arXiv:2411.02544, eq. (2.6)).

    phi(x) = relu(W x + b) in R^m,             W [m, d], b [m]
    h(X, y) = (1/N) sum_i y_i phi(x_i)          (the context summary; linear in the labels)
    f(X, y, x_q) = <Gamma h(X, y), phi(x_q)> = phi(x_q)^T Gamma h,      Gamma [m, m]

The model has no in-weight path: a prompt with y = 0 predicts 0. With W and b frozen, f is
linear in Gamma, so the ridge problem over Gamma on T prompts has the dual form

    K_tt' = (phi_t . phi_t') (h_t . h_t'),    Gamma = sum_t alpha_t phi_t h_t^T,
    alpha = (K + lam_bar I)^-1 y_q,

(``dual_kernel``, ``gamma_from_dual``): Stage II of the paper's Algorithm 1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def embed(w: jax.Array, b: jax.Array, x: jax.Array) -> jax.Array:
    """[..., m]: relu(W x + b) for x [..., d], W [m, d], b [m]."""
    return jax.nn.relu(x @ w.T + b)


def context(w: jax.Array, b: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
    """[n, m]: h = (1/N) sum_i y_i phi(x_i) for prompts x [n, N, d], y [n, N]."""
    return jnp.einsum("ni,nim->nm", y, embed(w, b, x)) / x.shape[1]


def context_prefixes(w: jax.Array, b: jax.Array, x: jax.Array, y: jax.Array, lengths: tuple[int, ...]) -> jax.Array:
    """[n, P, m]: h over the first N_p examples, N_p in ``lengths`` (static, each <= N), for
    prompts x [n, N, d], y [n, N]: one pass over the embeddings."""
    n_ctx = x.shape[1]
    mask = jnp.stack([(jnp.arange(n_ctx) < k) / k for k in lengths])  # [P, N]
    return jnp.einsum("pi,ni,nim->npm", mask, y, embed(w, b, x))


def apply(w: jax.Array, b: jax.Array, gamma: jax.Array, x: jax.Array, y: jax.Array, xq: jax.Array) -> jax.Array:
    """[n]: f(X, y, x_q) for prompts x [n, N, d], y [n, N], queries xq [n, d], Gamma [m, m]."""
    return jnp.einsum("nm,mk,nk->n", embed(w, b, xq), gamma, context(w, b, x, y))


def dual_kernel(phi_a: jax.Array, h_a: jax.Array, phi_b: jax.Array, h_b: jax.Array) -> jax.Array:
    """[T_a, T_b]: (phi_a phi_b^T) * (h_a h_b^T) for query embeddings phi [T, m], contexts h [T, m]."""
    return (phi_a @ phi_b.T) * (h_a @ h_b.T)


def gamma_from_dual(alpha: jax.Array, phi: jax.Array, h: jax.Array) -> jax.Array:
    """[m, m]: Gamma = sum_t alpha_t phi_t h_t^T (so that f = phi^T Gamma h = sum_t alpha_t K(t, .))."""
    return (phi * alpha[:, None]).T @ h
