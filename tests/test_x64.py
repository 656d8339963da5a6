"""float64 is opt-in: under jax_enable_x64 every paper's set-up draws its init and its data in
float64; without it, float32 (DESIGN.md, Conventions)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from theorylab.papers import label_noise_gd, label_noise_stages, mamba_icl, vit_benign

TINY = [
    ("vit-benign", vit_benign.PROBLEM, vit_benign.Config(d=16, M=4, N=4, n_test=4, d_h=4, d_v=4, steps=2, log_every=1)),
    ("vit-benign plain", vit_benign.PLAIN_PROBLEM,
     vit_benign.Config(d=16, M=4, N=4, n_test=4, d_h=4, d_v=4, steps=2, log_every=1)),
    ("mamba-icl", mamba_icl.PROBLEM,
     mamba_icl.Config(d=2, N=4, d_h=4, n_train=8, n_test=8, n_probe=4, steps=2, log_every=1)),
    ("mamba-icl baselines", mamba_icl.PROBLEM,
     mamba_icl.Config(d=2, N=4, d_h=4, n_train=8, n_test=8, n_probe=4, steps=2, log_every=1, baselines=True)),
    ("mamba-icl w_delta", mamba_icl.PROBLEM,
     mamba_icl.Config(d=2, N=4, d_h=4, n_train=8, n_test=8, n_probe=4, steps=2, log_every=1, train_delta=True)),
    ("label-noise-gd", label_noise_gd.PROBLEM, label_noise_gd.Config(d=16, n=4, n_test=4, m=2, steps=2, log_every=1)),
    ("label-noise-stages", label_noise_stages.PROBLEM,
     label_noise_stages.Config(d=16, n=4, n_test=4, m=2, steps=2, log_every=1)),
]


def _float_dtypes(tree) -> set[str]:
    return {str(leaf.dtype) for leaf in jax.tree_util.tree_leaves(tree) if np.issubdtype(leaf.dtype, np.floating)}


@pytest.mark.parametrize("x64, want", [(True, "float64"), (False, "float32")])
@pytest.mark.parametrize("name, problem, cfg", TINY, ids=[t[0] for t in TINY])
def test_setup_draws_params_and_data_in_the_default_float_dtype(name, problem, cfg, x64, want):
    with jax.enable_x64(x64):
        # the dtypes of what setup returns, traced without compiling or running it
        params, data = jax.eval_shape(lambda key: problem.setup(key, cfg), jax.random.PRNGKey(0))
    assert _float_dtypes(params) == {want}, name
    assert _float_dtypes(data) == {want}, name
