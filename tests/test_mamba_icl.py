"""papers/mamba_icl.py: the fast training path is the S6 layer, the observables read the theory's
quantities, the experiments run end to end."""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from theorylab import cli
from theorylab.config import ConfigError, validate
from theorylab.analysis import exp_rate_fit
from theorylab.data import icl
from theorylab.models import s6
from theorylab.papers import mamba_icl as paper
from theorylab.theory import mamba_icl as theory

CFG = paper.Config(d=3, N=8, d_h=6, n_train=64, n_test=4000, n_probe=400, steps=10, log_every=5, baselines=True)


@pytest.fixture
def x64():
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


@pytest.fixture(scope="module")
def run():
    params, data = jax.jit(lambda k: paper.setup(k, CFG))(jax.random.PRNGKey(0))
    return params, data


def _limit_params(params):
    """W_C = [I 0], W_B = beta [I 0] (padded to d_h rows): C^T B = beta I, C^T b = 0."""
    d, d_h = CFG.d, CFG.d_h
    e = jnp.eye(d_h, d + 1).at[d, d].set(0.0)
    s6p = dict(params["s6"], w_c=e, w_b=paper.beta_of(CFG) * e, b_b=jnp.zeros(d_h), b_c=jnp.zeros(d_h))
    return dict(params, s6=s6p)


def test_fast_training_path_equals_the_sequential_s6_layer(run):
    """The stored (q, m) features give exactly the S6 scan's y-channel output at the query."""
    params, data = run
    layer = paper._layer(params, data)
    b = icl.ICLBatch(data["probe_x"][:20], data["probe_y"][:20], data["probe_w"][:20])
    tok = icl.tokens(b)
    out_scan = jax.vmap(lambda u: s6.scan(layer, u)[0][-1, CFG.d])(tok)
    q, m = s6.last_channel_features(layer, tok, paper.A_C)
    np.testing.assert_allclose(s6.bilinear_output(layer, q, m), out_scan, rtol=2e-4, atol=2e-4)
    # the training loss at step 0 is the loss of the layer on the training prompts, and it is
    # above the exact optimum of the training set
    assert float(paper._s6_loss(params, data, CFG, None)) > float(data["train_opt"]) > 0


def test_observables_at_the_theoretical_limit(run):
    params, data = run
    obs = jax.jit(lambda p, d: paper.observe(p, d, CFG))(_limit_params(params), data)
    no_curves = dataclasses.replace(CFG, baselines=False)  # cos and weights instead of curves
    obs.update(jax.jit(lambda p, d: paper.observe(p, d, no_curves))(_limit_params(params), data))
    assert float(obs["ctb_err"]) < 1e-6 and float(obs["ctb_b"]) < 1e-6
    assert float(obs["ctb_scale"]) == pytest.approx(paper.beta_of(CFG), rel=1e-5)
    np.testing.assert_allclose(obs["weights"], theory.position_weights(CFG.d, CFG.N), rtol=1e-4)
    # the S6 prefix predictions are the online-GD predictor's, on the same probe prompts
    np.testing.assert_allclose(obs["curve_s6"], obs["curve_ogd"], rtol=1e-4, atol=1e-6)
    l_star = float(theory.limit_loss(CFG.d, CFG.N))
    assert abs(float(obs["test_loss"]) - l_star) < 4 * float(obs["test_se"])
    ideal = theory.ideal_cosine(CFG.d, CFG.N, n_prompts=20000)
    np.testing.assert_allclose(obs["cos"], ideal, atol=0.04)  # 400 probe prompts
    # the baselines' constant curves: least squares is exact once k >= d (noiseless data)
    assert np.all(np.asarray(obs["curve_ls"])[CFG.d + 1:] < 1e-3)


@pytest.mark.parametrize("over", [dict(fresh_prompts=True), dict(train_delta=True)])
def test_fresh_prompt_and_trainable_delta_paths(over):
    """Fresh prompts: a new training batch per step key. Trainable w_Delta: features recomputed
    from the tokens, equal to the scan, and w_Delta receives a gradient."""
    cfg = paper.Config(d=3, N=8, d_h=6, n_train=64, n_test=300, n_probe=50, steps=10, log_every=5, **over)
    params, data = jax.jit(lambda k: paper.setup(k, cfg))(jax.random.PRNGKey(1))
    loss = jax.jit(lambda p, k: paper.loss(p, data, cfg, k))
    obs = jax.jit(lambda p: paper.observe(p, data, cfg))(params)
    assert np.isfinite(float(obs["test_loss"])) and np.asarray(obs["cos"]).shape == (cfg.N,)
    if cfg.fresh_prompts:
        assert float(loss(params, jax.random.PRNGKey(2))) != float(loss(params, jax.random.PRNGKey(3)))
        assert np.isnan(float(obs["train_gap"]))
    else:
        layer = paper._layer(params, data)
        tok = data["test_tok"][:5]
        q, m = s6.last_channel_features(layer, tok, paper.A_C)
        out_scan = jax.vmap(lambda u: s6.scan(layer, u)[0][-1, cfg.d])(tok)
        np.testing.assert_allclose(s6.bilinear_output(layer, q, m), out_scan, rtol=2e-4, atol=2e-4)
        g = jax.grad(lambda p: paper.loss(p, data, cfg, None))(params)
        assert float(jnp.linalg.norm(g["s6"]["w_delta"])) > 0
        assert float(obs["w_delta_norm"]) > 0


