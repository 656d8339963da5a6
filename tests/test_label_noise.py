"""Label-noise GD and the gamma / rho decomposition: exact reconstruction, noise statistics, the
claims of both label-noise papers on synthetic results."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
import pytest

from theorylab.cli import main
from theorylab.config import ConfigError, validate
from theorylab.optim.label_noise import LabelNoise, draw_eps, noisy_labels, with_label_noise
from theorylab.papers import label_noise_gd as A
from theorylab.papers import label_noise_stages as B
from theorylab.sweep.grid import resolve
from theorylab.analysis import fit_boundary
from theorylab.models import decomposition, linalg


def _train_float64(paper, cfg, steps=30):
    """Run the paper's own setup + loss for a few GD steps in float64; return (w, data)."""
    with jax.enable_x64(True):
        w0, data = paper.setup(jax.random.PRNGKey(3), cfg)
        data = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64) if a.dtype == jnp.float32 else a, data)
        w = w0.astype(jnp.float64)
        data["w0"] = w
        data["basis"] = decomposition.basis(signal_vec(cfg), data["x"][jnp.arange(cfg.n), 1 - _slot(data, cfg)])
        opt = optax.sgd(cfg.lr)
        state = opt.init(w)
        grad = jax.jit(jax.grad(paper.PROBLEM.loss), static_argnums=2)
        for t in range(steps):
            u, state = opt.update(grad(w, data, cfg, jax.random.PRNGKey(100 + t)), state)
            w = optax.apply_updates(w, u)
        return w, data


def signal_vec(cfg):
    return jnp.zeros(cfg.d, jnp.float64).at[0].set(cfg.mu_norm)


def _slot(data, cfg):
    """Which of the two patches carries the signal: the one with a nonzero first coordinate."""
    return (jnp.abs(data["x"][:, 1, 0]) > 0.5 * cfg.mu_norm).astype(jnp.int32)


A_SMALL = A.Config(d=64, n=16, n_test=8, m=3, q=2, sigma0=0.01, lr=1.0, steps=30, log_every=10, label_noise_p=0.2)
B_SMALL = B.Config(d=64, n=16, n_test=8, m=3, q=1, sigma0=0.01, lr=1.0, steps=30, log_every=10, sigma_xi=0.5,
                   tau_pos=0.2, tau_neg=0.2)


def test_decomposition_reconstructs_the_trained_filters_exactly_paper_a():
    w, data = _train_float64(A, A_SMALL)
    with jax.enable_x64(True):
        gamma, rho = decomposition.decompose(w, data["w0"], data["basis"])
        xi = data["x"][jnp.arange(A_SMALL.n), 1 - _slot(data, A_SMALL)]
        dw = np.asarray(w - data["w0"])
        rec = np.asarray(decomposition.reconstruct(gamma, rho, signal_vec(A_SMALL), xi))
        assert np.abs(dw).max() > 1e-2  # the filters moved
        np.testing.assert_allclose(rec, dw, atol=1e-10 * np.abs(dw).max())
        # noise orthogonal to mu: gamma_{j,r} = j <w_{j,r} - w_{j,r}(0), mu>
        direct = np.array([1.0, -1.0])[:, None] * (dw @ np.asarray(signal_vec(A_SMALL)))
        np.testing.assert_allclose(np.asarray(gamma), direct, rtol=1e-9, atol=1e-12)
        assert np.abs(np.asarray(rho)).max() > 1e-2 and np.abs(direct).max() > 1e-3


