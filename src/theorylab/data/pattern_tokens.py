"""PatternTokens: sequences of noisy copies of dictionary patterns, a few of which decide the label.

The data model of the Li / Wang feature-learning analyses of one-layer sequence models ("A
Theoretical Understanding of Shallow Vision Transformers", arXiv:2302.06015; "A Theoretical
Analysis of Mamba's Training Dynamics", arXiv:2602.12499).

Dictionary: the first M standard basis vectors o_0 ... o_{M-1} of R^d (orthonormal; M <= d).
o_0 = o_+ and o_1 = o_- are the discriminative patterns, o_2 ... o_{M-1} the irrelevant ones.
A token is x_l = o_{p_l} + xi_l with xi_l ~ N(0, (tau^2 / d) I_d), so |xi_l| ~ tau.

Label rules (labels are balanced: y_i = +1 for even i, -1 for odd i):

* ``majority``: n_rel tokens carry the sample's own class pattern (o_+ if y = +1, o_- if
  y = -1; "label-relevant"), n_conf tokens carry the other one ("confusion"), the rest draw an
  irrelevant pattern uniformly; positions are a uniform random permutation. With
  n_rel > n_conf the label is the majority vote of the two. n_rel, n_conf may be traced ints
  (fractions alpha L rounded), so a sweep over the fractions is one compiled program.
* ``locality``: exactly two o_+ and two o_- tokens, the rest irrelevant. y = +1: the o_+ pair
  sits at distance dl_close and the o_- pair at dl_far; y = -1 the reverse. Pair start
  positions are uniform subject to four distinct positions (drawn by taking the first valid
  of ``tries`` candidate draws; at the sizes used a valid one exists with probability
  1 - 1e-9 or more). Locality gap g_loc = 2^-dl_close - 2^-dl_far (``locality_gap``).

Every sampler returns ``Tokens``: x [n, L, d], y [n] (float, +-1), pattern [n, L] (int index
of the pattern), kind [n, L] (0 label-relevant, 1 confusion, 2 irrelevant; for locality 0 is
the pair of the close distance, 1 the far pair).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

RELEVANT, CONFUSION, IRRELEVANT = 0, 1, 2


class Tokens(NamedTuple):
    x: jax.Array  # [n, L, d]
    y: jax.Array  # [n] in {+1, -1}
    pattern: jax.Array  # [n, L] int
    kind: jax.Array  # [n, L] int: RELEVANT / CONFUSION / IRRELEVANT


def labels(n: int) -> jax.Array:
    """[n]: +1, -1, +1, ... (balanced classes)."""
    return jnp.where(jnp.arange(n) % 2 == 0, 1.0, -1.0)


def embed(key: jax.Array, pattern: jax.Array, d: int, tau) -> jax.Array:
    """pattern [n, L] int -> tokens o_pattern + xi [n, L, d], xi ~ N(0, tau^2 / d I)."""
    noise = jax.random.normal(key, pattern.shape + (d,))
    return jax.nn.one_hot(pattern, d) + (tau / jnp.sqrt(d)) * noise


def majority(key: jax.Array, n: int, *, d: int, L: int, M: int, n_rel, n_conf, tau) -> Tokens:
    """Majority-vote sequences: n samples of L tokens (see the module docstring)."""
    k_perm, k_irr, k_noise = jax.random.split(key, 3)
    y = labels(n)
    rank = jnp.argsort(jax.random.uniform(k_perm, (n, L)), axis=1)  # a uniform permutation per sample
    kind = jnp.where(rank < n_rel, RELEVANT, jnp.where(rank < n_rel + n_conf, CONFUSION, IRRELEVANT))
    own = jnp.where(y > 0, 0, 1)[:, None]  # o_+ for y = +1, o_- for y = -1
    irr = jax.random.randint(k_irr, (n, L), 2, M)
    pattern = jnp.where(kind == RELEVANT, own, jnp.where(kind == CONFUSION, 1 - own, irr))
    return Tokens(embed(k_noise, pattern, d, tau), y, pattern, kind)


def locality_gap(dl_close, dl_far):
    """g_loc = 2^-dl_close - 2^-dl_far (arXiv:2602.12499, Theorem 2)."""
    return 2.0 ** (-dl_close) - 2.0 ** (-dl_far)


def _pair_starts(key, n, L, dl_close, dl_far, tries):
    """[n] start of the close pair and [n] start of the far pair, four distinct positions."""
    ka, kb = jax.random.split(key)
    a = jax.random.randint(ka, (n, tries), 0, L - dl_close)  # close pair at (a, a + dl_close)
    b = jax.random.randint(kb, (n, tries), 0, L - dl_far)  # far pair at (b, b + dl_far)
    ok = (a != b) & (a != b + dl_far) & (a + dl_close != b) & (a + dl_close != b + dl_far)
    first = jnp.argmax(ok, axis=1)
    return jnp.take_along_axis(a, first[:, None], 1)[:, 0], jnp.take_along_axis(b, first[:, None], 1)[:, 0]


def locality(key: jax.Array, n: int, *, d: int, L: int, M: int, dl_close, dl_far, tau,
             tries: int = 64) -> Tokens:
    """Locality sequences: n samples of L tokens (see the module docstring). dl_close < dl_far <= L - 2."""
    k_pos, k_irr, k_noise = jax.random.split(key, 3)
    y = labels(n)
    a, b = _pair_starts(k_pos, n, L, dl_close, dl_far, tries)
    pos = jnp.arange(L)[None, :]
    close = (pos == a[:, None]) | (pos == (a + dl_close)[:, None])
    far = (pos == b[:, None]) | (pos == (b + dl_far)[:, None])
    close_pattern = jnp.where(y > 0, 0, 1)[:, None]  # y = +1: o_+ is the close pair
    irr = jax.random.randint(k_irr, (n, L), 2, M)
    pattern = jnp.where(close, close_pattern, jnp.where(far, 1 - close_pattern, irr))
    kind = jnp.where(close, RELEVANT, jnp.where(far, CONFUSION, IRRELEVANT))
    return Tokens(embed(k_noise, pattern, d, tau), y, pattern, kind)
