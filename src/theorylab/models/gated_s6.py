"""The simplified Mamba block of "A Theoretical Analysis of Mamba's Training Dynamics:
Filtering Relevant Features for Generalization in State Space Models" (arXiv:2602.12499): one
S6 layer with an input-dependent gate, read out by a two-layer ReLU MLP (models/token_mlp.py).

It is the S6 layer of models/s6.py configured with A = -1 on every channel, Delta_t =
softplus(z_t), z_t = w_Delta^T x_t (b_Delta = 0), B_t = W_B x_t, C_t = W_C x_t, no biases.
Zero-order hold then gives exactly A_bar_t = exp(-Delta_t) = 1 - sigma(z_t) and
B_bar_t = (1 - exp(-Delta_t)) B_t = sigma(z_t) B_t, so the output at token l is

    y_l = sum_{s<=l} G_{l,s} (x_l^T W_C^T W_B x_s) x_s,
    G_{l,s} = sigma(z_s) prod_{j=s+1..l} (1 - sigma(z_j))            (the gate kernel)

("linear attention times nonlinear gating"). G is ``s6.state_kernel(Delta, -1)``, the layer's
own parallel form (tested against the sequential ``s6.scan``). At w_Delta = 0 every factor is
1/2, the origin of the theory's (1/2)^dL terms.

Shapes: x [..., L, d]; w_delta [d]; W_B, W_C [d_h, d]; overlap P = X W_C^T W_B X^T [..., L, L].
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from theorylab.models import s6


def gate_kernel(w_delta: jax.Array, x: jax.Array) -> jax.Array:
    """G [..., L, L] (row l = output token, column s = source token; lower triangular)."""
    delta = jax.nn.softplus(x @ w_delta)  # [..., L]
    kern = lambda dl: s6.state_kernel(dl, -1.0)  # noqa: E731
    for _ in range(delta.ndim - 1):
        kern = jax.vmap(kern)
    return kern(delta)


def overlap(x: jax.Array, w_b: jax.Array | None = None, w_c: jax.Array | None = None) -> jax.Array:
    """P [..., L, L] with P_{l,s} = x_l^T W_C^T W_B x_s (x_l^T x_s when W_B = W_C = I, the default)."""
    if w_b is None and w_c is None:
        return x @ jnp.swapaxes(x, -1, -2)
    return (x @ w_c.T) @ jnp.swapaxes(x @ w_b.T, -1, -2)


def mix(w_delta: jax.Array, x: jax.Array, p: jax.Array) -> jax.Array:
    """y [..., L, d]: y_l = sum_s G_{l,s} P_{l,s} x_s, for tokens x and their overlap p = overlap(x)."""
    return (gate_kernel(w_delta, x) * p) @ x


def as_s6(w_delta: jax.Array, w_b: jax.Array, w_c: jax.Array) -> s6.S6Params:
    """The same layer as models/s6.py parameters (D = d channels, hidden size d_h): for tests."""
    d_h, d = w_b.shape
    z = jnp.zeros((d_h,))
    return s6.S6Params(w_b=w_b, b_b=z, w_c=w_c, b_c=z, w_delta=w_delta, b_delta=jnp.zeros(()),
                       a=-jnp.ones((d, d_h)))