def test_decomposition_reconstructs_exactly_with_noise_not_orthogonal_to_mu_paper_b():
    w, data = _train_float64(B, B_SMALL)
    with jax.enable_x64(True):
        xi = data["x"][:, 1]  # paper B: the signal sits in patch 1
        bs = decomposition.basis(signal_vec(B_SMALL), xi)
        gamma, rho = decomposition.decompose(w, data["w0"], bs)
        dw = np.asarray(w - data["w0"])
        rec = np.asarray(decomposition.reconstruct(gamma, rho, signal_vec(B_SMALL), xi))
        np.testing.assert_allclose(rec, dw, atol=1e-10 * np.abs(dw).max())
        # a vector outside the span is not reconstructed: the check can fail
        off = jnp.zeros_like(w).at[0, 0, -1].set(1.0)
        g2, r2 = decomposition.decompose(w + off, data["w0"], bs)
        assert np.abs(np.asarray(decomposition.reconstruct(g2, r2, signal_vec(B_SMALL), xi)) - (dw + off)).max() > 0.1


def test_observe_decomposition_in_float32_matches_float64():
    w, data = _train_float64(A, A_SMALL)
    with jax.enable_x64(True):
        g64, r64 = decomposition.decompose(w, data["w0"], data["basis"])
    f32 = jax.tree_util.tree_map(lambda a: a.astype(jnp.float32) if a.dtype == jnp.float64 else a, data)
    bs32 = decomposition.basis(jnp.zeros(64).at[0].set(2.0), f32["x"][jnp.arange(16), 1 - _slot(f32, A_SMALL)])
    g32, r32 = decomposition.decompose(w.astype(jnp.float32), f32["w0"], bs32)
    np.testing.assert_allclose(np.asarray(g32), np.asarray(g64), atol=1e-4 * float(np.abs(g64).max()))
    np.testing.assert_allclose(np.asarray(r32), np.asarray(r64), atol=1e-4 * float(np.abs(r64).max()))


def test_flip_noise_has_rate_p_and_p_zero_is_plain_gd():
    eps = np.asarray(draw_eps(jax.random.PRNGKey(0), (200_000,), LabelNoise("flip", p=0.1)))
    assert set(np.unique(eps)) == {-1.0, 1.0}
    assert abs((eps < 0).mean() - 0.1) < 4 * np.sqrt(0.1 * 0.9 / 200_000)
    assert np.all(np.asarray(draw_eps(jax.random.PRNGKey(1), (1000,), LabelNoise("flip", p=0.0))) == 1.0)


@pytest.mark.parametrize("noise, mean, var", [
    (LabelNoise("gaussian", mean=0.6, std=1.0), 0.6, 1.0),
    (LabelNoise("uniform", lo=-2.0, hi=3.0), 0.5, 25 / 12),
])
def test_multiplicative_noises_have_their_moments(noise, mean, var):
    eps = np.asarray(draw_eps(jax.random.PRNGKey(2), (200_000,), noise))
    assert abs(eps.mean() - mean) < 4 * np.sqrt(var / 200_000)
    assert abs(eps.var() / var - 1) < 0.02
    if noise.kind == "uniform":
        assert eps.min() >= -2.0 and eps.max() <= 3.0


def test_wrapper_draws_fresh_labels_per_key_and_reduces_to_the_clean_loss_at_p_zero():
    y = jnp.where(jnp.arange(50) % 2 == 0, 1.0, -1.0)
    seen = lambda params, data, cfg, labels: labels  # noqa: E731  "loss" returning the labels it got
    loss = with_label_noise(lambda p, d, c, labels: jnp.sum(seen(p, d, c, labels) * d["w"]),
                            lambda cfg: LabelNoise("flip", p=cfg))
    data = dict(y=y, w=jnp.arange(50.0))
    clean = float(jnp.sum(y * data["w"]))
    assert float(loss(None, data, 0.0, jax.random.PRNGKey(0))) == clean
    a, b = (float(loss(None, data, 0.3, jax.random.PRNGKey(k))) for k in (1, 2))
    assert a != clean and b != clean and a != b
    flipped = noisy_labels(jax.random.PRNGKey(1), y, LabelNoise("flip", p=0.3))
    assert a == float(jnp.sum(flipped * data["w"]))


