"""Two-layer linear networks f(x) = a^T W x (both layers trained, no bias).

    params = {"W": [m, d], "a": [m]}        f(x) = sum_i a_i <w_i, x>,   theta = W^T a  [d]

The end-to-end predictor is linear, theta = W^T a, but the parameterisation is not: the
dynamics of (a, W) carry an implicit bias (e.g. label-noise SGD drives every neuron w_i to
align with the interpolator; "On the Learning Dynamics of Two-layer Linear Networks with Label
Noise SGD", arXiv:2603.10397).

Width m is arbitrary. ``init`` draws the NTK-scale init of that paper, W_ij ~ N(0, w_var),
a_i ~ N(0, a_var) (defaults 1/d and 1/m); ``balanced=True`` instead sets a_i = s_i ||w_i|| with
random signs s_i, so that every neuron starts balanced (a_i^2 = ||w_i||^2, conserved by
gradient flow).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def init(key: jax.Array, m: int, d: int, *, w_var=None, a_var=None, balanced: bool = False) -> dict:
    """{"W": [m, d], "a": [m]}; w_var, a_var may be traced scalars (default 1/d, 1/m)."""
    kw, ka = jax.random.split(key)
    w_var = 1.0 / d if w_var is None else w_var
    a_var = 1.0 / m if a_var is None else a_var
    W = jnp.sqrt(w_var) * jax.random.normal(kw, (m, d))
    if balanced:
        a = jnp.where(jax.random.bernoulli(ka, 0.5, (m,)), 1.0, -1.0) * jnp.linalg.norm(W, axis=1)
    else:
        a = jnp.sqrt(a_var) * jax.random.normal(ka, (m,))
    return {"W": W, "a": a}


def apply(params: dict, x: jax.Array) -> jax.Array:
    """x [..., d] -> f(x) [...]."""
    return (x @ params["W"].T) @ params["a"]


def theta(params: dict) -> jax.Array:
    """[d]: the end-to-end linear predictor W^T a."""
    return params["W"].T @ params["a"]


def neuron_norms2(params: dict) -> jax.Array:
    """[m]: ||w_i||^2."""
    return jnp.sum(params["W"] ** 2, axis=1)


def alignment(params: dict, direction: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(|cos(w_i, u)| [m], |<w_i, u>| [m]) for a direction u [d] (any norm)."""
    proj = params["W"] @ direction
    norms = jnp.linalg.norm(params["W"], axis=1)
    cos = jnp.abs(proj) / jnp.maximum(norms * jnp.linalg.norm(direction), 1e-30)
    return cos, jnp.abs(proj)


def trace_hessian_proxy(params: dict) -> jax.Array:
    """R = ||W||_F^2 + d ||a||^2: tr of the Hessian of the square loss at an interpolator for
    isotropic inputs (E x x^T = I_d), the implicit regulariser of label-noise SGD."""
    d = params["W"].shape[1]
    return jnp.sum(params["W"] ** 2) + d * jnp.sum(params["a"] ** 2)
