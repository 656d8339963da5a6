"""The overlap ODE of spherical online SGD on a Hermite single-index teacher.

Setting: x ~ N(0, I_d), y = h_k(<beta, x>) + zeta eps, one neuron w on the sphere with matched
activation sigma = h_k, correlation loss -y h_k(<w, x>), one fresh sample per step:
g = y h_k'(<w, x>) x,  w <- (w + eta P_w g) / |w + eta P_w g|. With E[g] = k m^{k-1} beta and
E|g|^2 ~= d k (1 + zeta^2) (at small m), the overlap m = <w, beta> follows, to leading order,

    dm/dt = eta k m^{k-1} (1 - m^2) - (1/2) eta^2 d k (1 + zeta^2) m.

(The scalings are those of "Online stochastic gradient descent on non-convex losses from
high-dimensional inference", Ben Arous, Gheissari, Jagannath, arXiv:2003.10409, restated in
this normalisation.) Step sizes: eta = c / d for k <= 2, eta = c d^{-k/2} for k >= 3. In
mu = sqrt(d) m, tau = t / d^{k-1} (k >= 3) it reads d mu / d tau = c k mu^{k-1} - c^2 k mu / 2:
escape needs mu_0^{k-2} > c / 2, and for k = 3 the time to blow up is
tau_esc = (2 / (3 c^2)) ln(mu_0 / (mu_0 - c / 2)). Sample complexity of weak recovery:
~ d (k = 1), d log d (k = 2), d^{k-1} (k >= 3).

The "noise-exact" variant replaces d k (1 + zeta^2) by d M_2(m), M_2(m) = E[y^2 h_k'(<w, x>)^2]
at overlap m, the exact second moment of the per-sample gradient along the path (for k = 2,
M_2 = 2 (1 + 4 m^2); for k = 3, M_2 grows from 3 at m = 0 to 93 at m = 1): the constant-noise
ODE underestimates the retraction as m grows, and with it T_1/2 at small d (by ~20% at k = 2,
d = 64). Our refinement; it leaves the d^{k-1} law unchanged.

numpy only: these are the curves drawn over the measurement and the predictions the claims use.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from theorylab.data.hermite_expansion import hermite


def step_size(k: int, d: int, c: float) -> float:
    """eta = c / d for k <= 2, c d^{-k/2} for k >= 3."""
    return c / d if k <= 2 else c * d ** (-k / 2)


@functools.lru_cache(maxsize=None)
def _moment_table(k: int, zeta: float, points: int = 201) -> tuple[np.ndarray, np.ndarray]:
    """(m grid [P] on [0, 1], M_2(m) [P]) by 2-d Gauss-Hermite quadrature (exact: polynomials)."""
    z, w = np.polynomial.hermite_e.hermegauss(40)
    w = w / math.sqrt(2 * math.pi)
    u, v = np.meshgrid(z, z, indexing="ij")
    ww = np.outer(w, w)
    grid = np.linspace(0.0, 1.0, points)
    vals = []
    for m in grid:
        dz = math.sqrt(k) * hermite(k - 1, m * u + math.sqrt(max(1 - m * m, 0.0)) * v)  # h_k'
        vals.append(float(np.sum(ww * (hermite(k, u) ** 2 + zeta**2) * dz**2)))
    return grid, np.array(vals)


def gradient_moment(k: int, m, zeta: float = 0.0):
    """M_2(m) = E[y^2 h_k'(z)^2], y = h_k(u) + zeta eps, corr(u, z) = m: the per-sample gradient's
    squared norm is ~ d M_2(m). M_2(0) = k (1 + zeta^2)."""
    grid, vals = _moment_table(k, float(zeta))
    return np.interp(np.abs(np.asarray(m, float)), grid, vals)


def drift(m, k: int, d: int, eta: float, zeta: float = 0.0, *, exact_noise: bool = False):
    """dm/dt at overlap m (array or scalar); ``exact_noise``: d M_2(m) instead of d k (1 + zeta^2)."""
    m = np.asarray(m, float)
    second = gradient_moment(k, m, zeta) if exact_noise else k * (1 + zeta**2)
    return eta * k * m ** (k - 1) * (1 - m**2) - 0.5 * eta**2 * d * second * m


def hitting_time(k: int, d: int, c: float, *, mu0: float = 1.0, target: float = 0.5,
                 zeta: float = 0.0, exact_noise: bool = False, points: int = 20001) -> float:
    """Time (steps) for the ODE to take m from m_0 = mu0 / sqrt(d) to ``target``:
    int_{m_0}^{target} dm / drift(m), by the trapezoid rule in log m; inf when the drift is not
    positive somewhere on the way (the ODE never gets there)."""
    m0 = mu0 / math.sqrt(d)
    if m0 >= target:
        return 0.0
    eta = step_size(k, d, c)
    s = np.linspace(math.log(m0), math.log(target), points)
    m = np.exp(s)
    v = drift(m, k, d, eta, zeta, exact_noise=exact_noise)
    if np.any(v <= 0):
        return math.inf
    return float(np.trapezoid(m / v, s))


def trajectory(k: int, d: int, c: float, t: np.ndarray, *, mu0: float = 1.0, zeta: float = 0.0,
               exact_noise: bool = False, substeps: int = 8) -> np.ndarray:
    """[T]: m(t) of the ODE at the increasing times t [T] (t[0] = 0), from m_0 = mu0 / sqrt(d),
    by classical Runge-Kutta (``substeps`` per interval of t, more when an interval is long)."""
    eta = step_size(k, d, c)
    f = lambda m: float(drift(m, k, d, eta, zeta, exact_noise=exact_noise))  # noqa: E731
    t = np.asarray(t, float)
    out = np.empty_like(t)
    m = mu0 / math.sqrt(d)
    out[0] = m
    for i in range(1, len(t)):
        n = max(substeps, int(math.ceil((t[i] - t[i - 1]) * eta * k * 4)))
        h = (t[i] - t[i - 1]) / n
        for _ in range(n):
            a = f(m)
            b = f(m + h * a / 2)
            cc = f(m + h * b / 2)
            e = f(m + h * cc)
            m = m + h * (a + 2 * b + 2 * cc + e) / 6
        out[i] = m
    return out


def escape_time_k3(c: float, mu0: float = 1.0) -> float:
    """tau_esc = (2 / (3 c^2)) ln(mu0 / (mu0 - c/2)) of the rescaled k = 3 ODE (inf if mu0 <= c/2):
    the large-d limit of hitting_time(3, d, c, mu0=mu0) / d^2."""
    return math.inf if mu0 <= c / 2 else 2 / (3 * c * c) * math.log(mu0 / (mu0 - c / 2))


def sample_law(k: int, d) -> np.ndarray:
    """The weak-recovery sample-complexity law up to constants: d (k = 1), d log d (k = 2),
    d^{k-1} (k >= 3)."""
    d = np.asarray(d, float)
    return d if k == 1 else d * np.log(d) if k == 2 else d ** (k - 1)
