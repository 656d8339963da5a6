"""The mean-field papers end to end at their smoke presets (plumbing, not the science: the cpu
presets' claims are asserted by tests/test_science.py), and their claim logic on synthetic
results."""

import jax
import numpy as np
import pandas as pd
import pytest

import theorylab as tl
from theorylab.models import kernel_ridge
from theorylab.papers import mfld, mfld_sparse_parity, pwgf_saddle
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


def _isotropic_rows(stop_after_prediction: float) -> pd.DataFrame:
    """Five isotropic runs: four escape at their per-run predicted time t_pred, the fifth stays
    on a plateau F = 1/16 and is stopped by its controller at t_pred + ``stop_after_prediction``."""
    dt, a2 = 0.05, 0.001
    t_pred = float(theory.escape_time(a2 * np.exp(-theory.growth_rate_u2() * 4 * dt)))
    rows = []
    for seed in range(5):
        stuck = seed == 4
        k_esc = int(round(t_pred / dt))
        for step, F in ((0, 0.3125), (4, 0.3), (k_esc, 0.0626 if stuck else 0.01), (2000, 0.0626 if stuck else 1e-4)):
            rows.append(dict(run_id=f"iso{seed}", cell="isotropic N=256", mode="isotropic", init="symmetric", N=256,
                             seed=seed, step=step, dt=dt, F=F, a2_perp=a2, stopped=1.0, jumps=2.0,
                             t_stop=t_pred + (stop_after_prediction if stuck else 10), stop_reason="converged"))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("stops_before_prediction", [True, False])
def test_pwgf_per_run_formula_treats_a_run_that_never_escaped_as_censored(stops_before_prediction):
    """A run that never reaches F < 0.05 agrees with the per-run formula only if it ended (its
    controller stopped it) before its predicted escape time; either way the claim names it."""
    df = _isotropic_rows(-5.0 if stops_before_prediction else 5.0)
    resolved = tl.Resolved("pwgf/saddle-escape", "cpu", pwgf_saddle.Config(N=256, mode="isotropic"),
                           (("isotropic N=256", pwgf_saddle.Config(N=256, mode="isotropic")),), 5)
    claim = {c.id: c for c in pwgf_saddle.claims(df, resolved)}["per-run-formula[isotropic]"]
    assert claim.holds is stops_before_prediction
    assert "over 4 escaped runs" in claim.measured and "1 never escaped (N=256 seed 4: F = 0.0626" in claim.measured


# --- MFLD ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_mfld_chaos_smoke_end_to_end(tmp_path):
    run = tl.run("theorylab.papers.mfld:PROPAGATION_OF_CHAOS", "smoke", out=tmp_path / "run")
    assert tl.check(run.dir).ok
    ids = {c.id for c in run.claims}
    assert {"one-over-N", "temperature-bias", "ensemble-1/M"} <= ids
    assert run.figures["propagation_of_chaos"].axes


@pytest.mark.slow
@pytest.mark.parametrize("ref", ["theorylab.papers.mfld:DISCRETISATION",
                                 "theorylab.papers.mfld_sparse_parity:SPARSE_PARITY"])
def test_mfld_smoke_end_to_end(ref, tmp_path):
    run = tl.run(ref, "smoke", out=tmp_path / "run")
    assert tl.check(run.dir).ok
    assert all(f.axes for f in run.figures.values())


def test_ensemble_error_of_independent_members_falls_like_one_over_m():
    rng = np.random.default_rng(0)
    f_ref = rng.standard_normal(50)
    members = pd.DataFrame(dict(replica=range(64), f_test=list(f_ref + 0.3 * rng.standard_normal((64, 50)))))
    e = mfld.ensemble_errors(members, f_ref, f_ref, (1, 4, 16))
    np.testing.assert_allclose(e["err"] * e["M"], 0.09, rtol=0.15)
    np.testing.assert_allclose(e["test_loss"], e["err"] / 2)  # y = f_ref here


def test_gap_law_slope_of_a_one_over_n_table():
    ns = np.array([8, 16, 32, 64, 1024])
    table = pd.DataFrame(dict(N=ns, train_loss=0.005 + 0.06 / ns))
    law = mfld.gap_law(table, 1024)
    assert mfld.fit_slope(law["N"].to_numpy(float), law["gap"].to_numpy()) == pytest.approx(-1.0, abs=0.05)
    assert np.isnan(mfld.fit_slope(np.array([8.0, 16.0]), np.array([1e-3, -1e-4])))