def test_bad_configs_are_one_line_errors():
    for bad in (dict(fresh_prompts=True, baselines=True), dict(init="orthogonal", d_h=3),
                dict(train_delta=True, baselines=True), dict(steps=100, log_every=30)):
        with pytest.raises(ConfigError):
            validate(paper.Config(**bad))
    assert cli.main(["run", "mamba-icl/train", "--preset", "smoke", "--set", "lr=-1", "--out", "/nonexistent"]) == 2


@pytest.mark.parametrize("field, value", [("step_rule", "adam"), ("step_fraction", 0.0), ("step_fraction", 2.5)])
def test_bad_step_rule_is_a_one_line_error_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=field) as err:
        validate(paper.Config(**{field: value}))
    assert "\n" not in str(err.value)
    assert cli.main(["run", "mamba-icl/train", "--preset", "smoke", "--set", f"{field}={value}",
                     "--out", "/nonexistent"]) == 2


def test_training_set_size_and_stop_rule():
    """n_train = 0: 100 (d+1)(d+2) prompts (the paper's 3000 at d = 4); a run stops at stop_gap x L*
    above the training optimum only where that optimum exists (fixed set, frozen Delta, no baselines)."""
    assert paper.n_train_of(paper.Config(d=4)) == 3000
    assert paper.n_train_of(paper.Config(d=20)) == 46200
    assert paper.n_train_of(paper.Config(d=20, n_train=500)) == 500
    cfg = paper.Config(d=4, N=50)
    assert float(paper.stop_below(cfg)) == pytest.approx(cfg.stop_gap * float(theory.limit_loss(4, 50)))
    for over in (dict(baselines=True), dict(train_delta=True), dict(fresh_prompts=True), dict(stop_gap=0.0)):
        assert float(paper.stop_below(dataclasses.replace(cfg, **over))) == -np.inf


def _flat_gn_and_hessian(layer, q, m):
    """Dense (Gauss-Newton (1/n) J^T J, Hessian of the loss at zero residual) over the flattened
    (W_B, W_C, b_B, b_C); labels = the layer's own predictions, so the Hessian equals the GN matrix."""
    theta = {k: getattr(layer, k) for k in paper.S6_MATRICES}
    flat, unravel = jax.flatten_util.ravel_pytree(theta)

    def predict(f):
        return s6.bilinear_output(layer._replace(**unravel(f)), q, m)

    y = predict(flat)
    jac = jax.jacfwd(predict)(flat)  # [n, n_params]
    hess = jax.hessian(lambda f: 0.5 * jnp.mean((predict(f) - y) ** 2))(flat)
    return jac.T @ jac / len(y), hess


def test_gauss_newton_curvature_equals_the_dense_top_eigenvalue(x64):
    """The power-iteration estimate of lambda_max (Gauss-Newton matrix of the training loss at init)
    against the dense matrices on a tiny problem, and below the closed-form bound."""
    cfg = paper.Config(d=3, N=6, d_h=5, n_train=40, n_test=10, n_probe=4, steps=10, log_every=5)
    params, data = jax.jit(lambda k: paper.setup(k, cfg))(jax.random.PRNGKey(3))  # jitted: eager setup takes ~5 s
    layer = paper._layer(params, data)
    q, m = data["train_q"], data["train_m"]
    gn, hess = _flat_gn_and_hessian(layer, q, m)
    np.testing.assert_allclose(hess, gn, rtol=1e-8, atol=1e-8 * float(jnp.abs(gn).max()))
    top = float(jnp.linalg.eigvalsh(gn)[-1])
    assert float(paper.s6_curvature(layer, q, m, iters=300)) == pytest.approx(top, rel=1e-8)
    assert float(data["curv0"]) == pytest.approx(top, rel=0.02)  # the default iterations, as setup uses
    assert top <= float(paper.gauss_newton_bound(layer, q, m)) * (1 + 1e-9)
    # the rule's step: eta = step_fraction / lambda_max; 'fixed' keeps lr
    assert float(data["eta"]) == pytest.approx(cfg.step_fraction / float(data["curv0"]))
    fixed = dataclasses.replace(cfg, step_rule="fixed", lr=3e-4)
    _, data_fixed = jax.jit(lambda k: paper.setup(k, fixed))(jax.random.PRNGKey(3))
    assert float(data_fixed["eta"]) == pytest.approx(3e-4)


