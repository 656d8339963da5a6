"""Closed forms of the signal-noise patch model (``data/signal_noise.py``), shared by the ViT
paper (Unveil Benign Overfitting for Transformer in Vision, arXiv:2409.19345) and the CNN
label-noise papers (arXiv:2510.17526, arXiv:2505.18909)."""

from __future__ import annotations

import numpy as np

LN2 = float(np.log(2.0))  # logistic loss of a chance-level predictor (margin 0): l(0) = ln 2


def snr(mu_norm, sigma, d):
    """SNR = |mu| / (sigma sqrt(d)): signal norm against the norm of a noise token (the
    definition of both papers, arXiv:2409.19345 and arXiv:2510.17526). Arrays
    broadcast; returns float64."""
    return np.asarray(mu_norm, float) / (np.asarray(sigma, float) * np.sqrt(np.asarray(d, float)))


def mu_for_snr(snr_value, sigma, d) -> float:
    """|mu| = SNR sigma sqrt(d): the signal norm giving that SNR at noise level sigma, dimension d."""
    return float(snr_value * sigma * np.sqrt(d))
