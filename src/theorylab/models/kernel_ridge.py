"""Kernel ridge regression in closed form (numpy, float64), a baseline evaluated outside the
compiled program: a rotation-invariant kernel needs n = Omega(d^k) samples for a k-sparse
parity, the lower bound the mean-field Langevin papers contrast with MFLD's n = O~(d)
(Suzuki, Wu, Oko & Nitanda, NeurIPS 2023).

    f(z) = k(z, Z) (K + ridge I)^-1 y,     K = k(Z, Z) [n, n],     k(z, z') = exp(scale <z, z'>)
"""

from __future__ import annotations

import numpy as np


def exp_inner_kernel(a: np.ndarray, b: np.ndarray, scale: float) -> np.ndarray:
    """[n_a, n_b]: exp(scale <a_i, b_j>) for a [n_a, d], b [n_b, d], built in place (one [n_a, n_b]
    array: 0.5 GB in float64 at n_a = n_b = 8192)."""
    k = a @ b.T
    k *= scale
    return np.exp(k, out=k)


def fit_predict(z: np.ndarray, y: np.ndarray, z_test: np.ndarray, *, scale: float, ridge: float) -> np.ndarray:
    """[n_test]: the kernel ridge predictor fitted on (z [n, d], y [n]) evaluated at z_test."""
    z, y, z_test = (np.asarray(a, np.float64) for a in (z, y, z_test))
    K = exp_inner_kernel(z, z, scale)
    K.flat[:: len(z) + 1] += ridge  # K + ridge I without a second [n, n] array
    alpha = np.linalg.solve(K, y)
    return exp_inner_kernel(z_test, z, scale) @ alpha


def accuracy(z, y, z_test, y_test, *, scale: float, ridge: float) -> float:
    """Test accuracy of sign(f) against labels y_test in {+-1}."""
    return float(np.mean(np.sign(fit_predict(z, y, z_test, scale=scale, ridge=ridge)) == np.asarray(y_test)))


__all__ = ["accuracy", "exp_inner_kernel", "fit_predict"]
