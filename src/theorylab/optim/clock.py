"""A step counter carried in the parameters, for objectives that change with the step.

The engine calls ``loss(params, data, cfg, key)`` without the step index; a schedule of the
objective itself (label noise on for 5000 steps, off for 5000, ...) needs it. Keep a scalar
leaf ``params[name]`` = t (float; exact up to 2^24 steps in float32): the loss reads it (its
gradient is zero when read through stop_gradient), and :func:`tick` — composed last in the
optax chain — replaces that leaf's update by +1, so after step t the leaf holds t + 1.

    optimizer = optax.chain(optax.sgd(lr), tick("clock"))
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def read(params: dict, name: str = "clock") -> jax.Array:
    """The step index t held in params[name] (no gradient flows through it)."""
    return jax.lax.stop_gradient(params[name])


def tick(name: str = "clock") -> optax.GradientTransformation:
    """Sets the update of the dict leaf ``name`` to +1 (other leaves pass through)."""

    def init(params):
        del params
        return optax.EmptyState()

    def update(updates, state, params=None):
        del params
        updates = dict(updates)
        updates[name] = jnp.ones_like(updates[name])
        return updates, state

    return optax.GradientTransformation(init, update)
