"""single-index/spiked: the derived optima, the population correlation they rest on, the
(Sigma-)sphere constraint and its schedule, gradients, and the smoke preset end to end."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import theorylab as tl
from theorylab.data.gaussian_single_index import spiked_cov_apply, spiked_inputs
from theorylab.data.hermite_expansion import hermite
from theorylab.papers import spiked_structured_data as P
from theorylab.theory import spiked_single_index as T


def _cfg(**kw):
    return P.Config(**{**dict(d=8, steps=30, log_every=10, kappa=8.0, share=0.5), **kw})


def test_target_has_unit_sigma_norm_and_the_stated_spike_share():
    cfg = _cfg(kappa=64.0, share=0.3)
    _, data = P.setup(jax.random.PRNGKey(0), cfg)
    u, theta = data["u"], data["theta"]
    su = spiked_cov_apply(u, theta, cfg.kappa)
    assert float(u @ su) == pytest.approx(1.0, rel=1e-5)
    assert float((u @ theta) ** 2 * 1.0) == pytest.approx(0.3, rel=1e-5)  # Sigma = 1 on theta


def test_spherical_optimum_formula_against_direct_maximisation():
    """max over |w| = 1 of (w^T Sigma u)^3 is at w = Sigma u / |Sigma u| (Cauchy-Schwarz); found
    here by projected gradient ascent, its whitened overlap must match the closed form."""
    for kappa, share in ((64.0, 0.5), (8.0, 0.5), (20.0, 0.2)):
        d = 6
        a, b = np.sqrt(share), np.sqrt((1 - share) * (1 + kappa))  # u^T Sigma u = 1, share on theta
        u = np.zeros(d)
        u[0], u[1] = a, b
        sig = (np.eye(d) + kappa * np.outer(np.eye(d)[0], np.eye(d)[0])) / (1 + kappa)
        w = np.random.default_rng(0).standard_normal(d)
        w = np.abs(w) / np.linalg.norm(w)
        for _ in range(5000):
            w = w + 0.5 * 3 * (w @ sig @ u) ** 2 * (sig @ u)
            w /= np.linalg.norm(w)
        direct = (w @ sig @ u) / np.sqrt(w @ sig @ w)
        assert direct == pytest.approx(T.spherical_optimum_overlap(share=share, kappa=kappa), abs=1e-6)
    assert T.spherical_optimum_overlap(share=0.5, kappa=64.0) == pytest.approx(0.718, abs=5e-4)  # spec's value
    assert T.spherical_optimum_overlap(share=1.0, kappa=64.0) == pytest.approx(1.0)


def test_population_correlation_is_the_cube_of_the_sigma_inner_product():
    """E[h_3(<w, x>) h_3(<u, x>)] = (w^T Sigma u)^3 even when w^T Sigma w != 1 (Monte Carlo)."""
    d, kappa = 6, 8.0
    theta = jnp.zeros(d).at[0].set(1.0)
    u = jnp.array([np.sqrt(0.5), np.sqrt(0.5 * 9), 0, 0, 0, 0])
    w = jnp.array([0.6, 0.5, 0.3, -0.4, 0.2, 0.3])
    w = w / jnp.linalg.norm(w)
    x = spiked_inputs(jax.random.PRNGKey(0), 1_000_000, theta, kappa)
    prod = np.asarray(hermite(3, x @ w) * hermite(3, x @ u), np.float64)
    pred = float(w @ spiked_cov_apply(u, theta, kappa)) ** 3
    assert abs(prod.mean() - pred) < 4 * prod.std() / np.sqrt(len(prod)), (prod.mean(), pred)


@pytest.mark.parametrize("constraint", P.CONSTRAINTS)
def test_updates_stay_on_the_constraint_and_anneal_in_the_last_third(constraint):
    cfg = _cfg(constraint=constraint, steps=30)
    w, data = P.setup(jax.random.PRNGKey(1), cfg)
    opt = P.optimizer(cfg)
    state = opt.init(w)
    grad = jax.jit(jax.grad(P.loss), static_argnums=2)
    norms, sizes = [], []
    for t in range(cfg.steps):
        g = grad(w, data, cfg, jax.random.PRNGKey(100 + t))
        upd, state = opt.update(jnp.ones_like(g), state, w)  # the same raw step every time
        w = w + upd
        sw = float(jnp.sqrt(w @ spiked_cov_apply(w, data["theta"], cfg.kappa)))
        norms.append(sw if constraint == "weightnorm" else float(jnp.linalg.norm(w)))
        sizes.append(float(jnp.linalg.norm(upd)))
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)
    early, late = np.mean(sizes[5:19]), np.mean(sizes[21:])
    assert late < 0.5 * early  # eta / 4 from step 2 steps / 3 = 20 on


def test_loss_gradient_matches_central_differences():
    with jax.enable_x64(True):
        cfg = _cfg()
        w, data = P.setup(jax.random.PRNGKey(2), cfg)
        w = w.astype(jnp.float64)
        data = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), data)
        key = jax.random.PRNGKey(7)
        f = jax.jit(lambda v: P.loss(v, data, cfg, key))
        g = np.asarray(jax.grad(lambda v: P.loss(v, data, cfg, key))(w))
        eps = 1e-6
        num = [(f(w.at[i].add(eps)) - f(w.at[i].add(-eps))) / (2 * eps) for i in range(cfg.d)]
        np.testing.assert_allclose(g, np.array(num), rtol=1e-6, atol=1e-9)


def test_hitting_time_reads_the_first_crossing_or_the_censored_value():
    steps = np.array([0, 10, 20, 30])
    ov = np.array([[0.1, 0.6, 0.4, 0.7], [0.1, 0.2, 0.3, 0.4]])
    np.testing.assert_array_equal(P.hitting_time(steps, ov, 0.5, 99), [10, 99])
    np.testing.assert_array_equal(P.hitting_time(steps, ov, 0.65, np.inf), [30, np.inf])


def _mean_tangent_gradient(cfg, w, data, n=200_000):
    keys = jax.random.split(jax.random.PRNGKey(5), n)
    g = jax.jit(jax.vmap(jax.grad(P.loss), in_axes=(None, None, None, 0)), static_argnums=2)(w, data, cfg, keys).mean(0)
    sw = spiked_cov_apply(w, data["theta"], cfg.kappa)
    return np.asarray(g - (g @ sw) / (w @ sw) * w)  # the Sigma-sphere tangent part


def test_weight_normalised_gradient_vanishes_at_u_and_not_at_the_spherical_optimum():
    """The population gradient of the weight-normalised neuron is zero at w ~ u; at w ~ Sigma u
    (where the spherical neuron stops) it still points away (Monte Carlo, 200k samples)."""
    cfg = _cfg(constraint="weightnorm", kappa=8.0, share=0.5, d=4)
    _, data = P.setup(jax.random.PRNGKey(0), cfg)
    u, theta = data["u"], data["theta"]

    def on_sigma_sphere(v):
        return v / jnp.sqrt(v @ spiked_cov_apply(v, theta, cfg.kappa))

    at_u = np.linalg.norm(_mean_tangent_gradient(cfg, on_sigma_sphere(u), data))
    at_su = np.linalg.norm(_mean_tangent_gradient(cfg, on_sigma_sphere(spiked_cov_apply(u, theta, cfg.kappa)), data))
    assert at_su > 0.3 and at_u < 0.1 * at_su, (at_u, at_su)


def test_smoke_preset_end_to_end_with_two_dimensions(tmp_path):
    """The smoke preset swept over d: claims and figures come per dimension."""
    run = tl.run(P.EXPERIMENT, preset="smoke", sweep={"d": [16, 20]}, out=tmp_path / "spiked")
    assert tl.check(run.dir).ok
    ids = {c.id for c in run.claims}
    assert ids >= {f"{c}@d={d}" for c in ("S1[kappa=8]", "S2[kappa=8]", "S3") for d in (16, 20)}
    assert {"spiked_d16", "spiked_d20"} <= set(run.figures)
