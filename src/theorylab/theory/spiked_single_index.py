"""Closed forms for a single-index teacher under a spiked input covariance (numpy).

Inputs x ~ N(0, Sigma), Sigma = (I + kappa theta theta^T) / (1 + kappa), |theta| = 1; teacher
y = h_k(<u, x>) with u^T Sigma u = 1, a fraction ``share`` of that variance along theta:
u = sqrt(share) theta + sqrt((1 - share)(1 + kappa)) theta_perp. For a neuron h_k(<w, x>) the
population correlation is (w^T Sigma u)^k (Hermite orthogonality, whatever |Sigma^{1/2} w|), so

* on the sphere |w| = 1 the optimum is w = Sigma u / |Sigma u|, whose whitened overlap
  w^T Sigma u / sqrt(w^T Sigma w) = u^T Sigma^2 u / sqrt(u^T Sigma^3 u) < 1;
* under weight normalisation |Sigma^{1/2} w| = 1 the correlation is cos^k of the Sigma-angle:
  the optimum is w = u (whitened overlap 1).

Setting of "Gradient-Based Feature Learning under Structured Data" (Mousavi-Hosseini, Wu,
Suzuki, Erdogdu; arXiv:2309.03843); the parameterisation and both optima are our derivation,
not the paper's text.
"""

from __future__ import annotations

import math


def sigma_moment(kappa: float, share: float, power: int) -> float:
    """u^T Sigma^power u: share + (1 - share) / (1 + kappa)^(power - 1)."""
    return share + (1 - share) / (1 + kappa) ** (power - 1)


def spherical_optimum_overlap(kappa: float, share: float) -> float:
    """Whitened overlap of the spherical optimum w ∝ Sigma u: u^T Sigma^2 u / sqrt(u^T Sigma^3 u)
    (0.718 at kappa = 64, share = 1/2; 1 at share = 1 or kappa = 0)."""
    return sigma_moment(kappa, share, 2) / math.sqrt(sigma_moment(kappa, share, 3))


def teacher_direction_coefficients(kappa: float, share: float) -> tuple[float, float]:
    """(a, b) with u = a theta + b theta_perp, u^T Sigma u = 1, a^2 = share."""
    return math.sqrt(share), math.sqrt((1 - share) * (1 + kappa))
