"""Clustered single-index data: each cluster has its own direction, all share a global one.

The data model of "Mixture of Experts Provably Detect and Learn the Latent Cluster Structure in
Gradient-Based Learning" (Kawata, Matsutani, Kinoshita, Nishikawa, Suzuki; ICML 2025;
arXiv:2506.01656), as a third-party summary states it (the full text was not read):

    c ~ Unif{0..C-1},   x | c ~ N(rho v_c, I_d),
    y = f*(<w*_c, x>) + s_c g*(<w*_g, x>) + zeta nu,   nu ~ N(0, 1),   sum_c s_c = 0,

with unit directions v_c (cluster means), w*_c (local) and w*_g (global). The toolkit default
takes f* = g* = h_k (a normalised Hermite polynomial, information exponent k) and the 2C + 1
directions orthonormal, so <w*, x> ~ N(0, 1) in every cluster. With sum_c s_c = 0 the global
term averages out of every pooled correlation with a function of <w*_g, x> alone: a dense
network cannot find w*_g from the pooled data, an expert that sees one cluster can.

Directions are stored as one array dirs [2C + 1, d]: rows 0..C-1 the means v_c, rows C..2C-1
the local w*_c, row 2C the global w*_g. Everything is pure jnp (drawn inside a program).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from theorylab.data.hermite_expansion import hermite


class ClusteredBatch(NamedTuple):
    x: jax.Array  # [n, d] inputs
    y: jax.Array  # [n] labels (noisy)
    f: jax.Array  # [n] noise-free target
    c: jax.Array  # [n] int32 cluster of each sample


def orthonormal_directions(key: jax.Array, d: int, k: int) -> jax.Array:
    """[k, d]: k orthonormal rows, uniformly random (Gaussian rows, Gram-Schmidt in plain jnp:
    no LAPACK QR inside a vmapped program). k <= d."""
    g = jax.random.normal(key, (k, d))
    rows = []
    for i in range(k):
        v = g[i]
        for _ in range(2):  # twice: re-orthogonalise against rounding
            for u in rows:
                v = v - (u @ v) * u
        rows.append(v / jnp.linalg.norm(v))
    return jnp.stack(rows)


def means(dirs: jax.Array, n_clusters: int) -> jax.Array:
    """[C, d]: the cluster-mean directions v_c."""
    return dirs[:n_clusters]


def local_directions(dirs: jax.Array, n_clusters: int) -> jax.Array:
    """[C, d]: the local teacher directions w*_c."""
    return dirs[n_clusters:2 * n_clusters]


def global_direction(dirs: jax.Array, n_clusters: int) -> jax.Array:
    """[d]: the shared teacher direction w*_g."""
    return dirs[2 * n_clusters]


def alternating_signs(n_clusters: int) -> jax.Array:
    """[C]: s_c = +1, -1, +1, -1, ... (sum zero for even C)."""
    return jnp.where(jnp.arange(n_clusters) % 2 == 0, 1.0, -1.0)


def sample(key: jax.Array, n: int, dirs: jax.Array, n_clusters: int, *, rho, zeta, k: int = 3,
           signs: jax.Array | None = None) -> ClusteredBatch:
    """n fresh samples of the clustered model (see the module docstring) with f* = g* = h_k."""
    kc, kz, kn = jax.random.split(key, 3)
    c = jax.random.randint(kc, (n,), 0, n_clusters)
    s = alternating_signs(n_clusters) if signs is None else signs
    x = rho * means(dirs, n_clusters)[c] + jax.random.normal(kz, (n, dirs.shape[1]))
    local = jnp.sum(x * local_directions(dirs, n_clusters)[c], axis=1)  # <w*_c, x>  [n]
    glob = x @ global_direction(dirs, n_clusters)  # [n]
    f = hermite(k, local) + s[c] * hermite(k, glob)
    return ClusteredBatch(x, f + zeta * jax.random.normal(kn, (n,)), f, c.astype(jnp.int32))
