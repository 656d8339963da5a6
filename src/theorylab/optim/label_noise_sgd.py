"""Label-noise SGD for regression: minibatch SGD on labels perturbed afresh at every step.

At step t draw a minibatch B_t of b indices uniformly from [n] (with replacement) and one
independent additive label noise eps_{t,k} per drawn sample, and take a gradient step on

    L_t(params) = (1 / 2b) sum_{k in B_t} (f(params, x_k) - y_k - eps_{t,k})^2.

Kinds of eps ("On the Learning Dynamics of Two-layer Linear Networks with Label Noise SGD",
arXiv:2603.10397, Sec. "Simulation setup": eps = +-sigma with equal probability):

    "sign":      eps = +-sigma, each with probability 1/2
    "gaussian":  eps ~ N(0, sigma^2)

sigma = 0 is plain online SGD. Since the noise enters through the residual, the step is the
clean minibatch gradient minus (1/b) sum_k eps_k grad f(x_k): label noise is a loss wrapper,
not an optax transformation (an optax transformation never sees grad f). The result is an
ordinary ``loss(params, data, cfg, key)`` that composes with any optax optimizer
(``optax.sgd(lr)`` gives label-noise SGD) and with the SAM wrapper of ``optim/sam.py``.

The batch and the noise are drawn from the per-step key the engine passes to ``loss``; the
sample stream is never stored.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

KINDS = ("sign", "gaussian")


def draw(key: jax.Array, n: int, batch: int, kind: str, sigma) -> tuple[jax.Array, jax.Array]:
    """(indices [batch] int32 in [0, n), eps [batch]) of one step; sigma may be traced."""
    k_idx, k_eps = jax.random.split(key)
    idx = jax.random.randint(k_idx, (batch,), 0, n)
    if kind == "sign":
        eps = sigma * jnp.where(jax.random.bernoulli(k_eps, 0.5, (batch,)), 1.0, -1.0)
    elif kind == "gaussian":
        eps = sigma * jax.random.normal(k_eps, (batch,))
    else:
        raise ValueError(f"label noise kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return idx, eps


def label_noise_sgd_loss(
    predict: Callable[[Any, jax.Array], jax.Array],
    *,
    batch: Callable[[Any], int],
    kind: Callable[[Any], str],
    sigma_of: Callable[[Any, Any], Any],
    inputs_of: Callable[[Any], jax.Array] = lambda data: data["x"],
    labels_of: Callable[[Any], jax.Array] = lambda data: data["y"],
) -> Callable[..., jax.Array]:
    """The engine's ``loss(params, data, cfg, key)`` of label-noise SGD.

    predict(params, x [b, d]) -> [b]; batch(cfg) -> b and kind(cfg) -> one of KINDS (static);
    sigma_of(params, cfg) -> the noise level of this step (a traced scalar: a schedule may read
    a step counter kept in params, see ``optim/clock.py``); inputs_of / labels_of find
    x [n, d] and y [n] in data.
    """

    def loss(params, data, cfg, key):
        x, y = inputs_of(data), labels_of(data)
        idx, eps = draw(key, y.shape[0], batch(cfg), kind(cfg), sigma_of(params, cfg))
        r = predict(params, x[idx]) - y[idx] - eps
        return 0.5 * jnp.mean(r * r)

    return loss
