"""The single-index experiments end to end at a tiny size (through theorylab.run, with check),
and their configs' one-line errors."""

import dataclasses

import numpy as np
import pytest

import theorylab as tl
from theorylab.papers import one_step, online_sgd


def test_online_sgd_tiny_run_recovers_at_the_ode_time(tmp_path):
    cells = (online_sgd.cell("h1", 32, 4),)
    exp = dataclasses.replace(online_sgd.EXPERIMENT, presets={"tiny": tl.Preset({}, cells, seeds=8)})
    run = tl.run(exp, "tiny", out=tmp_path / "run")
    tab = online_sgd.recovery_table(run.results)
    assert len(tab) == 1 and tab["reached"].iloc[0] == 8
    assert 0.7 < tab["median"].iloc[0] / tab["ode"].iloc[0] < 1.3
    assert [c.id for c in run.claims] == ["B2-ode-k1"] and run.claims[0].holds is True
    assert tl.check(run.dir).ok
    assert "recovery" in run.figures


def test_one_step_tiny_run_large_step_beats_random_features(tmp_path):
    base = dict(one_step.FIG3C, d=32, n_test=400, power_iters=30)
    cells = (dict(psi1=4.0, eta=1.0, alpha=0.5, krr_degree=3),)
    exp = dataclasses.replace(one_step.EXPERIMENT, presets={"tiny": tl.Preset(base, cells, seeds=2)})
    run = tl.run(exp, "tiny", out=tmp_path / "run")
    runs = one_step.run_table(run.results)
    assert np.all(runs["risk"] < runs["rf_risk"])
    assert np.all(runs["cos2_beta"] > 0.3) and np.all(runs["s1_over_s2"] > 3)
    # the kernel ridge baseline on the same data stays above mu_2*^2 = 0.0401 (and below the null risk E f*^2)
    assert np.all(runs["krr_risk"] > 0.0401) and np.all(runs["krr_risk"] < 0.3)
    kt = one_step.krr_table(runs)
    assert list(kt["runs"]) == [2] and kt["se"].iloc[0] > 0
    assert tl.check(run.dir).ok


def test_config_errors_are_one_line():
    with pytest.raises(tl.ConfigError, match="steps = 64 is below"):
        tl.run(online_sgd.EXPERIMENT, "smoke", set={"d": 256, "steps": 64, "log_every": 16}, out="/nonexistent/x")
    with pytest.raises(tl.ConfigError, match="psi1"):
        tl.run(one_step.EXPERIMENT, "smoke", set={"psi1": 0.33}, out="/nonexistent/x")
