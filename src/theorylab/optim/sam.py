"""Sharpness-aware minimisation (SAM) as a loss wrapper: two gradient evaluations per step,
both inside the compiled program.

SAM (Foret et al. 2021; per-sample SAM as in "On the Learning Dynamics of Two-layer Linear
Networks with Label Noise SGD", arXiv:2603.10397, Sec. 5) steps along the gradient taken at
an ascent-perturbed point:

    g   = grad L_t(theta)
    eps = rho * g / ||g||                      (||.|| over all parameters)
    theta <- theta - eta * grad L_t(theta + eps)

Design: an optax GradientTransformation receives the gradient but never the loss, so it cannot
evaluate the second gradient. SAM therefore wraps the loss instead:

    L_sam(theta) = L_t(theta + stop_gradient(eps(theta)))

whose gradient is exactly grad L_t(theta + eps): eps is computed inside the wrapped loss with
jax.grad and held constant by stop_gradient. Both evaluations use the same per-step key, hence
the same minibatch and label noise (SAM on the step's own objective L_t). The engine's
optimizer (optax.sgd(lr), or any optax chain) then applies the SAM gradient. rho = 0 gives the
plain step (eps = 0); ||g|| = 0 gives eps = 0. The value returned is L_t(theta + eps).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax


def sam_perturbation(grads: Any, rho) -> Any:
    """rho * g / ||g|| (0 where ||g|| = 0), a pytree like grads; rho may be traced."""
    norm = optax.tree.norm(grads)
    scale = jnp.where(norm > 0, rho / jnp.where(norm > 0, norm, 1.0), 0.0)
    return jax.tree_util.tree_map(lambda g: scale * g, grads)


def with_sam(loss: Callable[..., jax.Array], rho_of: Callable[[Any], Any]) -> Callable[..., jax.Array]:
    """Wrap the engine's ``loss(params, data, cfg, key)`` into SAM's: its gradient is
    grad loss at params + rho_of(cfg) * g / ||g||, g = grad loss at params."""

    def sam_loss(params, data, cfg, key):
        g = jax.grad(loss)(params, data, cfg, key)
        eps = jax.lax.stop_gradient(sam_perturbation(g, rho_of(cfg)))
        return loss(jax.tree_util.tree_map(jnp.add, params, eps), data, cfg, key)

    return sam_loss
