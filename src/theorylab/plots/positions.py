"""In-context learning: prediction error against the number of in-context examples, one curve
per predictor (the panel of Garg, Tsipras, Liang & Valiant, "What Can Transformers Learn
In-Context?", arXiv:2208.01066)."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def error_by_position(ax, curves: Sequence[tuple[str, np.ndarray, dict]], *, level: float | None = None,
                      level_label: str = "", floor: float = 1e-3):
    """curves: (label, error [K], line style) with error[k] = (1/2) E (y_hat_k - y_k)^2 when
    predicting position k from the k examples before it. Log scale, clipped below at ``floor``
    (an exact predictor reaches 0); ``level`` draws a horizontal reference (e.g. a limit loss)."""
    for label, err, style in curves:
        err = np.asarray(err, float)
        ax.plot(np.arange(len(err)), err, label=label, **style)
    if level is not None:
        ax.axhline(level, color="gray", lw=0.8, ls="--", label=level_label)
    ax.set_yscale("log")
    ax.set_ylim(floor, None)
    ax.set_xlabel("number of in-context examples k before the predicted position")
    ax.set_ylabel("(1/2) E (y_hat_k - y_k)^2")
    ax.legend(fontsize=7)
