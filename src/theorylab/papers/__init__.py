"""One module per paper; this registry maps experiment names to their definitions."""

from __future__ import annotations

from theorylab.config import ConfigError
from theorylab.papers import label_noise_gd, label_noise_stages, mamba_icl, vit_benign
from theorylab.papers.base import Claim, Experiment, Preset, evaluate_claims

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (*vit_benign.EXPERIMENTS, *mamba_icl.EXPERIMENTS,
                                                          *label_noise_gd.EXPERIMENTS, *label_noise_stages.EXPERIMENTS)}


def get(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ConfigError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]


__all__ = ["EXPERIMENTS", "get", "Claim", "Experiment", "Preset", "evaluate_claims"]
