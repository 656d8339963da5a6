"""Benign-overfitting thresholds of the two-layer ReLU^q CNN / MLP and of the GCN on SNM-SBM
data. Closed forms only.

MLP/CNN ("Benign overfitting in two-layer convolutional neural networks", Cao et al. 2022,
arXiv:2202.06526): benign iff n SNR^q >= C, SNR = |mu| / (sigma_p sqrt(d)); the threshold
signal norm is |mu|* = sigma_p sqrt(d) (C / n)^(1/q).

GCN ("Quantifying the Optimization and Generalization Advantages of Graph Neural Networks
Over Multilayer Perceptrons", arXiv:2306.13926; our reading of its abstract): the benign
region grows by D^(q-2) (AISTATS version) or sqrt(D)^(q-2) (arXiv v1-v2), D the expected
degree, i.e. n D^(q-2) SNR^q >= C, so SNR*_GCN / SNR*_MLP = D^(-(q-2)/q) (or D^(-(q-2)/(2q))).
A naive effective-SNR argument (averaging over D + 1 nodes divides the noise variance by
D + 1 and keeps a fraction h_eff = (1 + (2h - 1) D)/(D + 1) of the signal) gives
1 / (h_eff sqrt(D + 1)), independent of q.
"""

from __future__ import annotations

import math


def mlp_threshold(n: float, d: int, sigma_p: float, q: int, c: float = 1.0) -> float:
    """|mu|* = sigma_p sqrt(d) (C / n)^(1/q)."""
    return sigma_p * math.sqrt(d) * (c / n) ** (1.0 / q)


def gcn_ratio(degree: float, q: int, version: str = "aistats") -> float:
    """SNR*_GCN / SNR*_MLP: D^(-(q-2)/q) ("aistats") or D^(-(q-2)/(2q)) ("arxiv")."""
    e = (q - 2) / q if version == "aistats" else (q - 2) / (2 * q)
    return degree ** (-e)


def gcn_slope(q: int, version: str = "aistats") -> float:
    """d log |mu|*_GCN / d log D."""
    return -(q - 2) / q if version == "aistats" else -(q - 2) / (2 * q)


def naive_ratio(degree: float, homophily: float) -> float:
    """1 / (h_eff sqrt(D + 1)), h_eff = (1 + (2h - 1) D) / (D + 1)."""
    h_eff = (1.0 + (2.0 * homophily - 1.0) * degree) / (degree + 1.0)
    return 1.0 / (h_eff * math.sqrt(degree + 1.0))
