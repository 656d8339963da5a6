"""Two-layer graph convolutional network on patch features: the ReLU^q CNN of ``models/cnn.py``
applied to aggregated node features ("Quantifying the Optimization and Generalization
Advantages of Graph Neural Networks Over Multilayer Perceptrons", arXiv:2306.13926):

    f(W, x~_i) = F_{+1} - F_{-1},  F_j = (1/m) sum_r sum_p sigma(<w_{j,r}, x~_i^(p)>),
    x~ = normalised (A + I) x       (``data/sbm.py``: aggregate)

W [2, m, d] as in cnn.py (fixed +-1/m second layer). The aggregation has no weights, so it
is computed once per graph; the MLP/CNN baseline is the same network on x itself.
"""

from __future__ import annotations

import jax

from theorylab.data import sbm
from theorylab.models import cnn


def apply(w: jax.Array, adj: jax.Array, x: jax.Array, q: int, norm: str = "row") -> jax.Array:
    """[N]: the GCN output of every node, w [2, m, d], adj [N, N], x [N, P, d]."""
    return cnn.apply(w, sbm.aggregate(adj, x, norm), q)
