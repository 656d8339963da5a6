"""The icl-lowdim experiments end to end at a tiny size (through theorylab.run, with check), and
their configs' one-line errors. The TTT and Mamba runs compile for minutes on a busy 2-core
machine: they are marked slow."""

import dataclasses

import numpy as np
import pytest

import theorylab as tl
from theorylab.analysis import final_rows, stack
from theorylab.papers import icl_lowdim_mamba as mamba
from theorylab.papers import icl_lowdim_transformer as tf
from theorylab.papers import icl_lowdim_ttt as ttt


def test_transformer_smoke_end_to_end(tmp_path):
    run = tl.run(tf.EXPERIMENT, "smoke", out=tmp_path / "run")
    assert tl.check(run.dir).ok
    rows = final_rows(run.results)
    risk = stack(rows, "risk_tf")[0]
    assert np.all(np.isfinite(risk)) and risk[-1] < 1.0  # better than predicting 0 at N* = 128
    assert stack(rows, "align").mean() > rows["align0"].iloc[0]  # Stage I moved the features towards S
    assert {c.id.split("@")[0] for c in run.claims} >= {"A1", "A4", "A5", "A6"}
    net = stack(rows, "risk_mlp")[0]  # the prompt-trained net at N* = 32, 64, 128 on the same prompts
    assert net.shape == (3,) and np.all(np.isfinite(net)) and net[-1] < 1.0
    assert np.all(stack(rows, "mlp_step")[0] <= rows["mlp_steps"].iloc[0])
    assert set(run.figures) == {"icl_risk", "features"}


@pytest.mark.slow
def test_ttt_smoke_end_to_end(tmp_path):
    run = tl.run(ttt.EXPERIMENT, "smoke", out=tmp_path / "run")
    assert tl.check(run.dir).ok
    rows = final_rows(run.results)
    assert stack(rows, "risk_ttt_shift")[0, -1] < stack(rows, "risk_icl_shift")[0, -1]
    assert stack(rows, "strong_in")[0, -1] > 0.95


@pytest.mark.slow
def test_mamba_smoke_end_to_end(tmp_path):
    run = tl.run(mamba.EXPERIMENT, "smoke", out=tmp_path / "run")
    assert tl.check(run.dir).ok
    rows = final_rows(run.results)
    assert rows["s6_gap"].max() < 1e-3  # the closed form is the S6 recursion
    assert rows["energy_gated"].min() > 0.5 and rows["energy_linear"].min() > 0.5


def test_config_errors_are_one_line():
    with pytest.raises(tl.ConfigError, match="n_star_max"):
        tl.run(tf.EXPERIMENT, "smoke", set={"n_star_max": 100}, out="/nonexistent/x")
    with pytest.raises(tl.ConfigError, match="power of 4"):
        tl.run(ttt.EXPERIMENT, "smoke", set={"n_max": 128}, out="/nonexistent/x")
    with pytest.raises(tl.ConfigError, match="link"):
        tl.run(mamba.EXPERIMENT, "smoke", set={"link": "h7"}, out="/nonexistent/x")
