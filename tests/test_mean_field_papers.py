"""The mean-field papers end to end at their smoke presets (plumbing, not the science: the cpu
presets' claims are asserted by tests/test_science.py), and their claim logic on synthetic
results."""

import numpy as np
import pandas as pd

import theorylab as tl
from theorylab.papers import pwgf_saddle
from theorylab.theory import pwgf_saddle as theory


def test_pwgf_smoke_end_to_end(tmp_path):
    run = tl.run("theorylab.papers.pwgf_saddle:SADDLE_ESCAPE", "smoke", out=tmp_path / "run")
    assert tl.check(run.dir).ok
    e = pwgf_saddle.escape_times(run.results)
    static = e[e["mode"] == "static"]
    assert static["t_esc"].isna().all() and np.allclose(static["F_final"], theory.F_SADDLE)  # stuck
    assert e[e["mode"] == "hessian"]["t_esc"].notna().all()  # escapes within the smoke's cap
    assert run.figures["saddle_escape"].axes


def test_pwgf_claims_fail_when_runs_do_not_escape():
    rows = []
    for mode in ("hessian", "isotropic"):
        for seed in range(5):
            for step, F in ((0, 0.3125), (4, 0.3), (2000, 0.3)):  # never below 0.05
                rows.append(dict(run_id=f"{mode}{seed}", cell=f"{mode} N=256", mode=mode, init="symmetric", N=256,
                                 seed=seed, step=step, dt=0.05, F=F, a2_perp=0.01, stopped=0.0, jumps=1.0,
                                 t_stop=-1.0, stop_reason="budget"))
    df = pd.DataFrame(rows)
    cfg = pwgf_saddle.Config(N=256)
    resolved = tl.Resolved("pwgf/saddle-escape", "cpu", cfg,
                           tuple((f"{m} N=256", pwgf_saddle.Config(N=256, mode=m)) for m in ("hessian", "isotropic")), 5)
    claims = {c.id: c for c in pwgf_saddle.claims(df, resolved)}
    assert claims["hessian-escapes"].holds is False
    assert claims["controller-stops"].holds is False
    assert claims["returned-objective"].holds is False