def test_gap_law_standard_error_combines_the_replicas_of_n_and_of_the_reference():
    table = pd.DataFrame(dict(N=[16, 16, 16, 64, 1024, 1024], train_loss=[0.10, 0.12, 0.14, 0.0925, 0.09, 0.092]))
    law = mfld.gap_law(table, 1024).set_index("N")
    ref_var = np.var([0.09, 0.092], ddof=1) / 2
    assert law.loc[16, "gap"] == pytest.approx(0.12 - 0.091)
    assert law.loc[16, "gap_se"] == pytest.approx(np.sqrt(np.var([0.10, 0.12, 0.14], ddof=1) / 3 + ref_var))
    assert law.loc[64, "gap_se"] == pytest.approx(np.sqrt(ref_var))  # one replica: only the reference's error
    assert law.loc[64, "gap"] < 2 * law.loc[64, "gap_se"]  # 0.0015 against 2 x 0.001: not resolved


def test_threshold_n_interpolates_in_log_n():
    ns = np.array([25, 50, 100, 200])
    assert mfld_sparse_parity.threshold_n(ns, np.array([0.5, 0.8, 1.0, 1.0])) == pytest.approx(50 * 2 ** 0.5)
    assert mfld_sparse_parity.threshold_n(ns, np.array([0.95, 1, 1, 1])) == 25
    assert np.isnan(mfld_sparse_parity.threshold_n(ns, np.array([0.5, 0.6, 0.7, 0.8])))


def test_kernel_ridge_interpolates_and_learns_a_linear_rule():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((200, 5)) / np.sqrt(5)
    y = np.sign(z[:, 0])
    np.testing.assert_allclose(kernel_ridge.fit_predict(z[:30], y[:30], z[:30], scale=3.0, ridge=1e-8), y[:30], atol=1e-3)
    zt = rng.standard_normal((500, 5)) / np.sqrt(5)
    assert kernel_ridge.accuracy(z, y, zt, np.sign(zt[:, 0]), scale=3.0, ridge=0.2) > 0.75  # chance is 0.5
    direct = np.exp(3.0 * zt[:7] @ z.T) @ np.linalg.inv(np.exp(3.0 * z @ z.T) + 0.2 * np.eye(200)) @ y
    np.testing.assert_allclose(kernel_ridge.fit_predict(z, y, zt[:7], scale=3.0, ridge=0.2), direct, rtol=1e-8)


def test_sparse_parity_defaults_learn_at_d100_where_a_fixed_l2_weight_stays_at_chance():
    """lam1 = 0.2 / d and lam = 0.02 / d (the Config defaults) learn the parity at d = 100 in t = 10 d;
    the d = 20 values held fixed (lam1 = 1e-2, lam = 1e-3) leave every weight at its stationary
    O(0.2) and the test accuracy at chance, as the paper preset measured at d = 100 and 200."""
    from theorylab.config import dynamic_names
    from theorylab.engine.trainer import compile_chunk

    cfg = mfld_sparse_parity.Config(d=100, n=800, N=200, n_test=1000, steps=5000, log_every=5000)
    assert (cfg.lam1, cfg.temperature) == pytest.approx((2e-3, 2e-4))
    names = dynamic_names(mfld_sparse_parity.Config)
    fn, _ = compile_chunk(mfld_sparse_parity.PROBLEM, cfg, names, 2, cfg.steps, cfg.log_every)
    dyn = {n: np.array([getattr(cfg, n)] * 2) for n in names}
    dyn["lam1_d"], dyn["temperature_d"] = np.array([0.2, 1.0]), np.array([0.02, 0.1])  # run 1: fixed d = 20 values
    out = fn(np.asarray(jax.random.split(jax.random.PRNGKey(0), 2), np.uint32), dyn).obs
    acc, ratio = out["test_acc"][-1], out["w_relevant"][-1] / out["w_other"][-1]
    assert acc[0] >= 0.85 and ratio[0] >= 10  # reads 0.93 and 21
    assert abs(acc[1] - 0.5) < 0.05 and ratio[1] < 1.5
