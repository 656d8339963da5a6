"""Reference levels for dense networks vs mixtures of experts on clustered single-index data
(the data model of Kawata et al., arXiv:2506.01656; see data/clustered_single_index.py).
Our derivations, closed forms only.

* a neuron that never learns w*_g keeps its initial overlap ~ N(0, 1/d); the largest of K such
  overlaps is ~ sqrt(2 ln K / d) (0.24 at d = 128, K = 36): the level dense networks stay at;
* the Bayes purity of a linear router between C clusters N(rho v_c, I) with orthonormal v_c and
  equal weights: the optimal rule is argmax_c <x, v_c>, right when rho + z_0 beats C - 1
  independent N(0, 1) projections z_c, so purity = E_z[Phi(rho + z)^(C-1)]; for C = 2 this is
  Phi(rho / sqrt(2)) (0.983 at rho = 3; 0.956 for C = 4);
* test-MSE floors with f* = g* = h_k and label noise zeta: a network blind to the global term
  cannot do better than |g*|^2 + zeta^2 = 1 + zeta^2 (for any predictor of <w*_c, x> and the
  cluster alone the term s_c g*(<w*_g, x>) is unpredictable, variance 1); an ideal MoE reaches zeta^2.
"""

from __future__ import annotations

import math

import numpy as np


def dense_overlap_level(n_neurons: int, d: int) -> float:
    """sqrt(2 ln K / d): the typical largest |overlap| of K random unit neurons with a fixed direction."""
    return math.sqrt(2 * math.log(n_neurons) / d)


def bayes_purity(rho: float, clusters: int = 2) -> float:
    """E_z[Phi(rho + z)^(C-1)], z ~ N(0, 1): the best purity of a linear router between C
    clusters N(rho v_c, I) with orthonormal v_c (Phi(rho / sqrt(2)) for C = 2), by 80-point
    Gauss-Hermite quadrature."""
    t, w = np.polynomial.hermite_e.hermegauss(80)  # weight exp(-t^2 / 2)
    phi = 0.5 * (1 + np.vectorize(math.erf)((rho + t) / math.sqrt(2)))
    return float(np.sum(w * phi ** (clusters - 1)) / math.sqrt(2 * math.pi))


def dense_mse_floor(zeta: float, global_norm2: float = 1.0) -> float:
    """|g*|^2 + zeta^2: the test MSE of any predictor that does not see <w*_g, x>."""
    return global_norm2 + zeta**2


def moe_mse_floor(zeta: float) -> float:
    """zeta^2: the noise floor an ideal mixture reaches."""
    return zeta**2
