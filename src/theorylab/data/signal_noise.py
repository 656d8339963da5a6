"""The signal-noise patch data model of the feature-learning theory papers.

Each sample is a matrix of M tokens (patches) in R^d with a label y in {+1, -1}:

    X = [ signal(y), xi_1, ..., xi_{M-1} ],   xi_j ~ N(0, s_j^2 I_d)   (or s_j^2 (I - P) )

* ``signal="orthogonal"``: signal(+1) = |mu| e_1, signal(-1) = |mu| e_2 (the ViT paper,
  arXiv:2409.19345); ``signal="antipodal"``: signal(y) = y |mu| e_1 (the CNN papers,
  arXiv:2510.17526, arXiv:2505.18909).
* ``noise_scales`` gives s_j per noise token: (sigma_strong, sigma_weak, ..., sigma_weak) for
  the ViT paper, (sigma_p,) for the two-patch CNN papers.
* ``orthogonal_noise`` projects every noise token orthogonal to the signal directions, with
  P the projector on span(signal vectors) (the convention of Cao et al. 2022).
* ``signal_position="random"`` puts the signal in a uniformly chosen slot per sample (the CNN
  papers draw which of the two patches carries y mu); ``"first"`` keeps it in slot 0.
* Label noise: each observed label is flipped with probability ``flip_pos`` if its true
  label is +1 and ``flip_neg`` if it is -1 (symmetric flips: equal rates). The data are drawn
  from the *true* label; ``y`` returned is the observed one.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class PatchData(NamedTuple):
    x: jax.Array  # [n, M, d] tokens
    y: jax.Array  # [n] observed labels in {+1, -1} (default float dtype)
    y_true: jax.Array  # [n] labels before flipping
    signal_slot: jax.Array  # [n] int, which token carries the signal


def signal_vectors(d: int, mu_norm, signal: str) -> jax.Array:
    """[2, d]: row 0 is the +1 class signal, row 1 the -1 class signal."""
    e = jnp.eye(2, d)
    if signal == "orthogonal":
        return mu_norm * e
    if signal == "antipodal":
        return mu_norm * jnp.stack([e[0], -e[0]])
    raise ValueError(f"signal must be 'orthogonal' or 'antipodal', got {signal!r}")


def sample(
    key: jax.Array,
    n: int,
    *,
    d: int,
    mu_norm,
    noise_scales: jax.Array,  # [M-1]
    signal: str = "orthogonal",
    orthogonal_noise: bool = False,
    signal_position: str = "first",
    labels: str = "alternating",
    flip_pos=0.0,
    flip_neg=0.0,
) -> PatchData:
    """Draw n samples; see the module docstring for the model. Pure in ``key``."""
    noise_scales = jnp.asarray(noise_scales, jnp.result_type(float))  # float32, float64 under x64
    m = noise_scales.shape[0] + 1
    k_lab, k_noise, k_pos, k_flip = jax.random.split(key, 4)
    if labels == "alternating":  # exactly balanced: +1, -1, +1, ...
        y_true = jnp.where(jnp.arange(n) % 2 == 0, 1.0, -1.0)
    elif labels == "rademacher":
        y_true = jnp.where(jax.random.bernoulli(k_lab, 0.5, (n,)), 1.0, -1.0)
    else:
        raise ValueError(f"labels must be 'alternating' or 'rademacher', got {labels!r}")

    sig = signal_vectors(d, mu_norm, signal)  # [2, d]
    sig_tok = jnp.where(y_true[:, None] > 0, sig[0], sig[1])  # [n, d]

    noise = jax.random.normal(k_noise, (n, m - 1, d)) * noise_scales[None, :, None]
    if orthogonal_noise:
        basis = jnp.eye(2, d) if signal == "orthogonal" else jnp.eye(1, d)  # orthonormal span
        noise = noise - (noise @ basis.T) @ basis

    if signal_position == "first":
        slot = jnp.zeros((n,), jnp.int32)
    elif signal_position == "random":
        slot = jax.random.randint(k_pos, (n,), 0, m)
    else:
        raise ValueError(f"signal_position must be 'first' or 'random', got {signal_position!r}")
    x = jnp.concatenate([sig_tok[:, None, :], noise], axis=1)  # signal in slot 0
    # Move the signal to its slot by a per-sample cyclic roll of the token axis.
    idx = (jnp.arange(m)[None, :] - slot[:, None]) % m  # [n, M]
    x = jnp.take_along_axis(x, idx[:, :, None], axis=1)

    u = jax.random.uniform(k_flip, (n,))
    rate = jnp.where(y_true > 0, flip_pos, flip_neg)
    y = jnp.where(u < rate, -y_true, y_true)
    return PatchData(x=x, y=y, y_true=y_true, signal_slot=slot)


def noise_tokens(data: PatchData) -> jax.Array:
    """[n, M-1, d]: the noise tokens of each sample, in order, wherever the signal sits."""
    n, m, _ = data.x.shape
    idx = (jnp.arange(1, m)[None, :] + data.signal_slot[:, None]) % m  # undo the roll
    return jnp.take_along_axis(data.x, idx[:, :, None], axis=1)
