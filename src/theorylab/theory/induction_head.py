"""Closed forms of "From Shortcut to Induction Head: How Data Diversity Shapes Algorithm
Selection in Transformers" (Kawata, Song, Bietti et al.; NeurIPS 2025; arXiv:2512.18634).

A length law D_l is a vector of weights q_l over lengths l (unnormalised is fine).

* max-sum ratio (Sec. 3, Thm 5):     R(D) = max_l (q_l / l) / sum_l (q_l / l)
  Thm 5: R < eps_1 = Theta(1/N_trg) -> OOD generalisation (induction head),
         R > eps_2 = Theta(1/N_trg) -> OOD failure (positional shortcut).
* the same with the sequence length T(l) = 2l + 3 instead of l:   R_T(D)
* mechanism (Lemma 7, Sec. 3.2): W_KQ(1) ∝ sum_l q_l T(l)^-1 (p_{l+2} + p_{l+3}) p_{T(l)}^T
  + N_trg^-1 E[T(l)^-1] sum_w e_w^prev (e_w^tok)^T + cross terms, so the ratio of the largest
  positional entry to the induction entry is S_pos / S_ind = N_trg R_T(D).
* Prop. 8: the law minimising sum_l q_l l^2 subject to R <= 1/N_trg is q_l = l / Z on
  l = 1..N_trg, Z = N_trg (N_trg + 1) / 2; it has R = 1/N_trg exactly and cost E[l^2] = Z.

Pure numpy, no training.
"""

from __future__ import annotations

import numpy as np


def uniform_law(l_min: int, l_max: int) -> tuple[np.ndarray, np.ndarray]:
    """(lengths [K], weights [K]) of Unif{l_min..l_max}."""
    ell = np.arange(l_min, l_max + 1, dtype=float)
    return ell, np.full(len(ell), 1.0 / len(ell))


def linear_law(n_trg: int) -> tuple[np.ndarray, np.ndarray]:
    """Prop. 8's cheapest law: q_l = l / Z on l = 1..N_trg."""
    ell = np.arange(1, n_trg + 1, dtype=float)
    return ell, ell / ell.sum()


def max_sum_ratio(lengths, weights) -> float:
    """R(D) = max_l (q_l / l) / sum_l (q_l / l)."""
    r = np.asarray(weights, float) / np.asarray(lengths, float)
    return float(r.max() / r.sum())


def max_sum_ratio_T(lengths, weights) -> float:
    """R_T(D): the max-sum ratio with weights q_l / T(l), T(l) = 2l + 3."""
    return max_sum_ratio(2 * np.asarray(lengths, float) + 3, weights)


def mechanism_ratio(lengths, weights, n_trg: int) -> float:
    """Predicted S_pos / S_ind of W_KQ after the two steps: N_trg R_T(D)."""
    return n_trg * max_sum_ratio_T(lengths, weights)


def uniform_R(l_min, l_max, kind: str = "l") -> np.ndarray:
    """R (kind "l") or R_T (kind "T") of Unif{l_min..l_max}, elementwise over arrays."""
    fn = max_sum_ratio if kind == "l" else max_sum_ratio_T
    return np.vectorize(lambda a, b: fn(*uniform_law(int(a), int(b))))(l_min, l_max)


def second_moment(lengths, weights) -> float:
    """The cost E[l^2] = sum_l q_l l^2 / sum_l q_l of Prop. 8."""
    q = np.asarray(weights, float)
    return float((q * np.asarray(lengths, float) ** 2).sum() / q.sum())
