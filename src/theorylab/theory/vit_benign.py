"""Benign vs harmful overfitting of a one-layer ViT (arXiv:2409.19345): the N * SNR^2 law.

The theory separates benign overfitting (test loss -> 0) from harmful overfitting (test loss
at chance, ln 2) by the sharp condition

    N * SNR^2 >= c   (benign)        N * SNR^2 <= c  (harmful),

with SNR = |mu| / (sigma * sqrt(d)). The paper's Figure 1 uses sigma = sigma_weak and draws
N * SNR^2 = 1000 (specs/vit_benign.md, "Figure 1"); with sigma_strong the same curve reads
N * SNR^2 = 2.5 (= 1000 * (0.2/4)^2).

Empirically the boundary is located per N by SNR*(N), the smallest SNR at which at least half
of the repetitions end with test loss below the cutoff; the law predicts log N = log c -
2 log SNR*, a slope of -2 in (log SNR*, log N).
"""

from __future__ import annotations

import numpy as np

LN2 = float(np.log(2.0))  # test loss of a chance-level predictor
PAPER_C_WEAK = 1000.0  # Figure 1 overlay, SNR measured against sigma_weak
PAPER_C_STRONG = 2.5  # the same curve, SNR measured against sigma_strong


def snr(mu_norm, sigma, d):
    """SNR = |mu| / (sigma sqrt(d))."""
    return np.asarray(mu_norm, float) / (sigma * np.sqrt(d))


def boundary_n(snr_values, c):
    """The theory curve N(SNR) = c / SNR^2."""
    return c / np.asarray(snr_values, float) ** 2


def snr_star(n_values, snr_values, below_fraction):
    """Per N, the smallest SNR whose fraction of repetitions below the cutoff is >= 1/2.

    n_values, snr_values, below_fraction: flat arrays over cells. Returns (N, SNR*) for the Ns
    where such an SNR exists.
    """
    n_values, snr_values, below_fraction = map(np.asarray, (n_values, snr_values, below_fraction))
    ns, stars = [], []
    for n in np.unique(n_values):
        sel = (n_values == n) & (below_fraction >= 0.5)
        if sel.any():
            ns.append(n)
            stars.append(snr_values[sel].min())
    return np.array(ns, float), np.array(stars, float)


def fit_boundary(ns, stars):
    """Least-squares fit log N = a + b log SNR*; returns (slope b, c_fit).

    c_fit = geometric mean of N * SNR*^2: the constant of the law N * SNR^2 = c that best
    matches the measured boundary on a log scale with the slope fixed at the theory's -2.
    """
    ln, ls = np.log(ns), np.log(stars)
    b = np.polyfit(ls, ln, 1)[0]
    c_fit = float(np.exp(np.mean(ln + 2 * ls)))
    return float(b), c_fit
