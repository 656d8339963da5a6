"""The mean-field blocks against plain references: the MFLD particle update (gradient and noise
scale) against a per-particle loop, the particle velocity against finite differences, the
Hessian-guided kick against the testbed's closed form, the PWGF controller's jump / wait /
stop logic, and the linearised escape-time formula against a direct integration of the flow."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from theorylab.models import mean_field
from theorylab.optim import mfld, pwgf
from theorylab.theory import pwgf_saddle as theory


# --- a small mean-field regression: h_z(x) = tanh(w^T z + b), x = (w, b) ------------------

def _regression(seed=0, n=7, d=3, N=6):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    x = rng.standard_normal((N, d + 1)).astype(np.float32)
    return z, y, x


def _objective(z, y, lam1):
    zz = jnp.concatenate([z, jnp.ones((z.shape[0], 1))], axis=1)

    def F(x, data=None, cfg=None, key=None):
        phi = lambda xj: jnp.tanh(zz @ xj)  # noqa: E731
        outer = lambda f: 0.5 * jnp.mean((f - y) ** 2)  # noqa: E731
        return mean_field.objective(phi, outer, x, lambda xj: jnp.sum(xj**2), lam1)

    return F


def _reference_drift(z, y, x, lam1):
    """[N, p]: grad_x dF/dmu(mu_X, x_j), one particle at a time (plain numpy, float64)."""
    z, y, x = (np.asarray(a, np.float64) for a in (z, y, x))
    zz = np.concatenate([z, np.ones((len(z), 1))], axis=1)
    f = np.mean([np.tanh(zz @ xj) for xj in x], axis=0)  # [n] network outputs
    out = []
    for xj in x:
        pre = zz @ xj
        g = np.mean(((f - y) * (1 - np.tanh(pre) ** 2))[:, None] * zz, axis=0)
        out.append(g + lam1 * 2 * xj)
    return np.array(out)


def test_mfld_update_is_the_per_particle_langevin_step():
    z, y, x = _regression()
    lam1, lr, temp = 0.01, 0.05, 0.02
    loss = mfld.langevin_loss(_objective(z, y, lam1))
    params = mfld.init(jnp.asarray(x))
    key = jax.random.PRNGKey(3)
    opt = mfld.mfld(lr, temp)

    @jax.jit
    def step(params, key):
        value, grads = jax.value_and_grad(loss)(params, None, None, key)
        return value, optax.apply_updates(params, opt.update(grads, opt.init(params), params)[0])

    value, new = step(params, key)
    xi = np.asarray(jax.random.normal(mfld.split_step_key(key)[1], x.shape))
    ref = x - lr * _reference_drift(z, y, x, lam1) + np.sqrt(2 * temp * lr) * xi
    np.testing.assert_allclose(np.asarray(new["x"]), ref, rtol=1e-5, atol=1e-6)
    assert float(value) == pytest.approx(float(_objective(z, y, lam1)(jnp.asarray(x))), rel=1e-6)
    assert np.all(np.asarray(new["probe"]["noise"]) == 0)  # the probe stays at zero


def test_mfld_noise_has_scale_sqrt_2_lambda_eta_and_is_fresh_per_key():
    x = jnp.zeros((2000, 5))
    loss = mfld.langevin_loss(lambda x, d, c, k: jnp.float32(0.0) * jnp.sum(x))  # no drift
    lr, temp = 0.1, 0.3
    opt = mfld.mfld(lr, temp)
    params = mfld.init(x)
    steps = []
    for t in range(2):
        grads = jax.grad(loss)(params, None, None, jax.random.PRNGKey(t))
        steps.append(np.asarray(opt.update(grads, opt.init(params), params)[0]["x"]))
    s = steps[0].ravel()
    assert np.std(s) == pytest.approx(np.sqrt(2 * temp * lr), rel=0.03)
    assert abs(np.mean(s)) < 4 * np.sqrt(2 * temp * lr) / np.sqrt(s.size)
    assert abs(np.corrcoef(steps[0].ravel(), steps[1].ravel())[0, 1]) < 0.05


def test_velocity_matches_finite_differences():
    z, y, x = _regression(seed=1)
    F = jax.jit(_objective(z, y, 0.01))
    x64 = np.asarray(x, np.float64)
    v = np.asarray(mean_field.velocity(lambda xj: jnp.tanh(jnp.concatenate([jnp.asarray(z), jnp.ones((len(z), 1))], 1) @ xj),
                                       lambda f: 0.5 * jnp.mean((f - jnp.asarray(y)) ** 2), jnp.asarray(x),
                                       lambda xj: jnp.sum(xj**2), 0.01))
    eps = 1e-3
    fd = np.zeros_like(x64)
    for j in range(x.shape[0]):
        for k in range(x.shape[1]):
            e = np.zeros_like(x64)
            e[j, k] = eps
            fd[j, k] = (float(F(jnp.asarray(x64 + e, jnp.float32))) - float(F(jnp.asarray(x64 - e, jnp.float32)))) / (2 * eps)
    np.testing.assert_allclose(v, -x.shape[0] * fd, rtol=2e-2, atol=2e-3)
    np.testing.assert_allclose(v, -_reference_drift(z, y, x, 0.01), rtol=1e-4, atol=1e-5)


# --- the PWGF testbed (32 x 2 particles, F = 1/4 |A A^T - M*|^2) --------------------------

def _testbed():
    M = jnp.asarray(theory.target(), jnp.float32)

    def outer(a):
        A = a.reshape(32, 2)
        return 0.25 * jnp.sum((A @ A.T - M) ** 2)

    return jnp.tanh, outer, M


def test_hessian_kick_matches_the_closed_form():
    phi, outer, M = _testbed()
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((40, 64)) + 0.3, jnp.float32)  # A != 0
    g = jnp.asarray(rng.standard_normal((40, 64)), jnp.float32)
    kick = jax.jit(lambda x, g: mean_field.hessian_kick(phi, outer, x, g))(x, g)
    X, G = np.asarray(x, np.float64).reshape(40, 32, 2), np.asarray(g, np.float64).reshape(40, 32, 2)
    J = 1 - np.tanh(X) ** 2
    A = np.tanh(X).mean(0)
    B = (J * G).sum(0) / np.sqrt(40)
    LB = (A @ A.T - np.asarray(M)) @ B + B @ A.T @ A + A @ B.T @ A
    np.testing.assert_allclose(np.asarray(kick).reshape(40, 32, 2), J * LB[None], rtol=1e-4, atol=1e-5)


def test_symmetric_pairs_give_an_exact_saddle():
    phi, outer, _ = _testbed()
    z = jax.random.normal(jax.random.PRNGKey(0), (512, 64))
    x = jnp.stack([z, -z], axis=1).reshape(1024, 64)
    a, v = jax.jit(lambda x: (mean_field.mean_features(phi, x), mean_field.velocity(phi, outer, x)))(x)
    assert np.all(np.asarray(a) == 0)
    assert np.all(np.asarray(v) == 0)


def _pwgf_step(loss, opt, params, t):
    return _stepper(loss, opt)(params, jax.random.PRNGKey(t))


_STEPPERS = {}


def _stepper(loss, opt):
    """One compiled engine step (value_and_grad -> update -> apply) per (loss, optimizer)."""
    if (loss, opt) not in _STEPPERS:
        def step(params, key):
            grads = jax.grad(loss)(params, None, None, key)
            updates, _ = opt.update(grads, opt.init(params), params)
            return optax.apply_updates(params, updates)

        _STEPPERS[(loss, opt)] = jax.jit(step)
    return _STEPPERS[(loss, opt)]


def test_controller_jumps_waits_and_returns_the_saved_state():
    phi, outer, _ = _testbed()
    z = jax.random.normal(jax.random.PRNGKey(1), (8, 64))
    x0 = jnp.stack([z, -z], axis=1).reshape(16, 64)
    F = lambda x, d, c: mean_field.objective(phi, outer, x)  # noqa: E731
    # isotropic kicks of size 1e-3 barely change F at the saddle: jump at t = 0, wait 4 steps, stop
    loss = pwgf.pwgf_loss(F, "isotropic")
    opt = pwgf.pwgf(0.05, 1e-3, 0.01, 1e-3, wait_steps=4, insp_every=2)
    params = pwgf.init(x0)
    params = _pwgf_step(loss, opt, params, 0)
    c = params["ctrl"]
    assert float(c["mode"]) == pwgf.WAITING and float(c["jumps"]) == 1 and float(c["t_first_jump"]) == 0
    assert not np.allclose(np.asarray(params["x"]), np.asarray(x0))
    for t in range(1, 5):
        params = _pwgf_step(loss, opt, params, t)
        assert float(params["ctrl"]["mode"]) == (pwgf.STOPPED if t == 4 else pwgf.WAITING)
    np.testing.assert_allclose(np.asarray(params["x"]), np.asarray(x0), atol=1e-6)  # the pre-jump state
    assert float(loss(params, None, None, jax.random.PRNGKey(9))) < pwgf.stop_below(None)
    # a frozen run stays put
    again = _pwgf_step(loss, opt, params, 5)
    np.testing.assert_array_equal(np.asarray(again["x"]), np.asarray(params["x"]))
    # static: the plain flow, no controller: the saddle never moves
    loss_s, opt_s = pwgf.pwgf_loss(F, "static"), pwgf.pwgf(0.05, 0.2, 0.01, 1e-3, wait_steps=4, insp_every=2,
                                                              controlled=False)
    p = pwgf.init(x0)
    for t in range(3):
        p = _pwgf_step(loss_s, opt_s, p, t)
    np.testing.assert_array_equal(np.asarray(p["x"]), np.asarray(x0))
    assert float(p["ctrl"]["jumps"]) == 0


def test_euler_step_is_the_velocity_step_and_rk4_is_exact_on_a_linear_field():
    phi, outer, _ = _testbed()
    x = jax.random.normal(jax.random.PRNGKey(2), (8, 64))
    F = lambda x, d, c: mean_field.objective(phi, outer, x)  # noqa: E731
    loss = pwgf.pwgf_loss(F, "static")
    params = pwgf.init(x)
    new = _pwgf_step(loss, pwgf.pwgf(0.05, 0.2, 0.0, 1e-3, wait_steps=4, insp_every=2, controlled=False), params, 0)
    np.testing.assert_allclose(np.asarray(new["x"]), np.asarray(x + 0.05 * mean_field.velocity(phi, outer, x)),
                               rtol=1e-6, atol=1e-7)
    out = pwgf.rk4_step(lambda y: -y, jnp.ones((2, 2)), 0.1)  # x' = -x: RK4 error O(dt^5)
    np.testing.assert_allclose(np.asarray(out), np.exp(-0.1), rtol=1e-6)


# --- the escape-time formula against a direct integration of the particle flow -------------

def _flow_escape(e1, e2, N=4096, dt=0.05, t_max=40.0):
    """(a0 = |u2^T A| at t = 0, growth rates of |u1^T A|, |u2^T A| while small, escape time)."""
    rng = np.random.default_rng(0)
    u1, u2 = theory.directions()
    M = theory.target()
    z = rng.standard_normal((N // 2, 32, 2))
    x = np.concatenate([z, -z]) + e1 * np.outer(u1, [1, 0]) + e2 * np.outer(u2, [0, 1])
    ts, a1, a2 = [], [], []
    t = 0.0
    while t < t_max:
        A = np.tanh(x).mean(0)
        ts.append(t)
        a1.append(np.linalg.norm(u1 @ A))
        a2.append(np.linalg.norm(u2 @ A))
        if 0.25 * np.sum((A @ A.T - M) ** 2) < theory.ESCAPE_F:
            break
        x = x - dt * (1 - np.tanh(x) ** 2) * ((A @ A.T - M) @ A)
        t += dt
    ts, a1, a2 = map(np.array, (ts, a1, a2))
    r1 = np.polyfit(ts[a1 < 0.01], np.log(a1[a1 < 0.01]), 1)[0]
    r2 = np.polyfit(ts[a2 < 0.01], np.log(a2[a2 < 0.01]), 1)[0]
    return a2[0], r1, r2, ts[-1]


def test_escape_time_formula_against_direct_integration():
    assert theory.sbar() == pytest.approx(0.4646, abs=1e-3)
    for e2 in (1e-3, 1e-2):
        a0, r1, r2, t_esc = _flow_escape(1e-2, e2)
        assert r1 == pytest.approx(theory.sbar(), rel=0.03)  # u1-part grows at sbar
        assert r2 == pytest.approx(theory.growth_rate_u2(), rel=0.03)  # u2-part at sbar / 2
        assert t_esc == pytest.approx(float(theory.escape_time(a0)), rel=0.1)


def test_hessian_kick_size_at_the_saddle_matches_the_theory():
    """The part of u2^T A orthogonal to u1^T A right after a Hessian-guided jump of size eta_p
    from the symmetric saddle: median over draws = 0.674 eta_p sbar sqrt(sbar) / 2."""
    phi, outer, _ = _testbed()
    u1, u2 = (jnp.asarray(u, jnp.float32) for u in theory.directions())
    z = jax.random.normal(jax.random.PRNGKey(0), (1024, 64))
    x = jnp.stack([z, -z], axis=1).reshape(2048, 64)
    eta_p = 0.2

    @jax.jit
    def a_perp(key):
        g = jax.random.normal(key, x.shape)
        A = mean_field.mean_features(phi, x + eta_p * mean_field.hessian_kick(phi, outer, x, g)).reshape(32, 2)
        c1, c2 = u1 @ A, u2 @ A
        return jnp.abs(c1[0] * c2[1] - c1[1] * c2[0]) / jnp.linalg.norm(c1)

    draws = np.array([float(a_perp(jax.random.PRNGKey(k))) for k in range(300)])
    predicted = theory.MEDIAN_ABS_NORMAL * theory.a0_hessian(eta_p)
    assert np.median(draws) == pytest.approx(predicted, rel=0.15), np.median(draws) / predicted
