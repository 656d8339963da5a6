"""The saddle of the PWGF particle testbed and the escape time from it (closed forms, numpy).

Testbed (Kawata, Nitanda & Suzuki, "Finite-sample approximation of Hessian-guided perturbed
Wasserstein gradient flows", App. C; the setting of Yamamoto, Kim & Suzuki, arXiv:2509.16974):
particles W in R^{32 x 2}, A_mu = E_mu tanh(W), F(mu) = 1/4 ||A A^T - M*||_F^2 with
M* = u1 u1^T + 1/2 u2 u2^T, (u1)_a = 1/sqrt(32), (u2)_a = (-1)^(a-1)/sqrt(32). A symmetric
(+Z, -Z) initial law gives A = 0: F = 1/4 ||M*||^2 = 0.3125, a saddle where WGF never moves.

Linearised escape (a derivation, not a result of the papers): at A = 0 the Wasserstein Hessian
acts as L_0 B = -M* B (eigenvalues -1, -1/2 twice each, 0 otherwise), and while the particles
barely move dA/dt = sbar M* A with sbar = E[sech^4 Z], Z ~ N(0, 1): the u1-part of A grows at
rate sbar, the u2-part at rate sbar / 2. F < 0.05 needs the slow u2 mode to reach
a_end ~ 0.21, so

    t_esc(a0) = ln(a_end / a0) / (sbar / 2),      a0 = |u2^T A| right after the perturbation,

with the typical a0 of each perturbation (eta_p the jump size, N particles):

    Hessian-guided         a0 = eta_p sbar (1/2) sqrt(sbar)           (N-free)
    isotropic, independent a0 = eta_p sqrt(sbar) / sqrt(N)            (t_esc grows as ln N / sbar)
    static, random init    a0 = sqrt(E tanh^2 Z / N)                  (no perturbation; A_0 != 0)
"""

from __future__ import annotations

import numpy as np

P_ROWS, P_COLS = 32, 2  # a particle is a 32 x 2 matrix (p = 64)
A_END = 0.21  # |u2^T A| at which F falls below ESCAPE_F (read off the nonlinear flow)
ESCAPE_F = 0.05  # "escaped": F < 0.05
F_SADDLE = 0.3125  # 1/4 ||M*||_F^2 = 1/4 (1 + 1/4)


def _gauss(fn, order: int = 80) -> float:
    """E fn(Z), Z ~ N(0, 1), by Gauss-Hermite quadrature."""
    z, w = np.polynomial.hermite_e.hermegauss(order)
    return float(np.sum(w * fn(z)) / np.sqrt(2 * np.pi))


def sbar() -> float:
    """E[sech^4 Z] = 0.4646: the growth rate of the u1-part of A at the saddle."""
    return _gauss(lambda z: 1 / np.cosh(z) ** 4)


def tanh2() -> float:
    """E[tanh^2 Z] = 0.394."""
    return _gauss(lambda z: np.tanh(z) ** 2)


def directions(rows: int = P_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """(u1, u2) [rows]: the constant and the alternating unit vector."""
    u1 = np.ones(rows) / np.sqrt(rows)
    u2 = (-1.0) ** np.arange(rows) / np.sqrt(rows)
    return u1, u2


def target(rows: int = P_ROWS) -> np.ndarray:
    """[rows, rows]: M* = u1 u1^T + 1/2 u2 u2^T."""
    u1, u2 = directions(rows)
    return np.outer(u1, u1) + 0.5 * np.outer(u2, u2)


def growth_rate_u2() -> float:
    """sbar / 2 = 0.2323: the growth rate of |u2^T A| at the saddle."""
    return sbar() / 2


def escape_time(a0, a_end: float = A_END):
    """t_esc = ln(a_end / a0) / (sbar / 2) for a0 = |u2^T A| after the perturbation (array ok)."""
    return np.log(a_end / np.asarray(a0, float)) / growth_rate_u2()


MEDIAN_ABS_NORMAL = 0.6744897501960817  # median of |g|, g ~ N(0, 1)


def median_escape_time(a0_typical, a_end: float = A_END):
    """The median escape time once the random angle is accounted for (a derivation of this
    module, not of the papers): u2^T A and u1^T A are independent Gaussian 2-vectors right after
    the perturbation, and only the part of u2^T A orthogonal to u1^T A grows into the minimum;
    that part is a 1-D Gaussian of scale a0_typical, so the median a0_perp is 0.674 a0_typical:
    t_med = escape_time(0.674 a0_typical) = escape_time(a0_typical) + 1.70."""
    return escape_time(MEDIAN_ABS_NORMAL * np.asarray(a0_typical, float), a_end)


def a0_hessian(eta_p: float) -> float:
    """Typical |u2^T A| after one Hessian-guided jump: eta_p sbar (1/2) sqrt(sbar) (N-free)."""
    s = sbar()
    return eta_p * s * 0.5 * np.sqrt(s)


def a0_isotropic(eta_p: float, n):
    """Typical |u2^T A| after one independent isotropic jump: eta_p sqrt(sbar / N)."""
    return eta_p * np.sqrt(sbar() / np.asarray(n, float))


def a0_random_init(n):
    """Typical |u2^T A_0| of N i.i.d. N(0, 1) particles: sqrt(E tanh^2 Z / N)."""
    return np.sqrt(tanh2() / np.asarray(n, float))


__all__ = ["A_END", "ESCAPE_F", "F_SADDLE", "a0_hessian", "a0_isotropic", "a0_random_init", "directions",
           "escape_time", "growth_rate_u2", "median_escape_time", "sbar", "tanh2", "target"]
