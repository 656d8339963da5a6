"""Label-noise SGD and SAM on two-layer linear networks: the blocks against plain per-step
references, the exact per-step identity, the step clock, the closed forms, the claims'
measurements, and the smoke preset end to end."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import theorylab
from theorylab.models import linear_net
from theorylab.optim import clock
from theorylab.optim.label_noise_sgd import draw, label_noise_sgd_loss
from theorylab.optim.sam import sam_perturbation, with_sam
from theorylab.papers import label_noise_linear as P
from theorylab.theory import label_noise_linear as theory

M, D, N, LR, SIGMA = 12, 5, 9, 0.02, 2.0


def _problem(rho=0.0, kind="sign"):
    loss = label_noise_sgd_loss(linear_net.apply, batch=lambda c: c["b"], kind=lambda c: kind,
                                sigma_of=lambda p, c: c["sigma"])
    return with_sam(loss, rho_of=lambda c: c["rho"]) if rho else loss


def _setup(key):
    kx, kt, ki = jax.random.split(jax.random.PRNGKey(key), 3)
    x = jax.random.normal(kx, (N, D))
    theta = jax.random.normal(kt, (D,))
    params = linear_net.init(ki, M, D)
    return params, dict(x=x, y=x @ theta)


def _numpy_grad(a, W, x, y, eps):
    """Hand-written gradient of 1/(2b) sum_k (a^T W x_k - y_k - eps_k)^2: (g_a [m], g_W [m, d])."""
    r = (x @ W.T) @ a - y - eps  # [b]
    b = len(r)
    return (W @ x.T) @ r / b, np.outer(a, r @ x) / b


@pytest.mark.parametrize("batch,kind", [(1, "sign"), (3, "gaussian")])
def test_label_noise_sgd_matches_a_plain_per_step_reference(batch, kind):
    with jax.enable_x64(True):
        params, data = _setup(0)
        params = jax.tree_util.tree_map(lambda v: v.astype(jnp.float64), params)
        data = jax.tree_util.tree_map(lambda v: v.astype(jnp.float64), data)
        cfg = dict(b=batch, sigma=SIGMA, rho=0.0)
        loss = _problem(kind=kind)
        grad = jax.jit(lambda p, k: jax.grad(loss)(p, data, cfg, k))
        opt = optax.sgd(LR)
        state = opt.init(params)
        a, W = np.asarray(params["a"]), np.asarray(params["W"])
        x, y = np.asarray(data["x"]), np.asarray(data["y"])
        eps_seen = []
        draw_b = jax.jit(lambda k: draw(k, N, batch, kind, SIGMA))
        for t in range(100):
            key = jax.random.PRNGKey(1000 + t)
            idx, eps = (np.asarray(v) for v in draw_b(key))
            eps_seen.append(eps)
            ga, gW = _numpy_grad(a, W, x[idx], y[idx], eps)  # both at the old (a, W)
            a, W = a - LR * ga, W - LR * gW
            upd, state = opt.update(grad(params, key), state)
            params = optax.apply_updates(params, upd)
        np.testing.assert_allclose(np.asarray(params["a"]), a, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(np.asarray(params["W"]), W, rtol=1e-10, atol=1e-12)
        eps_seen = np.concatenate(eps_seen)
        if kind == "sign":
            assert set(np.round(np.abs(eps_seen), 12)) == {SIGMA}
            assert 0.3 < np.mean(eps_seen > 0) < 0.7
        else:
            assert abs(np.std(eps_seen) - SIGMA) < 0.25 * SIGMA


def test_sam_matches_a_plain_per_step_reference():
    rho = 0.3
    with jax.enable_x64(True):
        params, data = _setup(1)
        params = jax.tree_util.tree_map(lambda v: v.astype(jnp.float64), params)
        data = jax.tree_util.tree_map(lambda v: v.astype(jnp.float64), data)
        cfg = dict(b=1, sigma=SIGMA, rho=rho)
        grad = jax.jit(lambda p, k: jax.grad(_problem(rho=rho))(p, data, cfg, k))
        a, W = np.asarray(params["a"]), np.asarray(params["W"])
        x, y = np.asarray(data["x"]), np.asarray(data["y"])
        draw1 = jax.jit(lambda k: draw(k, N, 1, "sign", SIGMA))
        for t in range(50):
            key = jax.random.PRNGKey(7 + t)
            idx, eps = (np.asarray(v) for v in draw1(key))
            ga, gW = _numpy_grad(a, W, x[idx], y[idx], eps)
            nrm = math.sqrt(np.sum(ga ** 2) + np.sum(gW ** 2))
            ga2, gW2 = _numpy_grad(a + rho * ga / nrm, W + rho * gW / nrm, x[idx], y[idx], eps)  # same sample, noise
            a, W = a - LR * ga2, W - LR * gW2
            g = grad(params, key)
            params = jax.tree_util.tree_map(lambda p, u: p - LR * u, params, g)
        np.testing.assert_allclose(np.asarray(params["a"]), a, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(np.asarray(params["W"]), W, rtol=1e-10, atol=1e-12)


def test_sam_perturbation_has_norm_rho_and_vanishes_at_zero_gradient():
    g = {"a": jnp.array([3.0, 0.0]), "W": jnp.array([[0.0, 4.0]])}
    e = sam_perturbation(g, 0.5)
    assert float(optax.tree.norm(e)) == pytest.approx(0.5)
    z = sam_perturbation(jax.tree_util.tree_map(jnp.zeros_like, g), 0.5)
    assert all(np.all(np.asarray(v) == 0) for v in jax.tree_util.tree_leaves(z))
    # rho = 0: the SAM loss is the plain loss and its gradient the plain gradient
    params, data = _setup(2)
    cfg = dict(b=2, sigma=1.0, rho=0.0)
    k = jax.random.PRNGKey(3)
    plain = jax.jit(lambda p: jax.grad(_problem())(p, data, cfg, k))(params)
    sam0 = jax.jit(lambda p: jax.grad(with_sam(_problem(), rho_of=lambda c: c["rho"]))(p, data, cfg, k))(params)
    for u, v in zip(jax.tree_util.tree_leaves(plain), jax.tree_util.tree_leaves(sam0)):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-6)


def test_exact_per_step_identity_of_the_norms_float64():
    """Delta(||w_i||^2 - a_i^2) = eta^2 g^2 (a_i^2 ||x||^2 - (x^T w_i)^2) along 300 steps of the
    block's label-noise SGD (the spec's L1; rel. error <= 1e-9 in float64)."""
    with jax.enable_x64(True):
        params, data = _setup(4)
        params = jax.tree_util.tree_map(lambda v: v.astype(jnp.float64), params)
        data = jax.tree_util.tree_map(lambda v: v.astype(jnp.float64), data)
        cfg = dict(b=1, sigma=4.0, rho=0.0)
        grad = jax.jit(lambda p, k: jax.grad(_problem())(p, data, cfg, k))
        draw1 = jax.jit(lambda k: draw(k, N, 1, "sign", 4.0))
        worst = 0.0
        for t in range(300):
            key = jax.random.PRNGKey(t)
            idx, eps = draw1(key)
            xk = np.asarray(data["x"][idx[0]])
            a, W = np.asarray(params["a"]), np.asarray(params["W"])
            g = float(a @ W @ xk - data["y"][idx[0]] - eps[0])
            params = jax.tree_util.tree_map(lambda p, u: p - LR * u, params, grad(params, key))
            a2, W2 = np.asarray(params["a"]), np.asarray(params["W"])
            lhs = (np.sum(W2 ** 2, 1) - a2 ** 2) - (np.sum(W ** 2, 1) - a ** 2)
            rhs = LR ** 2 * g ** 2 * (a ** 2 * (xk @ xk) - (W @ xk) ** 2)
            worst = max(worst, float(np.max(np.abs(lhs - rhs)) / max(np.max(np.abs(rhs)), 1e-300)))
            if t % 100 == 0:
                ref_l, _ = theory.identity_terms(a, W, xk, g, LR)
                np.testing.assert_allclose(ref_l, lhs, rtol=1e-8, atol=1e-14)
        assert worst <= 1e-9


def test_clock_counts_steps_and_gates_periodic_noise():
    cfg = P.Config(d=3, n=4, m=2, steps=10, log_every=5, sigma=2.0, noise_on=3, noise_off=2)
    params, data = P.setup(jax.random.PRNGKey(0), cfg)
    opt = P.optimizer(cfg)
    state = opt.init(params)

    @jax.jit
    def step(params, state, key):
        g = jax.grad(P.loss)(params, data, cfg, key)
        u, state = opt.update(g, state, params)
        return optax.apply_updates(params, u), state, g["clock"], P.noise_level(params, cfg)

    levels = []
    for t in range(10):
        params, state, g_clock, level = step(params, state, jax.random.PRNGKey(t))
        assert float(g_clock) == 0.0
        levels.append(float(level))
    assert float(params["clock"]) == 10.0
    assert levels == [2.0, 2.0, 2.0, 0.0, 0.0, 2.0, 2.0, 2.0, 0.0, 0.0]
    always = P.Config(d=3, n=4, m=2, steps=10, log_every=5, sigma=2.0)
    assert float(P.noise_level(params, always)) == 2.0


def test_end_state_closed_form_against_direct_evaluation():
    d, m, tn = 20, 7, math.sqrt(20)
    assert theory.end_state_R(d, tn) == pytest.approx(40.0)
    assert theory.minimise_R_numerically(d, m, tn) == pytest.approx(40.0, rel=1e-6)
    # the balanced aligned configuration: w_i = c_i u, a_i = c_i / sqrt(d), sum_i c_i^2 = sqrt(d)||theta*||
    rng = np.random.default_rng(0)
    u = rng.normal(size=d)
    u /= np.linalg.norm(u)
    c = rng.uniform(0.5, 1.5, m)
    c *= math.sqrt(math.sqrt(d) * tn / np.sum(c ** 2))
    params = {"W": jnp.asarray(np.outer(c, u)), "a": jnp.asarray(c / math.sqrt(d))}
    np.testing.assert_allclose(np.asarray(linear_net.theta(params)), tn * u, rtol=1e-5)
    assert float(linear_net.trace_hessian_proxy(params)) == pytest.approx(40.0, rel=1e-5)
    assert float(linear_net.neuron_norms2(params).mean()) == pytest.approx(theory.end_state_mean_norm2(d, m, tn), rel=1e-5)
    # a random interpolator has a larger R
    W = rng.normal(size=(m, d))
    a = np.linalg.lstsq(W.T, tn * u, rcond=None)[0]
    assert float(linear_net.trace_hessian_proxy({"W": jnp.asarray(W), "a": jnp.asarray(a)})) > 40.0


def test_theory_numbers_of_the_spec_and_random_alignment():
    assert theory.escape_time_bound(1e-3, 4.0, 1000) == pytest.approx(1.99e6, rel=0.01)
    assert theory.escape_time_bound(3e-3, 4.0, 250) == pytest.approx(3.96e5, rel=0.01)
    assert theory.phase2_time(1e-3, math.sqrt(20)) == pytest.approx(345.4, rel=0.01)
    assert theory.random_alignment(20) == pytest.approx(0.181, abs=0.001)
    rng = np.random.default_rng(1)
    w = rng.normal(size=(200_000, 10))
    mc = np.mean(np.abs(w[:, 0]) / np.linalg.norm(w, axis=1))
    assert theory.random_alignment(10) == pytest.approx(mc, abs=0.003)


def test_escape_step_and_decay_rate_measurements():
    steps = np.arange(0, 1001, 10.0)
    esc = steps / 400.0  # crosses 1 at t = 400 exactly
    assert P.escape_step(steps, esc) == pytest.approx(400.0)
    assert P.escape_step(steps, esc * 0) == math.inf
    assert P.escape_step(steps, 0.5 + steps / 330.0) == pytest.approx(165.0)
    v = 2.0 * np.exp(-1e-3 * steps)
    assert P.decay_rate(steps, v) == pytest.approx(1e-3, rel=1e-6)


def test_unstable_step_size_is_a_one_line_config_error():
    from theorylab.config import ConfigError

    with pytest.raises(ConfigError, match="lr"):
        P.Config(m=4000, lr=1e-3).check()


def test_smoke_preset_end_to_end(tmp_path):
    run = theorylab.run(P.PHASES, preset="smoke", out=tmp_path / "smoke")
    assert run.ok
    df = run.results
    assert set(df["cell"]) == {"sigma=4", "sigma=0", "SAM rho=0.1", "esc:sigma=4,eta=0.008"}
    last = df[df["step"] == df["step"].max()].groupby("cell")
    # the label-noise run shrinks its neurons and aligns them; sigma = 0 stays lazy (much less change)
    assert last["w_norm2_mean"].mean()["sigma=4"] < 0.4
    assert last["align_cos"].mean()["sigma=4"] > 0.5
    assert last["laziness"].mean()["sigma=0"] < 0.5 * last["laziness"].mean()["sigma=4"]
    assert {c.id for c in run.claims} >= {"L3-lazy", "L5-alignment", "L6-end-state", "L9-sam"}
    assert (tmp_path / "smoke" / "figures" / "phases.png").exists()


def test_diagonal_label_noise_gradient_is_the_scripts_step():
    """Shape Matters' script: full-batch gradient of (1/(4n)) sum (y - f)^2 plus -delta z (v ⊙ x_k)."""
    from theorylab.papers import shape_matters as S

    cfg = S.Config(d=7, n=5, k=2, steps=10, log_every=5, delta=0.7, alpha=0.9)
    v, data = S.setup(jax.random.PRNGKey(0), cfg)
    v = v + 0.1 * jnp.arange(7.0)
    key = jax.random.PRNGKey(11)
    g = np.asarray(jax.jit(lambda v: jax.grad(S.loss)(v, data, cfg, key))(v))
    idx, eps = draw(key, cfg.n, 1, "gaussian", cfg.delta)
    x, y, vv = np.asarray(data["x"]), np.asarray(data["y"]), np.asarray(v)
    r = y - x @ (vv * vv)
    ref = -(x.T @ r) * vv / cfg.n - float(eps[0]) * vv * x[int(idx[0])]
    np.testing.assert_allclose(g, ref, rtol=1e-4, atol=1e-6)
    # the lr schedule: /10 at decay1 and again at decay2
    opt = S.optimizer(S.Config(lr=0.5, decay1=2, decay2=4, steps=10, log_every=5))
    st = opt.init(jnp.zeros(1))
    seen = []
    for _ in range(6):
        u, st = opt.update(jnp.ones(1), st)
        seen.append(-float(u[0]))
    np.testing.assert_allclose(seen, [0.5, 0.5, 0.05, 0.05, 0.005, 0.005], rtol=1e-6)


