"""Label-noise GD: every step, perturb the training labels afresh and descend on them.

Label-noise GD of "Towards understanding the benefit of label noise GD in the low-SNR regime"
(arXiv:2510.17526): at step t draw eps_i independently per sample and per step and take a GD
step on

    L_t(W) = (1/n) sum_i l(eps_i * y_i * f(W, x_i)).

Kinds of eps (the flip is the paper's main rule; the others are its appendix variants):

    "flip":      eps = -1 with probability p, else +1  (p = 0 is plain GD)
    "gaussian":  eps ~ N(mean, std^2)                   (appendix: N(1, 1), N(0.6, 1))
    "uniform":   eps ~ Unif[lo, hi]                     (appendix: Unif[-1, 2], Unif[-2, 3])

The piece is model-agnostic: :func:`with_label_noise` turns any loss written for given
labels into the engine's per-step stochastic objective, drawing eps from the per-step key
that the engine passes to ``loss``.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

KINDS = ("flip", "gaussian", "uniform")


class LabelNoise(NamedTuple):
    """The distribution of eps. Fields may be traced scalars (swept without recompiling)."""

    kind: str = "flip"  # one of KINDS (static)
    p: Any = 0.0  # flip probability ("flip")
    mean: Any = 1.0  # "gaussian"
    std: Any = 0.0  # "gaussian"
    lo: Any = 1.0  # "uniform"
    hi: Any = 1.0  # "uniform"


def draw_eps(key: jax.Array, shape: tuple[int, ...], noise: LabelNoise) -> jax.Array:
    """[*shape] i.i.d. multiplicative label noise eps, in the default float dtype."""
    if noise.kind == "flip":
        return jnp.where(jax.random.bernoulli(key, noise.p, shape), -1.0, 1.0)
    if noise.kind == "gaussian":
        return noise.mean + noise.std * jax.random.normal(key, shape)
    if noise.kind == "uniform":
        return jax.random.uniform(key, shape, minval=noise.lo, maxval=noise.hi)
    raise ValueError(f"label noise kind must be one of {', '.join(KINDS)}, got {noise.kind!r}")


def noisy_labels(key: jax.Array, y: jax.Array, noise: LabelNoise) -> jax.Array:
    """[n]: eps_i * y_i with fresh eps for labels y [n]."""
    return draw_eps(key, y.shape, noise) * y


def with_label_noise(
    loss_given_labels: Callable[..., jax.Array],
    noise_of: Callable[[Any], LabelNoise],
    labels_of: Callable[[Any], jax.Array] = lambda data: data["y"],
) -> Callable[..., jax.Array]:
    """Wrap ``loss_given_labels(params, data, cfg, y) -> scalar`` into the engine's
    ``loss(params, data, cfg, key)`` that evaluates it at eps * y with eps drawn from ``key``.

    ``noise_of(cfg) -> LabelNoise`` reads the noise distribution from the (possibly traced)
    config; ``labels_of(data) -> y [n]`` finds the training labels (default ``data["y"]``).
    """

    def loss(params, data, cfg, key):
        return loss_given_labels(params, data, cfg, noisy_labels(key, labels_of(data), noise_of(cfg)))

    return loss