def _train_one(cfg, seed=0):
    from theorylab.config import dynamic_names
    from theorylab.engine.trainer import compile_chunk

    fn, _ = compile_chunk(paper.PROBLEM, cfg, dynamic_names(paper.Config), 1, cfg.steps, cfg.log_every)
    dyn = {n: np.array([getattr(cfg, n)]) for n in dynamic_names(paper.Config)}
    return fn(np.asarray(jax.random.PRNGKey(seed), np.uint32)[None], dyn)


def test_d20_converges_with_the_curvature_step_where_the_fixed_step_diverges():
    """d = 20 (small N and training set): eta = 2e-4, which suits d = 4, diverges; the curvature
    step (no tuning) converges to the training set's optimum and stops there (1000 prompts for 462
    entries of P: a slow mode, 14.5k-17.6k steps over seeds 0-2, inside the presets' 20k cap)."""
    from theorylab.stop_reasons import StopReason

    cfg = paper.Config(d=20, N=10, d_h=80, n_train=1000, n_test=500, n_probe=20, steps=20000, log_every=2000)
    fixed = _train_one(dataclasses.replace(cfg, step_rule="fixed", lr=2e-4))
    assert fixed.stop_reason[0] == StopReason.DIVERGED and fixed.stop_step[0] < 200
    rule = _train_one(cfg)
    l_star = float(theory.limit_loss(20, 10))
    assert rule.stop_reason[0] == StopReason.CONVERGED and rule.stop_step[0] < cfg.steps
    assert float(rule.obs["train_gap"][-1, 0]) < cfg.stop_gap * l_star  # stopped at the tolerance
    assert float(rule.obs["eta"][-1, 0] * rule.obs["curv0"][-1, 0]) == pytest.approx(cfg.step_fraction, rel=1e-5)
    assert float(rule.obs["train_loss"][0, 0]) > 1e4  # it started far away (N(0,1) init)


def test_curvature_step_is_gd_with_step_eta():
    """optax.sgd(1) on the gradient-scaled loss is one GD step of size eta on the plain loss."""
    cfg = paper.Config(d=3, N=6, d_h=5, n_train=40, n_test=10, n_probe=4, steps=10, log_every=5)
    params, data = jax.jit(lambda k: paper.setup(k, cfg))(jax.random.PRNGKey(4))
    opt = paper.optimizer(cfg)
    g = jax.grad(paper.loss)(params, data, cfg, None)
    upd, _ = opt.update(g, opt.init(params), params)
    plain = jax.grad(lambda p: paper._s6_loss(p, data, cfg, None))(params)
    # the value the engine sees: the gap to the training set's exact optimum (the quadratic form in
    # P equals the per-prompt loss)
    gap = float(paper._s6_loss(params, data, cfg, None)) - float(data["train_opt"])
    assert float(paper.loss(params, data, cfg, None)) == pytest.approx(gap, rel=1e-5)
    for k in paper.S6_MATRICES:  # two float32 evaluations of one gradient (quadratic form in P, per prompt):
        # they differ by up to 1.2e-5 relative on this draw
        np.testing.assert_allclose(upd["s6"][k], -data["eta"] * plain["s6"][k], rtol=3e-5, atol=1e-9)


