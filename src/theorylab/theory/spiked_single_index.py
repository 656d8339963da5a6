"""Where spherical and weight-normalised neurons end up under a spiked covariance (closed forms).

Data (our restatement of the setting of "Gradient-Based Feature Learning under Structured
Data", Mousavi-Hosseini, Wu, Suzuki, Erdogdu; NeurIPS 2023; arXiv:2309.03843 -- abstract only
was read): x ~ N(0, Sigma), Sigma = (I + kappa theta theta^T)/(1 + kappa), y = h_k(<u, x>) with
|u|_Sigma = sqrt(u^T Sigma u) = 1. Write u = a theta + b theta_perp (theta_perp a unit vector
orthogonal to theta) and let ``share`` = a^2 be the fraction of u's Sigma-variance carried by
the spike: u^T Sigma u = a^2 + b^2 / (1 + kappa) = 1, so b^2 = (1 - share)(1 + kappa).

For a student h_k(<w, x>) the population correlation is exactly (w^T Sigma u)^k (only the h_k
component of h_k(s z) correlates with h_k, and its coefficient is s^k, s^2 = w^T Sigma w).
Maximising it (our derivation):
* on the sphere |w| = 1: w* = Sigma u / |Sigma u|, whose whitened overlap
  w^T Sigma u / sqrt(w^T Sigma w) = u^T Sigma^2 u / sqrt(u^T Sigma^3 u) < 1 unless u is an
  eigenvector of Sigma: spherical dynamics cannot recover u;
* on the Sigma-sphere |w|_Sigma = 1 (weight / batch normalisation): w* = u, whitened overlap 1.
"""

from __future__ import annotations

import math


def components(share: float, kappa: float) -> tuple[float, float]:
    """(a, b): u = a theta + b theta_perp with a^2 = share and |u|_Sigma = 1."""
    return math.sqrt(share), math.sqrt((1 - share) * (1 + kappa))


def sigma_moment(share: float, kappa: float, p: int) -> float:
    """u^T Sigma^p u = a^2 + b^2 / (1 + kappa)^p (Sigma has eigenvalue 1 on theta, 1/(1+kappa) off it)."""
    a, b = components(share, kappa)
    return a * a + b * b / (1 + kappa) ** p


def spherical_optimum_overlap(share: float, kappa: float) -> float:
    """u^T Sigma^2 u / sqrt(u^T Sigma^3 u): the whitened overlap of the spherical optimum Sigma u / |Sigma u|
    (0.718 at share = 1/2, kappa = 64)."""
    return sigma_moment(share, kappa, 2) / math.sqrt(sigma_moment(share, kappa, 3))


def weight_normalised_optimum_overlap() -> float:
    """1: on the Sigma-sphere the optimum is u itself."""
    return 1.0
