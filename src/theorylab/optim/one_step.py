"""One large gradient step, then nothing: the first-layer update of Ba et al.

"High-dimensional Asymptotics of Feature Learning: How One Gradient Step Improves the
Representation" (Ba, Erdogdu, Suzuki, Wang, Wu, Yang; arXiv:2205.01445, eq. (2.3)):

    W_1 = W_0 + eta sqrt(N) G_0,   G_0 = -grad_W L(W_0)

(a frozen at its initialisation), after which the first layer stays fixed and only a ridge
readout is fitted. As an optax transformation: step t = 0 is -lr * g, every later step is 0.

    one_large_step(eta * sqrt(N))        # lr = eta sqrt(N), may be traced
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def one_large_step(lr) -> optax.GradientTransformation:
    """updates = -lr * g at the first call, 0 afterwards (lr a scalar, possibly traced)."""

    def init(params):
        del params
        return optax.ScaleByScheduleState(count=jnp.zeros([], jnp.int32))

    def update(updates, state, params=None):
        del params
        factor = jnp.where(state.count == 0, -lr, 0.0)
        updates = jax.tree_util.tree_map(lambda g: factor * g, updates)
        return updates, optax.ScaleByScheduleState(count=state.count + 1)

    return optax.GradientTransformation(init, update)
