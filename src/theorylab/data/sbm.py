"""Stochastic-block-model graphs over labelled nodes, and the feature aggregation of a GCN.

SNM-SBM ("Quantifying the Optimization and Generalization Advantages of Graph Neural Networks
Over Multilayer Perceptrons", Huang, Cao, Wang, Cao, Suzuki; AISTATS 2025; arXiv:2306.13926):
node features are signal-noise patches (``data/signal_noise.py``), edges an SBM on the labels.

    P(A_ij = 1) = p = 2 D h / N   if y_i = y_j,     s = 2 D (1 - h) / N   otherwise  (i != j)

so a node has expected degree ~ D, a fraction h (the homophily) of its expected neighbours in
its own class. A is symmetric with a zero diagonal. D and h may be traced (swept without
recompiling); N is a shape.

Aggregation with a self-loop, A~ = A + I, deg~_i = 1 + deg_i:
    "row":  x~_i = (1 / deg~_i) sum_{j in N(i) + i} x_j         (D~^-1 A~ x)
    "sym":  x~_i = sum_j A~_ij x_j / sqrt(deg~_i deg~_j)         (D~^-1/2 A~ D~^-1/2 x)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

NORMS = ("row", "sym")


def edge_probabilities(y: jax.Array, degree, homophily) -> jax.Array:
    """[N, N]: P(A_ij = 1) for labels y [N]; the diagonal is 0."""
    n = y.shape[0]
    same = y[:, None] == y[None, :]
    p = jnp.where(same, 2.0 * degree * homophily / n, 2.0 * degree * (1.0 - homophily) / n)
    return jnp.where(jnp.eye(n, dtype=bool), 0.0, p)


def sample_sbm(key: jax.Array, y: jax.Array, degree, homophily) -> jax.Array:
    """[N, N] symmetric 0/1 adjacency (default float dtype), zero diagonal."""
    n = y.shape[0]
    u = jax.random.uniform(key, (n, n))
    upper = jnp.triu(u < edge_probabilities(y, degree, homophily), k=1)
    return (upper | upper.T).astype(jnp.result_type(float))


def aggregate(adj: jax.Array, x: jax.Array, norm: str = "row") -> jax.Array:
    """x [N, ...] -> x~ [N, ...]: normalised (A + I) x, over the node axis."""
    n = adj.shape[0]
    a = adj + jnp.eye(n, dtype=adj.dtype)
    deg = a.sum(axis=1)  # [N] 1 + degree
    flat = x.reshape(n, -1)
    if norm == "row":
        out = (a @ flat) / deg[:, None]
    elif norm == "sym":
        s = 1.0 / jnp.sqrt(deg)
        out = s[:, None] * (a @ (s[:, None] * flat))
    else:
        raise ValueError(f"aggregation norm must be one of {', '.join(NORMS)}, got {norm!r}")
    return out.reshape(x.shape)