def test_oscillation_control_step_is_the_papers_update():
    """GD on the oscillation loss: w_i <- w_i - eta a_i Sigma_hat (theta - theta*), a <- the chain's next state."""
    cfg = P.Config(d=4, n=30, m=6, steps=10, log_every=5, lr=1e-2, sigma=0.0, a_dynamics="markov")
    params, data = jax.jit(P.setup, static_argnums=1)(jax.random.PRNGKey(0), cfg)
    c = cfg.lr ** 0.25
    a0 = np.asarray(params["a"])
    assert np.all(np.isin(np.round(np.abs(a0) / c, 6), [0.0, 1.0]))
    key = jax.random.PRNGKey(5)
    step = jax.jit(lambda p: jax.tree_util.tree_map(lambda x, g: x - cfg.lr * g, p, jax.grad(P.loss)(p, data, cfg, key)))
    new = step(params)
    x, W = np.asarray(data["x"], float), np.asarray(params["W"], float)
    grad_theta = x.T @ (x @ (W.T @ a0) - np.asarray(data["y"])) / cfg.n  # Sigma_hat (theta - theta*)
    np.testing.assert_allclose(np.asarray(new["W"]), W - cfg.lr * np.outer(a0, grad_theta), rtol=1e-4, atol=1e-6)
    a_next = np.asarray(P.markov_step(key, params["a"], c))
    np.testing.assert_allclose(np.asarray(new["a"]), a_next, atol=1e-6)
    assert np.all((np.abs(a0) > 0) == (a_next == 0))  # +-c -> 0 and 0 -> +-c
