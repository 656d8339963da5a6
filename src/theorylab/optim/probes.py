"""Probe parameters: hand an optimizer a quantity that only the loss can compute.

An optax update sees (gradients, state, params) and no PRNG key, while the engine hands the
*loss* a fresh key every step. A noisy or perturbed particle update (Langevin noise, a random
push-forward) therefore draws its randomness in the loss and passes it on through the gradient
of a *probe*: a parameter held at zero whose gradient is the wanted array.

    params = {"x": particles, "probe": {name: zeros}}              (``with_probes``)
    loss   = F(x) + sum_name < stop_gradient(value_name), probe_name >   (``probe_term``)

so that, exactly,

    loss value        = F(x)                     (every probe is 0)
    grad wrt x        = grad F(x)                (the probe values are stop-gradient'ed)
    grad wrt probe_k  = value_k                  (e.g. a N(0, I) draw, a perturbation, F itself)

The optimizer reads ``grads["probe"][name]`` and leaves the probes at zero (``zero_like``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def with_probes(x: jax.Array, probes: dict[str, Any], **extra) -> dict[str, Any]:
    """{"x": x, "probe": {name: zeros of the shape of probes[name]}, **extra}.

    probes: name -> an array or a shape tuple (() for a scalar)."""
    zeros = {k: jnp.zeros(v if isinstance(v, tuple) else jnp.shape(v), x.dtype) for k, v in probes.items()}
    return {"x": x, "probe": zeros, **extra}


def probe_term(probe_params: dict[str, jax.Array], values: dict[str, jax.Array]) -> jax.Array:
    """Scalar sum_k < stop_gradient(values[k]), probe_params[k] >: 0 in value, values[k] in gradient."""
    return sum(jnp.vdot(jax.lax.stop_gradient(values[k]).astype(probe_params[k].dtype), probe_params[k])
               for k in probe_params)


def zero_like(tree):
    """A zero update for every leaf of ``tree`` (probes and other state the update leaves alone)."""
    return jax.tree_util.tree_map(jnp.zeros_like, tree)


__all__ = ["probe_term", "with_probes", "zero_like"]
