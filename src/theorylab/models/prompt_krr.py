"""Kernel ridge regression on one prompt: the prompt-only baselines of in-context learning.

For a prompt (x_1..x_N, y_1..y_N, x_q) and a kernel k, with K = k(X, X) [N, N]:

    f(x_q) = k(x_q, X) (K + lam_bar I)^-1 y,    lam_bar = lam * mean diag K

(the penalty relative to the kernel's scale, so one grid of lam serves every N and d). The
kernel is the polynomial kernel (1 + <x, x'>/d)^p of "Pretrained transformer efficiently learns
low-dimensional target functions in-context" (Oko et al., arXiv:2411.02544, Fig. 1: kernel
ridge on the raw prompt), applied either to the raw x in R^d or to the intrinsic features
P_S x in R^r (the oracle baseline of arXiv:2510.12026's reviewers). A rotation-invariant kernel
learns the degree-k Hermite part of the target only once N >> dim Poly_k(R^d) ~ d^k / k!.

Solved by CG (``models.cg``): LAPACK-free, batched over prompts and penalties. ``fit_predict``
is the same kernel ridge on one training set evaluated at many test points (``predict`` runs it
once per prompt).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from theorylab.models.cg import cg_solve_shifts


def poly_kernel(a: jax.Array, b: jax.Array, degree: int) -> jax.Array:
    """[..., n_a, n_b]: (1 + <a_i, b_j> / dim)^degree for a [..., n_a, dim], b [..., n_b, dim]."""
    dim = a.shape[-1]
    return (1.0 + jnp.einsum("...id,...jd->...ij", a, b) / dim) ** degree


def fit_predict(x: jax.Array, y: jax.Array, x_test: jax.Array, lams: jax.Array, degree: int,
                iters: int = 256) -> jax.Array:
    """[L, m]: kernel ridge on ONE training set, evaluated at many points, for every relative
    penalty: f_l(z) = k(z, X) (K + lams_l * mean diag K * I)^-1 y.

    x [n, dim] training inputs, y [n] labels, x_test [m, dim], lams [L]. Used for one prompt by
    ``predict`` and, as a rotation-invariant kernel baseline on a whole training sample, by the
    one-step feature-learning experiment (arXiv:2205.01445)."""
    kmat = poly_kernel(x, x, degree)  # [n, n]
    scale = jnp.mean(jnp.diagonal(kmat))
    alpha = cg_solve_shifts(kmat, y, lams * scale, iters)  # [L, n]
    return alpha @ poly_kernel(x, x_test, degree)  # [L, m]


def predict(x: jax.Array, y: jax.Array, xq: jax.Array, lams: jax.Array, degree: int,
            iters: int = 256, batch: int = 25) -> jax.Array:
    """[L, n]: KRR predictions at the queries for every relative penalty.

    x [n, N, dim] prompts, y [n, N] labels, xq [n, dim] queries, lams [L] relative penalties.
    Prompts are processed ``batch`` at a time (n must be a multiple of batch)."""
    n = x.shape[0]
    if n % batch:
        raise ValueError(f"prompt_krr.predict: n = {n} prompts must be a multiple of batch = {batch}")

    def one_prompt(xp, yp, qp):  # [N, dim], [N], [dim] -> [L]
        return fit_predict(xp, yp, qp[None, :], lams, degree, iters)[:, 0]

    def one_batch(args):
        xb, yb, qb = args
        return jax.vmap(one_prompt)(xb, yb, qb).T  # [L, B]

    split = lambda a: a.reshape(n // batch, batch, *a.shape[1:])
    out = jax.lax.map(one_batch, (split(x), split(y), split(xq)))  # [n/B, L, B]
    return jnp.moveaxis(out, 1, 0).reshape(lams.shape[0], n)
