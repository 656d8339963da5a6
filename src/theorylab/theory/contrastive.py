"""Closed forms of "On the Comparison between Multi-modal and Single-modal Contrastive
Learning" (Huang, Han, Chen, Cao, Xu, Suzuki; NeurIPS 2024; arXiv:2411.02837).

* Lemma 5.2 (single-modal, end of stage 1):
      T1 = log(20 / (sigma0 sigma_xi sqrt(d))) / log(1 + 0.96 eta sigma_xi^2 d / (n m tau)),
  after which max noise memorisation is Omega(1) and signal learning O~(n^-1/2).
* Lemma 5.4 (multi-modal):
      T1 = log(20 / (sigma0 |mu|)) / log(1 + 0.48 C_mu eta |mu|^2 / (m tau)),  C_mu = |mu~| / |mu|,
  after which signal learning is Omega(1).
* At init every similarity is ~0, so the InfoNCE loss with M negatives is log(1 + M) per
  direction (multi-modal: two directions).
"""

from __future__ import annotations

import math


def t1_single(sigma0: float, sigma_xi: float, d: int, lr: float, n: int, m: int, tau: float) -> float:
    return math.log(20.0 / (sigma0 * sigma_xi * math.sqrt(d))) / math.log1p(0.96 * lr * sigma_xi ** 2 * d / (n * m * tau))


def t1_multi(sigma0: float, mu_norm: float, c_mu: float, lr: float, m: int, tau: float) -> float:
    return math.log(20.0 / (sigma0 * mu_norm)) / math.log1p(0.48 * c_mu * lr * mu_norm ** 2 / (m * tau))


def initial_loss(n_negatives: int, directions: int = 1) -> float:
    """directions * log(1 + M): the InfoNCE loss when every similarity is 0."""
    return directions * math.log1p(n_negatives)
