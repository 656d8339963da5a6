"""Staged SGD: at step k, each parameter takes a plain gradient step with its own step size of
stage k (0 freezes it); after the last stage nothing moves.

    update_k(g) = -lr_k * g      (leafwise; lr_k a pytree of scalars shaped like the params)

Algorithm 1 of "From Shortcut to Induction Head" (arXiv:2512.18634, Sec. 2.2) is two stages
from W = 0: step 0 moves W_V only (eta_V), step 1 moves W_KQ only (eta_KQ), each on a fresh
batch; with the engine that is steps = 2 and

    staged_sgd([Params(w_v=eta_V, w_kq=0.), Params(w_v=0., w_kq=eta_KQ)])

Step sizes may be traced scalars (swept without recompiling). Composable with optax.chain.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import optax


class StagedState(NamedTuple):
    count: jax.Array  # int32 scalar: steps taken


def staged_sgd(stages: Sequence[Any]) -> optax.GradientTransformation:
    """stages: K pytrees with the params' structure whose leaves are step sizes (scalars)."""
    if not stages:
        raise ValueError("staged_sgd needs at least one stage")
    stacked = jax.tree_util.tree_map(lambda *v: jnp.stack([jnp.asarray(x, jnp.float32) for x in v]), *stages)
    n = len(stages)

    def init(params):
        del params
        return StagedState(jnp.zeros((), jnp.int32))

    def update(grads, state, params=None):
        del params
        k = state.count
        lr = jax.tree_util.tree_map(lambda s: jnp.where(k < n, s[jnp.minimum(k, n - 1)], 0.0), stacked)
        updates = jax.tree_util.tree_map(lambda g, r: (-r * g).astype(g.dtype), grads, lr)
        return updates, StagedState(k + 1)

    return optax.GradientTransformation(init, update)
