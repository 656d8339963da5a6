"""In-context prompts over pattern tokens: the data model of "How Do Nonlinear Transformers
Learn and Generalize in In-Context Learning?" (Li, Wang, Lu, Cui, Chen; ICML 2024;
arXiv:2402.15607), as read by the toolkit (no full text available; [I] = our reading).

Inputs x = mu + kappa nu in R^dx: mu a relevant pattern (a row of ``relevant`` [P, dx]), nu an
irrelevant one (a row of ``irrelevant`` [Q, dx], uniform), kappa ~ U[-kappa_max, kappa_max].
In domain: relevant = e_0..e_{M1-1} (IDR), irrelevant = e_{M1}..e_{M1+M2-1} (IDI).
Out of domain (``ood_patterns``): relevant mu'_j = (S1/2)(mu_{2j} + mu_{2j+1}) (coefficient sum
S1; it also sets the pattern norm S1/sqrt 2), irrelevant = a fixed rotation of the IDI basis.

A task (a, b) labels x by +1 if its pattern is a, -1 if b, and by a random sign otherwise.
A prompt of l context pairs and a query is the matrix of columns p_i = (x_i; y_i) and
p_q = (x_q; 0), returned as rows: tokens [n, l+1, dx+1] with the query last. A context pattern
is a or b with probability alpha/2 each and any other relevant pattern with (1-alpha)/(P-2);
the query pattern is a or b, 1/2 each [I]; its label z = +1 for a, -1 for b.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Prompts(NamedTuple):
    tokens: jax.Array  # [n, l+1, dx+1]: contexts (x_i; y_i), then the query (x_q; 0)
    z: jax.Array  # [n] the query's label in {+1, -1}
    same: jax.Array  # [n, l] bool: context i has the query's relevant pattern


def train_tasks(m1: int) -> np.ndarray:
    """[M1, 2]: (i, i+1 mod M1), which covers every IDR pattern with both labels [I]."""
    i = np.arange(m1)
    return np.stack([i, (i + 1) % m1], axis=1)


def other_tasks(p: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """[T, 2]: every ordered pair (a, b), a != b, of P patterns not in ``exclude``."""
    pairs = [(a, b) for a in range(p) for b in range(p) if a != b]
    if exclude is not None:
        ex = {tuple(t) for t in np.asarray(exclude).tolist()}
        pairs = [t for t in pairs if t not in ex]
    return np.array(pairs, dtype=np.int32)


def in_domain_patterns(m1: int, m2: int) -> tuple[jax.Array, jax.Array]:
    """(IDR [M1, dx], IDI [M2, dx]) with dx = M1 + M2: the standard basis."""
    eye = jnp.eye(m1 + m2)
    return eye[:m1], eye[m1:]


def rotation(q: int, seed: int = 0) -> np.ndarray:
    """A fixed random orthogonal matrix [Q, Q] (numpy QR outside any compiled program)."""
    a = np.random.default_rng(seed).standard_normal((q, q))
    o, r = np.linalg.qr(a)
    return o * np.sign(np.diag(r))


def ood_patterns(m1: int, m2: int, s1) -> tuple[jax.Array, jax.Array]:
    """(ODR [M1 // 2, dx], ODI [M2, dx]): mu'_j = (S1/2)(mu_2j + mu_2j+1); ODI = a rotation of IDI."""
    idr, idi = in_domain_patterns(m1, m2)
    odr = 0.5 * s1 * (idr[0:2 * (m1 // 2):2] + idr[1:2 * (m1 // 2):2])
    return odr, jnp.asarray(rotation(m2), idi.dtype) @ idi


def sample(key: jax.Array, n: int, l: int, *, relevant: jax.Array, irrelevant: jax.Array, tasks: jax.Array,
           alpha, kappa_max=0.5) -> Prompts:
    """n prompts of l contexts each (see the module docstring); tasks [T, 2] drawn uniformly."""
    k_task, k_ctx, k_pick, k_other, k_q, k_irr, k_kap, k_rand = jax.random.split(key, 8)
    p = relevant.shape[0]
    task = jnp.asarray(tasks)[jax.random.randint(k_task, (n,), 0, len(tasks))]  # [n, 2]
    a, b = task[:, :1], task[:, 1:]
    # context patterns: a or b w.p. alpha (half each), else uniform over the other P - 2
    in_task = jax.random.uniform(k_ctx, (n, l)) < alpha
    ab = jnp.where(jax.random.bernoulli(k_pick, 0.5, (n, l)), a, b)
    r = jax.random.randint(k_other, (n, l), 0, p - 2)  # skip a and b: r-th pattern outside {a, b}
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    other = r + (r >= lo) + (r + (r >= lo) >= hi)
    ctx = jnp.where(in_task, ab, other)
    q_is_a = jax.random.bernoulli(k_q, 0.5, (n,))
    qpat = jnp.where(q_is_a, a[:, 0], b[:, 0])
    pats = jnp.concatenate([ctx, qpat[:, None]], axis=1)  # [n, l+1]
    irr = jax.random.randint(k_irr, (n, l + 1), 0, irrelevant.shape[0])
    kappa = jax.random.uniform(k_kap, (n, l + 1), minval=-kappa_max, maxval=kappa_max)
    x = relevant[pats] + kappa[..., None] * irrelevant[irr]  # [n, l+1, dx]
    rand = jnp.where(jax.random.bernoulli(k_rand, 0.5, (n, l)), 1.0, -1.0)
    y = jnp.where(ctx == a, 1.0, jnp.where(ctx == b, -1.0, rand))
    y = jnp.concatenate([y, jnp.zeros((n, 1))], axis=1)
    tokens = jnp.concatenate([x, y[..., None]], axis=-1)
    return Prompts(tokens, jnp.where(q_is_a, 1.0, -1.0), ctx == qpat[:, None])
