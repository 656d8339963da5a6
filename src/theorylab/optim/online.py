"""Online SGD: every step draws a fresh minibatch from the engine's per-step key.

The engine hands ``Problem.loss`` a key that is fresh at every step (``fold_in(run key, t)``).
``online_loss`` turns a loss on a given batch into the engine's objective on a batch drawn from
that key, so the sample stream is never stored: step t of a run sees the same samples whether
it trains alone or batched with other runs, and memory does not grow with the number of steps.

    loss = online_loss(lambda key, data, cfg: draw(key, cfg.batch, data["beta"]),
                       lambda params, batch, data, cfg: mse(params, batch))
    Problem(setup, loss, observe, optimizer=lambda cfg: optax.sgd(lr(cfg)))
"""

from __future__ import annotations

from typing import Any, Callable

import jax


def online_loss(draw: Callable[[jax.Array, Any, Any], Any],
                loss_on: Callable[[Any, Any, Any, Any], jax.Array]) -> Callable[..., jax.Array]:
    """loss(params, data, cfg, key) = loss_on(params, draw(key, data, cfg), data, cfg).

    draw(key, data, cfg) -> batch (any pytree of arrays); loss_on(params, batch, data, cfg) ->
    scalar. The batch is drawn from the per-step key, so gradients never touch stored samples."""

    def loss(params, data, cfg, key):
        return loss_on(params, draw(key, data, cfg), data, cfg)

    return loss