def test_band_fit_recovers_an_exact_law_and_counts_misses():
    ns, snrs = np.repeat([25, 50, 100, 175], 5), np.tile([0.06, 0.1, 0.14, 0.18, 0.2], 4)
    x = ns * snrs**2
    fit = fit_boundary(ns, snrs, (x >= 2.5).astype(float))
    assert fit.misses == 0 and np.all((x >= fit.c_split) == (x >= 2.5))
    ok = x >= 2.5
    ok[0] = True  # one cell off the law
    assert fit_boundary(ns, snrs, ok.astype(float)).misses == 1


def test_stage_one_end_is_the_best_true_label_agreement_after_step_zero():
    assert B.stage_one_end(np.array([0.9, 0.8, 0.95, 0.95, 0.85])) == 3
    assert B.stage_one_end(np.array([1.0, 0.5, 0.7, 0.6])) == 2  # step 0 does not count


@pytest.mark.parametrize("cls, over", [
    (A.Config, dict(n=64, d=64)),
    (A.Config, dict(eps_lo=2.0, eps_hi=1.0)),
    (A.Config, dict(steps=100, log_every=30)),
    (B.Config, dict(n=300, d=200)),
])
def test_bad_configs_are_one_line_errors(cls, over):
    with pytest.raises(ConfigError):
        validate(dataclasses.replace(cls(), **over))


def test_cli_rejects_a_bad_activation_power(tmp_path, capsys):
    assert main(["run", "label-noise-gd/dynamics", "--preset", "smoke", "--set", "q=5",
                 "--out", str(tmp_path / "x")]) != 0
    assert "q" in capsys.readouterr().err


