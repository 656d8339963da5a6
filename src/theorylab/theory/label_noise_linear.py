"""Closed forms for label-noise SGD on two-layer linear networks f(x) = a^T W x, W [m, d]
("On the Learning Dynamics of Two-layer Linear Networks with Label Noise SGD", Zhang et al.,
AAAI 2026, arXiv:2603.10397). Pure numpy / math, no training.

* Phase I (norm decay): E ||w_i(t)||^2 ~ ||w_i(0)||^2 exp(-eta^2 g2 t), g2 = E g_t^2 >= sigma^2
  (the squared residual of one step includes the label noise); overlay rate eta^2 sigma^2.
  (Our derivation from the exact per-step identity below, taking expectations with a_i small
  and E (x^T w)^2 = ||w||^2.)
* Lazy escape, Theorem 2: T1 = 384 sqrt(log m) / (sigma^2 eta^2 sqrt(m)) bounds the first
  step with min_i ||w_i(t) - w_i(0)|| sqrt(m) >= 1 (Definition 1). Loose by ~500x; its
  scaling sigma^-2 eta^-2 m^-1/2 is what we test.
* End state: for isotropic x, tr Hess L at an interpolator is R = ||W||_F^2 + d ||a||^2 (the
  regulariser of label noise, Blanc et al. 2020 / Damian et al. 2021). min R subject to
  W^T a = theta* has every w_i parallel to +-theta*, ||w_i||^2 = d a_i^2 and
  R* = 2 sqrt(d) ||theta*||, mean_i ||w_i||^2 = sqrt(d) ||theta*|| / m.
* Phase II, Lemma 6: T3 = ln(1/eta) / (eta ||theta*||^2) steps to ||theta - theta*|| =
  O(eta ln 1/eta).
* Random init: E |cos(w, u)| = Gamma(d/2) / (sqrt(pi) Gamma((d+1)/2)) for w isotropic in R^d.
"""

from __future__ import annotations

import math

import numpy as np


def phase1_rate(lr: float, sigma: float) -> float:
    """eta^2 sigma^2: per-step decay rate of mean ||w_i||^2 in Phase I."""
    return lr * lr * sigma * sigma


def escape_time_bound(lr: float, sigma: float, m: int) -> float:
    """Theorem 2: T1 = 384 sqrt(log m) / (sigma^2 eta^2 sqrt(m))."""
    return 384.0 * math.sqrt(math.log(m)) / (sigma * sigma * lr * lr * math.sqrt(m))


def escape_scaling(lr: float, sigma: float, m: int) -> float:
    """sigma^-2 eta^-2 m^-1/2: the m-, sigma-, eta-dependence of the escape time."""
    return 1.0 / (sigma * sigma * lr * lr * math.sqrt(m))


def end_state_R(d: int, theta_norm: float) -> float:
    """R* = min {||W||_F^2 + d ||a||^2 : W^T a = theta*} = 2 sqrt(d) ||theta*||."""
    return 2.0 * math.sqrt(d) * theta_norm


def end_state_mean_norm2(d: int, m: int, theta_norm: float) -> float:
    """mean_i ||w_i||^2 at the minimiser of R: sqrt(d) ||theta*|| / m."""
    return math.sqrt(d) * theta_norm / m


def minimise_R_numerically(d: int, m: int, theta_norm: float) -> float:
    """The same minimum by brute force over the balanced rank-one family w_i = c_i u,
    a_i = s_i / c_i-scaled: R(c) = sum_i c_i^2 + d sum_i a_i^2 with sum_i a_i c_i = ||theta*||;
    at fixed c the best a is a = ||theta*|| c / ||c||^2, so R = ||c||^2 + d ||theta*||^2 / ||c||^2,
    minimised over s = ||c||^2 on a grid (a check of end_state_R, not a formula to use)."""
    s = np.geomspace(1e-4, 1e4, 200001) * theta_norm * math.sqrt(d)
    return float(np.min(s + d * theta_norm ** 2 / s))


def phase2_time(lr: float, theta_norm: float) -> float:
    """Lemma 6: T3 = ln(1/eta) / (eta ||theta*||^2) steps."""
    return math.log(1.0 / lr) / (lr * theta_norm ** 2)


def random_alignment(d: int) -> float:
    """E |cos(w, u)| for w ~ N(0, I_d): Gamma(d/2) / (sqrt(pi) Gamma((d+1)/2))."""
    return math.exp(math.lgamma(d / 2) - math.lgamma((d + 1) / 2)) / math.sqrt(math.pi)


def identity_terms(a: np.ndarray, W: np.ndarray, x: np.ndarray, g: float, lr: float):
    """The exact per-step identity of one label-noise SGD step (a, W) -> (a', W') with
    residual g: returns (lhs, rhs) arrays [m] of

        Delta(||w_i||^2 - a_i^2) = eta^2 g^2 (a_i^2 ||x||^2 - (x^T w_i)^2),

    lhs evaluated from the step itself, rhs from the closed form."""
    wx = W @ x
    a2 = a - lr * g * wx
    W2 = W - lr * g * np.outer(a, x)
    lhs = (np.sum(W2 ** 2, 1) - a2 ** 2) - (np.sum(W ** 2, 1) - a ** 2)
    rhs = lr ** 2 * g ** 2 * (a ** 2 * (x @ x) - wx ** 2)
    return lhs, rhs


def oscillation_rate(lr: float) -> float:
    """eta^(3/2): decay rate of E mean ||w_i||^2 under GD on W with a_i forced to oscillate on
    {-c, 0, +c}, c = eta^(1/4) (each active step takes ~2 eta c^2 ||w_i||^2 off ||w_i||^2, and
    a_i is active half the time; our derivation). Lemma 4: mean ||w_i||^2 <= sqrt(eta) by some
    t0 <= eta^-2."""
    return lr ** 1.5
