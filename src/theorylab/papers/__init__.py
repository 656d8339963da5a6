"""The experiments shipped with theorylab: one module per paper, each using only the public
contract (theorylab.experiment) and the blocks."""

from __future__ import annotations

from theorylab.experiment import Experiment
from theorylab.papers import label_noise_gd, label_noise_stages, mamba_icl, vit_benign
from theorylab.papers import mfld, mfld_sparse_parity, pwgf_saddle
from theorylab.papers import moe_clusters, spiked_structured_data
from theorylab.papers import one_step, one_step_trajectories, online_sgd
from theorylab.papers import ar_icl, parity_cot, shortcut_induction
from theorylab.papers import contrastive_multimodal, gnn_vs_mlp, label_noise_linear, shape_matters
from theorylab.papers import icl_lowdim_mamba, icl_lowdim_transformer, icl_lowdim_ttt
from theorylab.papers import icl_patterns, mamba_block, shallow_vit

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (*vit_benign.EXPERIMENTS, *mamba_icl.EXPERIMENTS,
                                                          *label_noise_gd.EXPERIMENTS, *label_noise_stages.EXPERIMENTS,
                                                          *pwgf_saddle.EXPERIMENTS, *mfld.EXPERIMENTS, *mfld_sparse_parity.EXPERIMENTS, *moe_clusters.EXPERIMENTS,
                                                          *spiked_structured_data.EXPERIMENTS,
                                                          *online_sgd.EXPERIMENTS, *one_step.EXPERIMENTS, *one_step_trajectories.EXPERIMENTS,
                                                          *shortcut_induction.EXPERIMENTS, *ar_icl.EXPERIMENTS,
                                                          *parity_cot.EXPERIMENTS,
                                                          *label_noise_linear.EXPERIMENTS, *shape_matters.EXPERIMENTS,
                                                          *gnn_vs_mlp.EXPERIMENTS, *contrastive_multimodal.EXPERIMENTS,
                                                          *icl_lowdim_transformer.EXPERIMENTS, *icl_lowdim_ttt.EXPERIMENTS, *icl_lowdim_mamba.EXPERIMENTS,
                                                          *mamba_block.EXPERIMENTS, *shallow_vit.EXPERIMENTS,
                                                          *icl_patterns.EXPERIMENTS)}

__all__ = ["EXPERIMENTS"]
