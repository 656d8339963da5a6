"""A run gives the same numbers alone or inside a batch, also when its objective is stochastic:
label-noise GD draws fresh label noise from the per-step key, and fresh-prompt training draws
new prompts every step. The key of a run derives from its identity, never its position."""

import numpy as np
import pytest

from theorylab import lifecycle
from theorylab.config import dynamic_names
from theorylab.engine.trainer import compile_chunk


def _train(problem, runs):
    cfg = runs[0].cfg
    fn, _ = compile_chunk(problem, cfg, dynamic_names(type(cfg)), len(runs), cfg.steps, cfg.log_every)
    keys = np.stack([r.key for r in runs])
    dyn = {n: np.array([getattr(r.cfg, n) for r in runs]) for n in dynamic_names(type(cfg))}
    return fn(keys, dyn)


@pytest.mark.parametrize("name,sets,observable", [
    ("label-noise-gd/dynamics", {"steps": 20, "log_every": 5}, "rho_max"),
    ("mamba-icl/train", {"fresh_prompts": True, "n_train": 64, "n_test": 64, "n_probe": 8, "steps": 20,
                         "log_every": 5, "d_h": 8, "N": 6}, "test_loss"),
])
def test_stochastic_objective_alone_equals_inside_a_batch(name, sets, observable):
    exp, _ = lifecycle.experiment_of(name)
    resolved, _ = lifecycle.resolve_grid(exp, "smoke", set=sets, seeds=3)
    runs = resolved.runs()
    group = [r for r in runs if all(getattr(r.cfg, n) == getattr(runs[0].cfg, n)
                                    for n in ("d", "n", "N", "d_h", "m") if hasattr(r.cfg, n))]
    assert len(group) >= 3
    batch = _train(exp.problem, group)
    alone = _train(exp.problem, [group[-1]])
    for key in batch.obs:
        np.testing.assert_allclose(alone.obs[key][:, 0], batch.obs[key][:, -1], rtol=2e-5, atol=1e-6, err_msg=key)
    # the runs of the batch differ (their noise and data are their own): the check is not vacuous
    assert not np.allclose(batch.obs[observable][-1, 0], batch.obs[observable][-1, -1])
