"""The Hermite expansion of a link function, and its information exponent.

Under z ~ N(0, 1) the normalised probabilists' Hermite polynomials

    h_k(z) = He_k(z) / sqrt(k!),    He_0 = 1, He_1 = z, He_{k+1} = z He_k - k He_{k-1},

are orthonormal (E h_j h_k = delta_jk) with h_k' = sqrt(k) h_{k-1}. A link sigma with
E sigma(z)^2 < inf expands as sigma = sum_k c_k h_k, c_k = E[sigma(z) h_k(z)], and for unit
vectors w, beta with overlap m = <w, beta>, x ~ N(0, I_d):

    E[sigma(<w, x>) sigma*(<beta, x>)] = sum_k c_k(sigma) c_k(sigma*) m^k.

The information exponent k* = min {k >= 1 : c_k(sigma*) != 0} sets how flat that correlation is
at the random-start overlap m ~ d^{-1/2}, hence the number of online-SGD samples weak recovery
takes ("Online stochastic gradient descent on non-convex losses from high-dimensional
inference", Ben Arous, Gheissari, Jagannath, arXiv:2003.10409): ~ d (k* = 1), d log d (k* = 2),
d^{k*-1} (k* >= 3).

Links are named so that a static config string picks one: ``link(name)`` is a jnp function
(usable inside a compiled program); ``coefficients(name)``, ``information_exponent(name)`` and
``gaussian_moments(name)`` are numpy float64, computed once per process by quadrature.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

GAUSS_HERMITE_NODES = 200  # exact for polynomials of degree < 400
ZERO_TOL = 1e-6  # |c_k| below this counts as 0 when reading off k*


def hermite(k: int, z):
    """h_k(z) = He_k(z) / sqrt(k!) elementwise (z a jnp or numpy array of any shape)."""
    if k < 0:
        raise ValueError(f"Hermite degree k = {k} must be >= 0")
    prev, cur = z * 0 + 1.0, z
    if k == 0:
        return prev
    for j in range(1, k):
        prev, cur = cur, z * cur - j * prev
    return cur / math.sqrt(math.factorial(k))


def _erf_np(z):
    return np.vectorize(math.erf, otypes=[float])(z)


# name -> (jnp link, numpy float64 twin, smooth?). smooth: analytic, integrated by Gauss-Hermite;
# the others have a kink and use a fine trapezoid rule (Gauss-Hermite converges slowly there).
_LINKS: dict[str, tuple[Callable, Callable, bool]] = {
    **{f"h{k}": (functools.partial(hermite, k), functools.partial(hermite, k), True) for k in range(1, 7)},
    "relu": (lambda z: jnp.maximum(z, 0.0), lambda z: np.maximum(z, 0.0), False),
    "abs": (jnp.abs, np.abs, False),
    "tanh": (jnp.tanh, np.tanh, True),
    "erf": (jax.scipy.special.erf, _erf_np, True),
    "softplus": (lambda z: jnp.logaddexp(z, 0.0), lambda z: np.logaddexp(z, 0.0), True),
    "square": (lambda z: z * z, lambda z: z * z, True),
}
LINKS: tuple[str, ...] = tuple(_LINKS)


def _entry(name: str):
    if name not in _LINKS:
        raise ValueError(f"unknown link {name!r}; known: {', '.join(LINKS)}")
    return _LINKS[name]


def link(name: str) -> Callable:
    """The jnp function sigma(z) (elementwise) of a named link."""
    return _entry(name)[0]


def link_np(name: str) -> Callable:
    """The numpy float64 twin of ``link(name)`` (for closed forms outside a program)."""
    return _entry(name)[1]


@functools.lru_cache(maxsize=None)
def _rule(smooth: bool) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, weights) with E f(z) ~= sum_i w_i f(z_i), z ~ N(0, 1), float64."""
    if smooth:
        z, w = np.polynomial.hermite_e.hermegauss(GAUSS_HERMITE_NODES)
        return z, w / math.sqrt(2 * math.pi)
    z = np.linspace(-12.0, 12.0, 240_001)  # trapezoid: O(h^2) error even across a kink
    w = np.exp(-z * z / 2) / math.sqrt(2 * math.pi) * (z[1] - z[0])
    w[[0, -1]] /= 2
    return z, w


def gaussian_mean(f: Callable, *, smooth: bool = True) -> float:
    """E f(z), z ~ N(0, 1), for a vectorised numpy f."""
    z, w = _rule(smooth)
    return float(np.sum(w * f(z)))


def coefficients_of(f: Callable, k_max: int = 8, *, smooth: bool = True) -> np.ndarray:
    """[k_max + 1]: c_k = E[f(z) h_k(z)], k = 0..k_max, of a vectorised numpy f."""
    z, w = _rule(smooth)
    fz = np.asarray(f(z), np.float64)
    return np.array([np.sum(w * fz * hermite(k, z)) for k in range(k_max + 1)])


@functools.lru_cache(maxsize=None)
def coefficients(name: str, k_max: int = 8) -> np.ndarray:
    """[k_max + 1]: Hermite coefficients c_0..c_{k_max} of a named link (float64)."""
    _, f, smooth = _entry(name)
    return coefficients_of(f, k_max, smooth=smooth)


def information_exponent_of(c: np.ndarray, tol: float = ZERO_TOL) -> int:
    """k* = min {k >= 1 : |c_k| > tol} of coefficients c [K + 1]; ValueError if there is none."""
    for k in range(1, len(c)):
        if abs(c[k]) > tol:
            return k
    raise ValueError(f"c_1..c_{len(c) - 1} all vanish: the information exponent exceeds {len(c) - 1}")


def information_exponent(name: str) -> int:
    """k* of a named link: h_k -> k; relu, tanh, erf, softplus -> 1; abs, square -> 2."""
    return information_exponent_of(coefficients(name))


@functools.lru_cache(maxsize=None)
def gaussian_moments(name: str) -> tuple[float, float, float]:
    """(mu_0, mu_1, mu_2) of a link: mu_0 = E sigma(z), mu_1 = E z sigma(z),
    mu_2 = sqrt(E sigma^2 - mu_0^2 - mu_1^2): its constant, linear and nonlinear parts, as in
    the Gaussian-equivalence theory of random features."""
    _, f, smooth = _entry(name)
    c = coefficients(name, 1)
    second = gaussian_mean(lambda z: f(z) ** 2, smooth=smooth)
    return float(c[0]), float(c[1]), float(math.sqrt(max(second - c[0] ** 2 - c[1] ** 2, 0.0)))
