"""Keep neurons on a sphere: projected, renormalised steps as an optax transformation.

``on_sphere()`` turns any already-scaled step u (e.g. the output of ``optax.sgd(lr)``) at a
unit-norm parameter w into the spherical step

    u_perp = u - <u, w> w                     (tangent component at w)
    w_new  = (w + u_perp) / |w + u_perp|
    update = w_new - w                        (so optax.apply_updates gives w_new)

along the last axis of every leaf (a layer [m, d] is m independent neurons).

With a metric ``sigma_apply(v) = Sigma v`` the neuron is weight-normalised, |w|_Sigma =
sqrt(w^T Sigma w) = 1: its pre-activation <w, x> has unit variance under x ~ N(0, Sigma), as
batch normalisation would make it (the "batch-norm-like" constraint of "Gradient-Based Feature
Learning under Structured Data", Mousavi-Hosseini, Wu, Suzuki, Erdogdu; arXiv:2309.03843). The
step is the gradient taken through the normalisation w -> w / |w|_Sigma,

    u_bn  = u - (<u, w> / w^T Sigma w) Sigma w
    w_new = (w + u_bn) / |w + u_bn|_Sigma,

whose fixed points under a population gradient u ∝ Sigma a are w ∝ a (the constrained optimum
of a correlation (w^T Sigma a)^k). The oblique projection u - (u^T Sigma w / w^T Sigma w) w, though
tangent to the Sigma-sphere, has fixed points w ∝ Sigma a (the spherical optimum): it is not a
weight normalisation.

    opt = optax.chain(optax.sgd(lr), on_sphere())                    # spherical online SGD
    opt = optax.chain(optax.sgd(lr), on_sphere(lambda v: v @ S))     # weight-normalised
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import optax


def retract(u: jax.Array, w: jax.Array, sigma_apply: Callable | None = None) -> jax.Array:
    """[..., d]: w_new - w for step u [..., d] at w [..., d] (see the module docstring)."""
    metric = (lambda v: v) if sigma_apply is None else sigma_apply
    sw = metric(w)
    u_perp = u - (jnp.sum(u * w, -1, keepdims=True) / jnp.sum(w * sw, -1, keepdims=True)) * sw
    v = w + u_perp
    w_new = v / jnp.sqrt(jnp.sum(v * metric(v), -1, keepdims=True))
    return w_new - w


def on_sphere(sigma_apply: Callable | None = None) -> optax.GradientTransformation:
    """Project each update (through the normalisation, see the module docstring) and
    renormalise onto the (Sigma-)sphere. ``update`` needs ``params``."""

    def init(params):
        del params
        return optax.EmptyState()

    def update(updates, state, params=None):
        if params is None:
            raise ValueError("on_sphere() needs the parameters: update(updates, state, params)")
        return jax.tree_util.tree_map(lambda u, w: retract(u, w, sigma_apply), updates, params), state

    return optax.GradientTransformation(init, update)
