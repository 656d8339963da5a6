"""The experiments shipped with theorylab: one module per paper, each using only the public
contract (theorylab.experiment) and the blocks."""

from __future__ import annotations

from theorylab.experiment import Experiment
from theorylab.papers import label_noise_gd, label_noise_stages, mamba_icl, vit_benign

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (*vit_benign.EXPERIMENTS, *mamba_icl.EXPERIMENTS,
                                                          *label_noise_gd.EXPERIMENTS, *label_noise_stages.EXPERIMENTS)}

__all__ = ["EXPERIMENTS"]
