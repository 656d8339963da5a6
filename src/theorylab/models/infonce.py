"""The InfoNCE contrastive loss with patch-wise, stop-gradient similarities
("On the Comparison between Multi-modal and Single-modal Contrastive Learning", arXiv:2411.02837,
Eqs. 3-5).

    Sim(x, x') = (1/m) sum_r sum_p a_r^(p)(x) * sg[a'_r^(p)(x')]       (a = patch activations)

    L = -(1/n) sum_i log( e^{S_ii / tau} / (e^{S_ii / tau} + sum_{j in Neg(i)} e^{S_ij / tau}) )

with S_ii the similarity to the positive of sample i and S_ij to its negatives; sg =
stop_gradient: only the first argument's encoder receives gradient through a similarity.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def similarity(act_q: jax.Array, act_k: jax.Array) -> jax.Array:
    """[n, n']: (1/m) sum_{r,p} act_q[i, r, p] * sg(act_k[j, r, p]); act_q [n, m, P], act_k [n', m, P]."""
    m = act_q.shape[1]
    return jnp.einsum("imp,jmp->ij", act_q, jax.lax.stop_gradient(act_k)) / m


def info_nce(pos: jax.Array, neg: jax.Array, neg_mask: jax.Array, tau) -> jax.Array:
    """Mean InfoNCE loss. pos [n]: S_ii; neg [n, n']: S_ij; neg_mask [n, n'] bool (j in Neg(i))."""
    logits = jnp.where(neg_mask, neg / tau, -jnp.inf)
    lse = jnp.logaddexp(pos / tau, jax.nn.logsumexp(logits, axis=1))
    return jnp.mean(lse - pos / tau)
