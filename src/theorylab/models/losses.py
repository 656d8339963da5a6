"""Losses shared by the models: pure elementwise functions of the margin or the residual."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def logistic_loss(margin: jax.Array) -> jax.Array:
    """l(z) = log(1 + exp(-z)), elementwise, computed stably as softplus(-z). margin [...] -> [...]."""
    return jax.nn.softplus(-margin)


def half_squared_error(pred: jax.Array, target: jax.Array, axis=None) -> jax.Array:
    """(1/2) mean (pred - target)^2 over ``axis`` (default: every axis)."""
    return 0.5 * jnp.mean((pred - target) ** 2, axis=axis)
