"""Closed forms for in-context learning of single-index targets in a hidden r-dim subspace
("Pretrained transformer efficiently learns low-dimensional target functions in-context",
Oko, Song, Suzuki, Wu; arXiv:2411.02544). numpy float64, no training.

Population Stage-I gradient (their Lemma 21), for a neuron w (unit norm at init, w_S = P_S w)
with bias b, ReLU activation, link sigma* = sum_k c_k h_k with information exponent Q:

    g(w, b) ~= 2 a_Q(b)^2 c_Q^2 / (Q-1)! * (2Q-1)!! / E[chi_r^{2Q}] * |w_S|^{2Q-2} w_S,

with a_k(b) = E[relu(z + b) He_k(z)] = phi(b) He_{k-2}(-b) for k >= 2 (Stein's lemma), c_Q
the coefficient in the orthonormal h_k = He_k / sqrt(k!) basis (the paper writes
sigma* = sum c'_k He_k / k!, c'_k = sqrt(k!) c_k; with it the prefactor reads
2 a_Q^2 E[c'_Q^2] / (Q! (Q-1)!)), and E[chi_r^{2Q}] = r (r+2) ... (r+2Q-2).
For sigma* = h_2: g = 6 phi(b)^2 / (r (r+2)) |w_S|^2 w_S.

Kernel threshold: a rotation-invariant kernel on the raw prompt learns the degree-k Hermite
part of the target once N >> dim Poly_k(R^d) = C(d+k-1, k) (homogeneous degree k): 136 for
k = 2 at d = 16, 528 at d = 32.
"""

from __future__ import annotations

import math

import numpy as np


def _he(k: int, z):
    """Probabilists' Hermite polynomial He_k(z) (numpy)."""
    prev, cur = np.ones_like(z), z
    if k == 0:
        return prev
    for j in range(1, k):
        prev, cur = cur, z * cur - j * prev
    return cur


def relu_hermite_coefficient(k: int, b):
    """a_k(b) = E[relu(z + b) He_k(z)], z ~ N(0, 1), for k >= 2: phi(b) He_{k-2}(-b)."""
    if k < 2:
        raise ValueError(f"relu_hermite_coefficient: k = {k} must be >= 2")
    b = np.asarray(b, np.float64)
    return np.exp(-b * b / 2) / math.sqrt(2 * math.pi) * _he(k - 2, -b)


def chi_moment(r: int, q: int) -> float:
    """E[chi_r^{2q}] = r (r+2) ... (r + 2q - 2)."""
    return float(np.prod([r + 2 * i for i in range(q)]))


def lemma21_gradient(w: np.ndarray, b: np.ndarray, basis: np.ndarray, q: int, c_q: float) -> np.ndarray:
    """[m, d]: the population Stage-I direction g(w_j, b_j) for neurons w [m, d], biases b [m],
    subspace basis [d, r] (orthonormal), information exponent q >= 2, coefficient c_q (h-basis)."""
    r = basis.shape[1]
    w_s = (w @ basis) @ basis.T  # [m, d]
    pref = (2 * relu_hermite_coefficient(q, b) ** 2 * c_q**2 / math.factorial(q - 1)
            * _double_factorial(2 * q - 1) / chi_moment(r, q))
    return (pref * np.linalg.norm(w_s, axis=-1) ** (2 * q - 2))[:, None] * w_s


def _double_factorial(n: int) -> float:
    return float(np.prod(np.arange(n, 0, -2))) if n > 0 else 1.0


def poly_dim(d: int, k: int) -> int:
    """dim of the homogeneous degree-k polynomials on R^d: C(d+k-1, k) (the KRR threshold)."""
    return math.comb(d + k - 1, k)


def theorem1_budget(d: int, r: int, q: int, p: int) -> dict[str, float]:
    """The orders of Theorem 1 without polylogs: m ~ r^P, T_1 ~ d^{Q+1} r^Q, N_1 T_1 ~ d^{2Q+1} r."""
    return dict(m=float(r**p), t1=float(d ** (q + 1) * r**q), n1t1=float(d ** (2 * q + 1) * r))


def random_alignment(d: int, r: int) -> float:
    """|P_S w| / |w| of a uniformly random direction, to leading order: sqrt(r / d)."""
    return math.sqrt(r / d)


def lemma21_gradient_jnp(w, b, basis, q: int, c_q: float):
    """[m, d]: ``lemma21_gradient`` in jnp (usable inside a compiled program); q in {2, 3, 4}."""
    import jax.numpy as jnp

    r = basis.shape[1]
    w_s = (w @ basis) @ basis.T
    he = {2: jnp.ones_like(b), 3: -b, 4: b * b - 1}[q]  # He_{q-2}(-b)
    a_q = jnp.exp(-b * b / 2) / math.sqrt(2 * math.pi) * he
    pref = 2 * a_q**2 * c_q**2 / math.factorial(q - 1) * _double_factorial(2 * q - 1) / chi_moment(r, q)
    return (pref * jnp.linalg.norm(w_s, axis=-1) ** (2 * q - 2))[:, None] * w_s