def test_train_smoke_end_to_end(tmp_path):
    out = tmp_path / "train"
    assert cli.main(["run", "mamba-icl/train", "--preset", "smoke", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    ids = {c["id"] for c in summary["claims"]}
    assert ids == {"ctb-beta", "ctb-b", "test-loss", "exp-rate", "weights"}
    assert all(c["holds"] is None for c in summary["claims"])  # smoke: untested
    assert (out / "figures" / "train.png").stat().st_size > 10_000
    assert cli.main(["check", str(out)]) == 0


@pytest.mark.slow
@pytest.mark.parametrize("experiment", ["mamba-icl/train", "mamba-icl/context-length", "mamba-icl/ablations"])
def test_cpu_presets_hold(tmp_path, experiment):
    """Every claim holds at the cpu preset (minutes)."""
    out = tmp_path / "run"
    assert cli.main(["run", experiment, "--preset", "cpu", "--out", str(out)]) == 0
    claims = json.loads((out / "summary.json").read_text())["claims"]
    assert all(c["holds"] is True for c in claims), claims


def _ctx_frame(rel_error_at_20: float, ns=(4, 10, 20, 40, 50, 80), curves: bool = True):
    """A synthetic context-length result (the cpu grid's N): every run at L*(N) except N = 20 at
    (1 + rel) L*; with ``curves``, the error curves that baselines = true records."""
    rows = []
    for n in ns:
        l_star = float(theory.limit_loss(4, n))
        for seed in range(3):
            loss = l_star * (1 + (rel_error_at_20 if n == 20 else 0.0))
            row = dict(run_id=f"{n}-{seed}", cell=f"N={n}", seed=seed, step=100, d=4, N=n, d_h=8,
                       test_loss=loss, test_se=0.001 * l_star)
            if curves:
                row.update({k: [1.0, 0.5] for k in ("curve_la", "curve_sm", "curve_ls", "curve_ridge", "curve_ogd",
                                                    "curve_laopt")}, curve_s6=[1.0, loss])
            else:  # baselines = false records the per-position weights instead
                row.update(weights=list(theory.position_weights(4, n)), cos=[0.5] * n)
            rows.append(row)
    return pd.DataFrame(rows)


def test_context_claims_fail_when_one_n_is_off():
    resolved = _resolved(paper.CONTEXT, "cpu")
    ok = {c.id: c for c in paper.context_claims(_ctx_frame(0.0), resolved)}
    bad = {c.id: c for c in paper.context_claims(_ctx_frame(0.08), resolved)}
    assert ok["loss-vs-N"].holds is True and bad["loss-vs-N"].holds is False
    assert "worst N = 20" in bad["loss-vs-N"].measured
    assert ok["below-bound"].holds is True


@pytest.mark.parametrize("curves", [True, False])
def test_context_claims_and_figure_show_what_was_measured(curves):
    """With baselines = false no error curves are recorded: claims and figure use the test loss only."""
    resolved = _resolved(paper.CONTEXT, "cpu")
    df = _ctx_frame(0.0, curves=curves)
    claims = {c.id: c.holds for c in paper.context_claims(df, resolved)}
    assert claims == {"loss-vs-N": True, "loss-small-N": True, "below-bound": True}
    fig = paper.context_figures(df, resolved)["context_length"]
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert ("trained linear attention (probe set)" in labels) == curves
    panel_b = fig.axes[1].get_title()
    assert ("error against context position" in panel_b) == curves and ("weight of example j" in panel_b) != curves


def test_context_claims_fail_when_large_n_cells_have_no_results():
    resolved = _resolved(paper.CONTEXT, "cpu")
    claims = paper.context_claims(_ctx_frame(0.0, ns=(4,)), resolved)  # every N >= 10 failed
    assert [(c.id, c.holds) for c in claims] == [("loss-vs-N", False), ("loss-small-N", True), ("below-bound", False)]
    small = dataclasses.replace(resolved, cells=resolved.cells[:1])  # the grid itself has only N = 4
    assert [c.holds for c in paper.context_claims(_ctx_frame(0.0, ns=(4,)), small)] == [None, True]
    # N < 2(d+1) off by 8%: the small-N claim fails, the large-N one holds
    frame = _ctx_frame(0.0)
    frame.loc[frame["N"] == 4, "test_loss"] *= 1.08
    claims = {c.id: c.holds for c in paper.context_claims(frame, resolved)}
    assert claims == {"loss-vs-N": True, "loss-small-N": False, "below-bound": True}


def test_exponential_fit_tells_exponential_from_power_law():
    steps = np.arange(0, 3001, 50).astype(float)
    l_star = 0.19
    fit = exp_rate_fit(steps, 100 * np.exp(-0.01 * steps) + 1e-9, 0.05 * l_star)
    r2_pow = exp_rate_fit(steps, 100 / (1 + steps / 50) ** 3, 0.05 * l_star).r2
    assert fit.r2 > 0.999 and r2_pow < 0.95 and fit.rate == pytest.approx(0.01, rel=1e-6)


def test_ablation_claims_read_their_cells():
    rows = []
    for cell, n0, n1, err, dh in (("w_delta", 0.9, 0.2, 0.05, 80), ("orthogonal", 0.0, 0.0, 0.3, 80),
                                  ("d_h=6", 0.0, 0.0, 0.05, 6)):
        l_star = float(theory.limit_loss(4, 30))
        for step, norm in ((0, n0), (100, n1)):
            rows.append(dict(run_id=cell, cell=cell, seed=0, step=step, d=4, N=30, d_h=dh, w_delta_norm=norm,
                             ctb_err=err, test_loss=1.2 * l_star, test_se=0.001))
    claims = {c.id: c.holds for c in paper.ablation_claims(pd.DataFrame(rows), _resolved(paper.ABLATIONS, "cpu"))}
    assert claims == {"w-delta-shrinks": True, "orthogonal-limit": False, "small-dh": False}


def _resolved(exp, preset):
    from theorylab.sweep.grid import resolve

    p = exp.presets[preset]
    return resolve(exp.name, preset, exp.config, p.base, p.cells, p.seeds, {})
