"""Mixture of experts on clustered single-index data (moe/clustered): data statistics, the
readout, gradients, the phase schedule, reference levels, and the smoke preset end to end."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import theorylab as tl
from theorylab.config import ConfigError, validate
from theorylab.data import clustered_single_index as D
from theorylab.data.hermite_expansion import hermite
from theorylab.models import mixture_of_experts as moe
from theorylab.papers import moe_clusters as P
from theorylab.theory import moe_clusters as T


def _draw(n, d=32, rho=3.0, zeta=0.1, seed=0):
    dirs = D.orthonormal_directions(jax.random.PRNGKey(seed), d, 5)
    return dirs, D.sample(jax.random.PRNGKey(seed + 1), n, dirs, 2, rho=rho, zeta=zeta, k=3)


def test_directions_are_orthonormal_and_clusters_centred_on_rho_v():
    dirs, b = _draw(100_000)
    np.testing.assert_allclose(np.asarray(dirs @ dirs.T), np.eye(5), atol=1e-5)
    for c in (0, 1):
        mean = np.asarray(b.x[b.c == c].mean(0))
        np.testing.assert_allclose(mean, 3.0 * np.asarray(dirs[c]), atol=0.03)
    assert abs(float(jnp.mean(b.c)) - 0.5) < 0.01
    assert abs(float(jnp.var(b.y)) - (2 + 0.01)) < 0.1  # Var y = |f*|^2 + |g*|^2 + zeta^2


def _corr_and_se(u):
    u = np.asarray(u, np.float64)
    return u.mean(), u.std() / math.sqrt(len(u))


def test_pooled_correlation_with_the_global_direction_vanishes_but_not_per_cluster():
    """Claim M5: E[y h_3(<w*_g, x>)] = 0 over the pooled data (the signs s_c cancel), while
    within cluster c it is s_c (= +1, -1): an expert that sees one cluster has the signal."""
    dirs, b = _draw(400_000, seed=3)
    h = hermite(3, b.x @ D.global_direction(dirs, 2))
    mean, se = _corr_and_se(b.y * h)
    assert abs(mean) < 3 * se, (mean, se)
    for c, s in ((0, 1.0), (1, -1.0)):
        m, se_c = _corr_and_se((b.y * h)[b.c == c])
        assert abs(m - s) < 4 * se_c, (c, m, se_c)


def test_gated_readout_decouples_into_one_least_squares_fit_per_expert():
    with jax.enable_x64(True):
        key = jax.random.PRNGKey(0)
        params = moe.init(key, 3, 4, 10, 3)
        x = jax.random.normal(jax.random.PRNGKey(1), (300, 10), jnp.float64)
        y = jax.random.normal(jax.random.PRNGKey(2), (300,), jnp.float64)
        route = moe.top1(jax.random.normal(jax.random.PRNGKey(3), (3, 10), jnp.float64), x)
        phi = moe.gated_features(params["experts"].astype(jnp.float64), params["scouts"].astype(jnp.float64),
                                 x, route, 0.0, 3)
        a = np.asarray(moe.fit_readout(phi, y, ridge=1e-12))
        for e in range(3):
            sel = np.asarray(route[:, e]) > 0
            feats = np.asarray(moe.neuron_outputs(params["experts"][e].astype(jnp.float64), x[sel], 3))
            ref = np.linalg.lstsq(feats, np.asarray(y)[sel], rcond=None)[0]
            np.testing.assert_allclose(a[4 * e:4 * e + 4], ref, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(a[12:], 0.0, atol=1e-10)  # gated-off scouts get no weight


@pytest.mark.parametrize("name", ["expert", "router"])
def test_loss_gradients_match_central_differences(name):
    with jax.enable_x64(True):
        params = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), moe.init(jax.random.PRNGKey(0), 2, 3, 6, 2))
        params["router"] = 0.3 * jax.random.normal(jax.random.PRNGKey(4), (2, 6), jnp.float64)
        x = jax.random.normal(jax.random.PRNGKey(1), (50, 6), jnp.float64)
        y = jax.random.normal(jax.random.PRNGKey(2), (50,), jnp.float64)
        route = moe.soft(params["router"], x)
        if name == "expert":
            f, arg = (lambda w: moe.expert_loss(w, x, y, route, 3)), params["experts"]
        else:
            f, arg = (lambda r: moe.router_loss(r, params["scouts"], x, y, 3)), params["router"]
        g = np.asarray(jax.grad(f)(arg)).ravel()
        f = jax.jit(f)
        flat = np.asarray(arg).ravel()
        eps = 1e-6
        num = []
        for i in range(flat.size):
            e = np.zeros_like(flat)
            e[i] = eps
            num.append((f(jnp.asarray((flat + e).reshape(arg.shape))) - f(jnp.asarray((flat - e).reshape(arg.shape))))
                       / (2 * eps))
        np.testing.assert_allclose(g, np.array(num), rtol=1e-6, atol=1e-9)


def test_purity_counts_the_majority_cluster_of_each_expert():
    route = jax.nn.one_hot(jnp.array([0, 0, 0, 1, 1, 1]), 2)
    c = jnp.array([0, 0, 1, 1, 1, 1])
    assert float(moe.purity(route, c, 2)) == pytest.approx(5 / 6)


def _tiny(arm):
    return P.Config(d=8, batch=16, p1=1, p2=1, p3=1, p4=1, steps=16, log_every=4, arm=arm, n_fit=64, n_test=64)


@pytest.mark.parametrize("arm", [0, 1, 2])
def test_phase_schedule_moves_each_part_only_in_its_phases(arm):
    cfg = _tiny(arm)
    validate(cfg)
    params, _ = P.setup(jax.random.PRNGKey(0), cfg)
    opt = P.optimizer(cfg)
    state = opt.init(params)
    ones = jax.tree_util.tree_map(lambda a: jnp.ones_like(a) * 0.1, params)
    update = jax.jit(opt.update)
    moved = {k: [] for k in params}
    for _ in range(cfg.steps):
        upd, state = update(ones, state, params)
        for k in params:
            moved[k].append(bool(jnp.abs(upd[k]).max() > 1e-6))  # > rounding of the renormalisation
    phase = np.repeat([1, 2, 3, 4], 4)  # 4 steps per d^2 samples at d = 8, B = 16
    expect = {
        0: dict(experts=phase >= 1, scouts=phase >= 1, router=phase < 0),
        1: dict(experts=phase >= 3, scouts=phase == 1, router=phase == 2),
        2: dict(experts=phase >= 3, scouts=phase < 0, router=phase < 0),
    }[arm]
    for k in params:
        assert moved[k] == list(expect[k]), (arm, k, moved[k])


def test_sweeping_d_without_its_step_budget_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match="steps"):
        tl.run(P.EXPERIMENT, preset="smoke", sweep={"d": [32, 48]}, out=tmp_path / "x")


def test_config_errors_are_one_line():
    with pytest.raises(ConfigError, match="steps"):
        validate(dataclasses.replace(_tiny(1), steps=20, log_every=4))
    with pytest.raises(ConfigError, match="clusters"):
        validate(dataclasses.replace(_tiny(1), clusters=3))


def test_reference_levels_against_monte_carlo():
    rng = np.random.default_rng(0)
    rho = 3.0
    z = rng.standard_normal((200_000, 2))
    c = rng.integers(0, 2, 200_000)
    x = z + rho * np.eye(2)[c]
    acc = np.mean((x[:, 1] > x[:, 0]) == (c == 1))  # the Bayes rule between the two means
    assert acc == pytest.approx(T.bayes_purity(rho), abs=0.003)
    for clusters in (3, 4, 6):  # argmax over C orthonormal means, and the quadrature at C = 2
        c = rng.integers(0, clusters, 200_000)
        x = rng.standard_normal((200_000, clusters)) + rho * np.eye(clusters)[c]
        assert np.mean(x.argmax(1) == c) == pytest.approx(T.bayes_purity(rho, clusters), abs=0.003)
    for r in (0.5, 1.3, 3.0):  # C = 2: the closed form Phi(rho / sqrt(2))
        assert T.bayes_purity(r, 2) == pytest.approx(0.5 * (1 + math.erf(r / 2)), abs=1e-10)
    k, d = 36, 128
    g = rng.standard_normal((4000, k, d))
    w = g / np.linalg.norm(g, axis=2, keepdims=True)
    typical = np.median(np.abs(w[:, :, 0]).max(1))
    assert typical == pytest.approx(T.dense_overlap_level(k, d), rel=0.15)


def test_smoke_preset_end_to_end(tmp_path):
    run = tl.run(P.EXPERIMENT, preset="smoke", out=tmp_path / "moe")
    assert tl.check(run.dir).ok
    fin = run.results.sort_values("step").groupby("run_id").tail(1)
    assert set(fin["arm"]) == {0, 1, 2}
    assert np.all(np.isfinite(fin["test_mse"]))
    assert fin.loc[fin["arm"] == 2, "purity"].iloc[0] == pytest.approx(1.0)
    assert "clustered" in run.figures
