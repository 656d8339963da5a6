"""Reference levels for dense networks vs mixtures of experts on clustered single-index data
(the data model of Kawata et al., arXiv:2506.01656; see data/clustered_single_index.py).
Our derivations, closed forms only.

* a neuron that never learns w*_g keeps its initial overlap ~ N(0, 1/d); the largest of K such
  overlaps is ~ sqrt(2 ln K / d) (0.24 at d = 128, K = 36): the level dense networks stay at;
* the Bayes purity of a linear router between two clusters with orthogonal unit means scaled by
  rho: the optimal rule errs when a N(0, 1) variable exceeds rho / sqrt(2), so
  purity = Phi(rho / sqrt(2)) (0.983 at rho = 3);
* test-MSE floors with f* = g* = h_k and label noise zeta: a network blind to the global term
  cannot do better than |g*|^2 + zeta^2 = 1 + zeta^2 (for any predictor of <w*_c, x> and the
  cluster alone the term s_c g*(<w*_g, x>) is unpredictable, variance 1); an ideal MoE reaches zeta^2.
"""

from __future__ import annotations

import math


def dense_overlap_level(n_neurons: int, d: int) -> float:
    """sqrt(2 ln K / d): the typical largest |overlap| of K random unit neurons with a fixed direction."""
    return math.sqrt(2 * math.log(n_neurons) / d)


def bayes_purity(rho: float) -> float:
    """Phi(rho / sqrt(2)): the best purity of a linear router between two clusters N(rho v_c, I),
    v_1 perpendicular to v_2, |v_c| = 1."""
    return 0.5 * (1 + math.erf(rho / 2))


def dense_mse_floor(zeta: float, global_norm2: float = 1.0) -> float:
    """|g*|^2 + zeta^2: the test MSE of any predictor that does not see <w*_g, x>."""
    return global_norm2 + zeta**2


def moe_mse_floor(zeta: float) -> float:
    """zeta^2: the noise floor an ideal mixture reaches."""
    return zeta**2