@pytest.mark.parametrize("exp", ["label-noise-gd/dynamics", "label-noise-gd/phase", "label-noise-stages/dynamics"])
def test_smoke_presets_run_through_the_cli(exp, tmp_path):
    out = tmp_path / "run"
    assert main(["run", exp, "--preset", "smoke", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["claims"] and all(c["holds"] is None for c in summary["claims"])  # smoke: untested
    assert any((out / "figures").glob("*.png"))
    assert main(["check", str(out)]) == 0


def _fake_phase(gd_ok, ln_ok):
    """A final-step table shaped like label-noise-gd/phase's, from rules (n, snr) -> generalises."""
    p = A.PHASE_CPU
    resolved = resolve("label-noise-gd/phase", "cpu", A.Config, p.base, p.cells, 1, {})
    rows = []
    for label, cfg in resolved.cells:
        s = float(cfg.snr())
        ok = (ln_ok if cfg.label_noise_p > 0 else gd_ok)(cfg.n, s)
        rows.append(dict(run_id=label, cell=label, seed=0, step=1000, n=cfg.n, d=cfg.d, mu_norm=cfg.mu_norm,
                         sigma_p=cfg.sigma_p, label_noise_p=cfg.label_noise_p, test_acc=1.0 if ok else 0.5,
                         train_acc=1.0))
    return pd.DataFrame(rows), resolved


def test_phase_claims_hold_on_the_theory_picture_and_fail_otherwise():
    gd = lambda n, s: n * s**2 >= 2.5  # noqa: E731
    ln = lambda n, s: gd(n, s) or s >= 0.139  # noqa: E731
    claims = {c.id: c for c in A.phase_claims(*_fake_phase(gd, ln))}
    assert claims["ln-contains-gd"].holds and claims["gd-fails-band"].holds
    assert "c = 2.5" in claims["gd-fails-band"].measured or "c = 2.4" in claims["gd-fails-band"].measured
    claims = {c.id: c for c in A.phase_claims(*_fake_phase(gd, gd))}  # label noise adds nothing
    assert claims["ln-contains-gd"].holds is False and claims["gd-fails-band"].holds is False
    claims = {c.id: c for c in A.phase_claims(*_fake_phase(lambda n, s: s >= 0.15, ln))}  # GD off the law
    assert claims["gd-fails-band"].holds is False


def _fake_dynamics(gd_ratio_end, ln_ratio_end):
    p = A.DYN_CPU
    resolved = resolve("label-noise-gd/dynamics", "cpu", A.Config, p.base, p.cells, 2, {})
    steps = np.arange(0, 2001, 500)
    rows = []
    for label, cfg in resolved.cells:
        gd = cfg.label_noise_p == 0
        for seed in range(2):
            for k, t in enumerate(steps):
                g = 0.2 if gd else 0.2 + t / 500
                r = 10.0 if gd else 8.0
                ratio = (gd_ratio_end if gd else ln_ratio_end) * (1 if t else 0)
                rows.append(dict(run_id=f"{label}{seed}", cell=label, seed=seed, step=t, gamma_max=g, rho_max=r,
                                 rho_over_gamma=ratio, test_acc=0.5 if gd else 0.9, train_loss=1e-3 if gd else 0.1))
    return pd.DataFrame(rows), resolved


def test_dynamics_claims_hold_on_the_theory_picture_and_fail_when_gd_does_not_memorise():
    claims = {c.id: c for c in A.dynamics_claims(*_fake_dynamics(50.0, 1.0))}
    assert all(c.holds for c in claims.values()), [c for c in claims.values() if not c.holds]
    claims = {c.id: c for c in A.dynamics_claims(*_fake_dynamics(5.0, 3.0))}  # LN above GD / 2
    assert claims["gd-ratio"].holds is False and claims["ln-ratio-bounded"].holds is False


def test_gauss_jordan_inverse_matches_numpy_and_the_program_has_no_lapack_call():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(30, 60))
    g = m @ m.T / 60
    with jax.enable_x64(True):
        inv = np.asarray(linalg.spd_inverse(jnp.asarray(g)))
    np.testing.assert_allclose(inv @ g, np.eye(30), atol=1e-10)
    hlo = jax.jit(A.setup, static_argnums=1).lower(jax.random.PRNGKey(0), A_SMALL).as_text()
    hlo += jax.jit(A.observe, static_argnums=2).lower(*A.setup(jax.random.PRNGKey(0), A_SMALL), A_SMALL).as_text()
    assert "lapack" not in hlo.lower() and "custom_call" not in hlo.lower()


def test_claims_fail_not_skip_when_a_grid_cell_has_no_results():
    """Runs that failed leave their cell without rows: the claims that need it fail (holds False)."""
    df, resolved = _fake_dynamics(50.0, 1.0)
    claims = {c.id: c for c in A.dynamics_claims(df[df["cell"] != "LN-GD"], resolved)}
    assert claims["gd-ratio"].holds is True
    assert all(claims[i].holds is False and claims[i].measured == "inputs missing"
               for i in ("ln-ratio-bounded", "ln-gamma-grows", "test-acc", "ln-loss-order-one"))
    claims = A.dynamics_claims(df[df["cell"] != "GD"], resolved)
    assert len(claims) == 5 and all(c.holds is False for c in claims)
    df, resolved = _fake_phase(lambda n, s: n * s**2 >= 2.5, lambda n, s: True)
    claims = A.phase_claims(df[df["cell"] != df["cell"].iloc[0]], resolved)
    assert [c.holds for c in claims] == [False, False] and "their runs failed" in claims[0].note


def test_stage_claims_fail_for_a_cell_without_results():
    p = B.SMOKE
    resolved = resolve("label-noise-stages/dynamics", "smoke", B.Config, p.base, p.cells, 1, {})
    cols = ("train_acc_true", "train_acc_clean", "train_acc_noisy", "noisy_true_acc", "test_acc", "ln2_precision",
            "ln2_recall", "gamma_max", "rho_max_noisy", "rho_max_clean")
    rows = [dict(run_id="a", cell="tau=0.1", seed=0, step=t, **{c: 1.0 if t == 10 else 0.5 for c in cols})
            for t in (0, 10, 20, 30, 40)]
    claims = {c.id: c for c in B.claims(pd.DataFrame(rows), resolved)}
    assert claims["stage1-true-labels[tau=0.1]"].holds is True
    assert all(claims[f"{i}[tau=0.2]"].holds is False
               for i in ("stage1-true-labels", "stage2-memorised", "ln2-threshold"))
