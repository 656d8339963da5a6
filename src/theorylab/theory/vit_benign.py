"""Benign vs harmful overfitting of a one-layer ViT: the N * SNR^2 law (Unveil Benign
Overfitting for Transformer in Vision, Jiang et al., NeurIPS 2024, arXiv:2409.19345; Figure 1).

The theory separates benign overfitting (test loss -> 0) from harmful overfitting (test loss
at chance, ln 2) by the sharp condition

    N * SNR^2 >= c   (benign)        N * SNR^2 <= c  (harmful),

with SNR = |mu| / (sigma sqrt(d)) (``theory/signal_noise.py``). The paper's Figure 1 measures
the SNR against sigma_weak and draws N * SNR^2 = 1000; against sigma_strong the same curve
reads N * SNR^2 = 2.5 (= 1000 * (0.2/4)^2).

The boundary is located in measured results by ``analysis.boundary.fit_boundary``.
"""

from __future__ import annotations

import numpy as np

from theorylab.theory.signal_noise import LN2, snr  # noqa: F401  (the model's SNR and chance level)

PAPER_C_WEAK = 1000.0  # Figure 1 overlay, SNR measured against sigma_weak
PAPER_C_STRONG = 2.5  # the same curve, SNR measured against sigma_strong


def boundary_n(snr_values, c):
    """The theory curve N(SNR) = c / SNR^2."""
    return c / np.asarray(snr_values, float) ** 2
