"""Risk of ridge regression on random features before and after one gradient step (numpy).

"High-dimensional Asymptotics of Feature Learning: How One Gradient Step Improves the
Representation" (Ba, Erdogdu, Suzuki, Wang, Wu, Yang; arXiv:2205.01445). Teacher
f*(x) = sigma*(<beta, x>) centred (mu_0* = 0), labels y = f* + eps, Var eps = noise^2; student
features phi(x) = sigma(W^T x) / sqrt(N), W [d, N]; ridge with penalty (lambda / N) |a|^2 on n
samples; risk R = E (f_hat(x) - f*(x))^2.

* ``kernel_lower_bound``: the part of f* beyond linear, |P_{>1} f*|^2 = mu_2*^2: no rotation-
  invariant kernel, random-features model, or conjugate kernel after a small (eta = Theta(1))
  step does better in the proportional limit (Section 3, Theorem 3 and Section 4).
* ``spike_alignment``: cos^2 of the top left singular vector of W_1 - W_0 with beta,
  mu_1*^2 / (mu_1*^2 + (E f*^2 + noise^2) / psi_1): the first gradient is, up to a vanishing
  error, the rank-one mu_1 X^T y a^T / (n sqrt(N)) (Proposition 2), whose left vector X^T y / n
  = mu_1* beta + a Gaussian vector of squared norm ~ (E f*^2 + noise^2) d / n (our derivation).
* ``ge_risk``: the risk predicted by the Gaussian-equivalent model for any given W (Theorem 3's
  GE model): features replaced by a Gaussian vector with covariance
  S = (mu_0^2 1 1^T + mu_1^2 W^T W + mu_2^2 I_N) / N and cross-covariance c = mu_1 mu_1* W^T beta
  / sqrt(N) with the target, evaluated by the standard deterministic equivalent of ridge
  (``ridge_excess_risk``). Valid at eta = 0 and eta = Theta(1); not for eta = Theta(sqrt(N)).
"""

from __future__ import annotations

import math

import numpy as np

from theorylab.data.hermite_expansion import gaussian_moments


def kernel_lower_bound(teacher: str) -> float:
    """mu_2*^2 of a (centred) teacher link: erf 0.0401, tanh 0.0274, softplus 0.0215, relu 0.0908."""
    return gaussian_moments(teacher)[2] ** 2


def spike_alignment(teacher: str, psi1: float, noise: float) -> float:
    """Predicted cos^2(u_1, beta) of the one-step update at n / d = psi1 (see module docstring)."""
    _, m1, m2 = gaussian_moments(teacher)
    return m1**2 / (m1**2 + (m1**2 + m2**2 + noise**2) / psi1)


def solve_kappa(eigs: np.ndarray, lam: float, n: int, iters: int = 200) -> float:
    """kappa > 0 with kappa (1 - sum_i s_i / (s_i + kappa) / n) = lam, eigs [p] >= 0, lam > 0
    (bisection in log kappa; the left side increases in kappa)."""
    eigs = np.clip(np.asarray(eigs, float), 0.0, None)
    g = lambda k: k * (1 - np.sum(eigs / (eigs + k)) / n) - lam  # noqa: E731
    lo, hi = math.log(lam), math.log(lam + eigs.sum() / n + 1e-300)
    if g(math.exp(hi)) < 0:
        hi = math.log(2 * (lam + eigs.sum() / n))
    for _ in range(iters):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if g(math.exp(mid)) < 0 else (lo, mid)
    return math.exp((lo + hi) / 2)


def ridge_excess_risk(cov: np.ndarray, theta: np.ndarray, noise_var: float, lam: float, n: int) -> float:
    """Deterministic equivalent of E (theta_hat - theta)^T cov (theta_hat - theta) for ridge
    theta_hat = argmin (1/n)|y - X theta|^2 + lam |theta|^2, x ~ N(0, cov [p, p]),
    y = <theta, x> + noise of variance noise_var, n samples:

        kappa (1 - Tr cov (cov + kappa)^{-1} / n) = lam,   df2 = Tr cov^2 (cov + kappa)^{-2},
        risk = [kappa^2 theta^T cov (cov + kappa)^{-2} theta + noise_var df2 / n] / (1 - df2 / n)."""
    s, q = np.linalg.eigh(np.asarray(cov, float))
    s = np.clip(s, 0.0, None)
    t2 = (q.T @ np.asarray(theta, float)) ** 2
    kappa = solve_kappa(s, lam, n)
    df2 = float(np.sum(s**2 / (s + kappa) ** 2))
    bias = kappa**2 * float(np.sum(s * t2 / (s + kappa) ** 2))
    return (bias + noise_var * df2 / n) / (1 - df2 / n)


def ge_risk(w: np.ndarray, beta: np.ndarray, act: str, teacher: str, lam: float, n: int, noise: float) -> float:
    """Gaussian-equivalent prediction of the ridge risk on the features of W [d, N] (teacher
    direction beta [d], activation and teacher named links, penalty lambda / N, n samples)."""
    w = np.asarray(w, float)
    width = w.shape[1]
    m0, m1, m2 = gaussian_moments(act)
    _, t1, t2 = gaussian_moments(teacher)
    cov = (m0**2 * np.ones((width, width)) + m1**2 * (w.T @ w) + m2**2 * np.eye(width)) / width
    c = m1 * t1 * (w.T @ np.asarray(beta, float)) / math.sqrt(width)
    theta = np.linalg.solve(cov, c)
    v_r = t1**2 - float(c @ theta)
    excess = ridge_excess_risk(cov, theta, v_r + t2**2 + noise**2, lam / width, n)
    return excess + v_r + t2**2
