"""The shallow ViT of "A Theoretical Understanding of Shallow Vision Transformers: Learning,
Generalization, and Sample Complexity" (Li, Wang, Liu, Chen; ICLR 2023; arXiv:2302.06015):
one softmax self-attention layer followed by a two-layer ReLU perceptron with fixed readout.

For one sample X = (x_1 ... x_L) [L, d] and the kept tokens S (a mask, ``keep`` [L]):

    A_{l,k} = softmax_{k in S}( (W_K x_k)^T (W_Q x_l) )          [L, L]  (no 1/sqrt(d) temperature)
    h_l     = W_V sum_k A_{l,k} x_k                               [d]
    F(X)    = (1/|S|) sum_{l in S} a^T ReLU(W_O h_l)              (models/token_mlp.py ``readout``)

Trained: W_Q, W_K, W_V [d, d] and W_O [m, d]; a [m] fixed at +-1/sqrt(m). With
``attention=False`` the softmax is replaced by the identity (A = I: each token alone through
the perceptron), the paper's CNN-like baseline (Proposition 1, as read by the toolkit).
Token sparsification = ``keep``: removed tokens are neither keys nor queries. The scores are
``models/attention.py``'s q k^T with q = X W_Q^T, k = X W_K^T, plus a key mask.

Init (toolkit defaults; the paper's are unknown): W_Q = W_K = c_qk I + (eps0/sqrt d) G,
W_V = I + (eps0/sqrt d) G, W_O ~ N(0, xi^2), G standard Gaussian.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from theorylab.models import token_mlp
from theorylab.models.attention import AttentionParams


def init(key: jax.Array, d: int, m: int, *, c_qk, eps0, xi) -> dict:
    """{"w_q", "w_k", "w_v": [d, d], "w_o": [m, d]} in the default float dtype."""
    kq, kk, kv, ko = jax.random.split(key, 4)
    eye, s = jnp.eye(d), eps0 / jnp.sqrt(d)
    return dict(w_q=c_qk * eye + s * jax.random.normal(kq, (d, d)),
                w_k=c_qk * eye + s * jax.random.normal(kk, (d, d)),
                w_v=eye + s * jax.random.normal(kv, (d, d)),
                w_o=xi * jax.random.normal(ko, (m, d)))


def attention_weights(p: dict, x: jax.Array, keep: jax.Array | None = None) -> jax.Array:
    """A [..., L, L] (row = query, column = key), keys outside ``keep`` [..., L] get weight 0."""
    ap = AttentionParams(w_q=p["w_q"].T, w_k=p["w_k"].T, w_v=p["w_v"].T)
    scores = (x @ ap.w_q) @ jnp.swapaxes(x @ ap.w_k, -1, -2)
    if keep is not None:
        scores = jnp.where(keep[..., None, :], scores, -jnp.inf)
    return jax.nn.softmax(scores, axis=-1)


def apply(p: dict, a: jax.Array, x: jax.Array, keep: jax.Array | None = None, *, attention: bool = True) -> jax.Array:
    """F(X) [...] for x [..., L, d] (see the module docstring)."""
    mixed = attention_weights(p, x, keep) @ x if attention else x  # [..., L, d]
    return token_mlp.readout(p["w_o"], a, mixed @ p["w_v"].T, keep)
