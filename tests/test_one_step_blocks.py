"""Reference tests of the one-step feature-learning blocks (Ba et al., arXiv:2205.01445): the
first-layer gradient against the paper's formula and finite differences, the LAPACK-free ridge,
the ridge deterministic equivalent and the Gaussian-equivalent risk against direct simulation,
the one-large-step update, the spike statistics against an SVD."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from theorylab.data.hermite_expansion import link_np

from theorylab.data.hermite_expansion import gaussian_moments
from theorylab.models import ridge, two_layer
from theorylab.optim.one_step import one_large_step
from theorylab.theory import one_step_ridge as theory


def _problem(d=16, width=24, n=40, seed=0):
    kw, kx, ky = jax.random.split(jax.random.PRNGKey(seed), 3)
    w, a = two_layer.init(kw, d, width)
    x = jax.random.normal(kx, (n, d))
    y = jnp.tanh(x[:, 0]) + 0.1 * jax.random.normal(ky, (n,))
    return w, a, x, y


def test_gradient_is_the_papers_g0():
    """-grad_W L = G_0 = (1/n) X^T [((1/sqrt N)(y - f) a^T) * sigma'(X W_0)] (Ba et al., eq. (2.3))."""
    w, a, x, y = _problem()
    width = w.shape[1]
    f = two_layer.apply(w, a, x, "erf")
    dsig = 2 / math.sqrt(math.pi) * jnp.exp(-(x @ w) ** 2)
    g0 = x.T @ (((y - f)[:, None] * a[None, :]) / math.sqrt(width) * dsig) / x.shape[0]
    grad = jax.grad(two_layer.half_mse)(w, a, x, y, "erf")
    np.testing.assert_allclose(-grad, g0, rtol=1e-4, atol=1e-7)


def test_gradient_against_central_differences():
    """Directional derivatives of the loss (float32 central differences, step 1e-2 along unit
    directions) agree with the autodiff gradient within 1% of its norm."""
    kw, kx, kv = jax.random.split(jax.random.PRNGKey(0), 3)
    w, a = two_layer.init(kw, 12, 20)
    x = jax.random.normal(kx, (30, 12))
    y = jnp.sin(x[:, 0])
    loss = jax.jit(lambda w: two_layer.half_mse(w, a, x, y, "tanh"))
    g = jax.grad(lambda w: two_layer.half_mse(w, a, x, y, "tanh"))(w)
    for i in range(4):
        v = jax.random.normal(jax.random.fold_in(kv, i), w.shape)
        v = v / jnp.linalg.norm(v)
        h = 1e-2
        fd = (loss(w + h * v) - loss(w - h * v)) / (2 * h)
        assert abs(float(fd - jnp.sum(g * v))) <= 1e-2 * float(jnp.linalg.norm(g)), (fd, jnp.sum(g * v))


def test_ridge_fit_matches_numpy_in_both_forms():
    rng = np.random.default_rng(0)
    for n, width in ((50, 20), (20, 50)):  # primal (N <= n) and dual (N > n)
        phi = rng.normal(size=(n, width)) / math.sqrt(width)
        y = rng.normal(size=n)
        lam = 1e-2 / width
        ref = np.linalg.solve(phi.T @ phi / n + lam * np.eye(width), phi.T @ y / n)
        got = ridge.ridge_fit(jnp.asarray(phi, jnp.float32), jnp.asarray(y, jnp.float32), lam)
        np.testing.assert_allclose(got, ref, rtol=2e-3, atol=2e-4)


def test_ridge_deterministic_equivalent_against_gaussian_design():
    rng = np.random.default_rng(1)
    p, n, lam, noise = 100, 200, 0.05, 0.5
    cov = np.diag(rng.uniform(0.1, 2, p))
    theta = rng.normal(size=p) / math.sqrt(p)
    risks = []
    for _ in range(60):
        x = rng.normal(size=(n, p)) * np.sqrt(np.diag(cov))
        y = x @ theta + noise * rng.normal(size=n)
        t = np.linalg.solve(x.T @ x / n + lam * np.eye(p), x.T @ y / n)
        risks.append((t - theta) @ cov @ (t - theta))
    pred = theory.ridge_excess_risk(cov, theta, noise**2, lam, n)
    se = np.std(risks) / np.sqrt(len(risks))
    assert abs(np.mean(risks) - pred) < 3 * se + 0.02 * pred, (np.mean(risks), se, pred)


def test_ge_risk_against_random_features_simulation():
    """At d = 100, N = 200, n = 400 (erf/erf) the simulated RF ridge risk is within 10% of the GE
    prediction on the same W (the proportional limit is exact only as d -> infinity)."""
    erf = link_np("erf")
    rng = np.random.default_rng(0)
    d, width, n, lam, noise = 100, 200, 400, 1e-2, 0.1
    sims, preds = [], []
    for _ in range(6):
        w = rng.normal(size=(d, width)) / math.sqrt(d)
        beta = rng.normal(size=d)
        beta /= np.linalg.norm(beta)
        x = rng.normal(size=(n, d))
        y = erf(x @ beta) + noise * rng.normal(size=n)
        xt = rng.normal(size=(4000, d))
        phi, phit = erf(x @ w) / math.sqrt(width), erf(xt @ w) / math.sqrt(width)
        a = np.linalg.solve(phi.T @ phi / n + lam / width * np.eye(width), phi.T @ y / n)
        sims.append(np.mean((phit @ a - erf(xt @ beta)) ** 2))
        preds.append(theory.ge_risk(w, beta, "erf", "erf", lam, n, noise))
    assert abs(np.mean(sims) - np.mean(preds)) / np.mean(preds) < 0.1
    assert np.mean(sims) > theory.kernel_lower_bound("erf")


def test_theory_constants_of_the_spec():
    np.testing.assert_allclose([theory.kernel_lower_bound(t) for t in ("erf", "tanh", "softplus", "relu")],
                               [0.0401, 0.0274, 0.0215, 0.0908], atol=6e-5)
    np.testing.assert_allclose([theory.spike_alignment("erf", p, 0.1) for p in (1, 2, 4, 8, 16, 32)],
                               [0.472, 0.641, 0.782, 0.877, 0.935, 0.966], atol=6e-4)
    assert abs(gaussian_moments("erf")[1] - 0.6515) < 1e-4


def test_one_large_step_moves_once():
    opt = one_large_step(0.5)
    p = jnp.ones(3)
    g = jnp.array([1.0, -2.0, 3.0])
    s = opt.init(p)
    u1, s = opt.update(g, s, p)
    u2, s = opt.update(g, s, p)
    np.testing.assert_allclose(u1, -0.5 * g)
    np.testing.assert_allclose(u2, 0.0)


def test_spike_statistics_match_an_svd():
    from theorylab.papers import one_step

    cfg = one_step.Config(d=32, psi1=4.0, psi2=2.0, n_test=100, power_iters=150, eta=1.0, alpha=0.5)
    w0, data = jax.jit(lambda k: one_step.setup(k, cfg))(jax.random.PRNGKey(0))
    g = jax.jit(jax.grad(lambda w: one_step.loss(w, data, cfg, None)))(w0)
    w1 = w0 - cfg.step() * math.sqrt(cfg.width) * g
    observe = jax.jit(lambda w: one_step.observe(w, data, cfg))
    obs = observe(w1)
    u, s, _ = np.linalg.svd(np.asarray(w1 - w0, np.float64))
    assert abs(float(obs["s1_over_s2"]) - s[0] / s[1]) / (s[0] / s[1]) < 0.05
    assert abs(float(obs["cos2_beta"]) - float(u[:, 0] @ np.asarray(data["beta"])) ** 2) < 1e-3
    obs0 = observe(w0)
    assert float(obs0["s1_over_s2"]) == 0.0 and np.isfinite(float(obs0["risk"]))


def test_kernel_ridge_baseline_matches_a_direct_solve():
    """The kernel baseline of one-step/feature-learning (CG on (1 + <x, x'>/d)^3 with relative
    penalties, oracle over the grid) against numpy float64 solves of the same systems on the
    run's own ridge sample and test set: every penalty's risk within 1%, the same oracle choice,
    and the risk above mu_2*^2 at n / d = 4 (the kernel barrier of arXiv:2205.01445, Section 3)."""
    from theorylab.models import prompt_krr
    from theorylab.papers import one_step

    cfg = one_step.Config(d=32, psi1=4.0, psi2=2.0, n_test=600, krr_degree=3)
    _, data = jax.jit(lambda k: one_step.setup(k, cfg))(jax.random.PRNGKey(1))
    xr, yr, xt, ft = (np.asarray(data[k], np.float64) for k in ("x_ridge", "y_ridge", "x_test", "f_test"))
    kmat = (1 + xr @ xr.T / cfg.d) ** 3
    kt = (1 + xt @ xr.T / cfg.d) ** 3
    scale = np.mean(np.diag(kmat))
    direct, preds = [], []
    for lam in one_step.KRR_LAMS:
        pred = kt @ np.linalg.solve(kmat + lam * scale * np.eye(len(yr)), yr)
        preds.append(pred)
        direct.append(np.mean((pred - ft) ** 2))
    cg = np.asarray(prompt_krr.fit_predict(data["x_ridge"], data["y_ridge"], data["x_test"],
                                           jnp.asarray(one_step.KRR_LAMS), 3, one_step.KRR_ITERS))
    for j in range(len(preds)):
        np.testing.assert_allclose(cg[j], preds[j], atol=1e-3 * np.abs(preds[j]).max())
    best = int(np.argmin(direct))
    np.testing.assert_allclose(float(data["krr_risk"]), direct[best], rtol=1e-2)
    assert float(data["krr_lam"]) == np.float32(one_step.KRR_LAMS[best])
    sq = (preds[best] - ft) ** 2
    np.testing.assert_allclose(float(data["krr_se"]), np.std(sq) / np.sqrt(len(ft)), rtol=2e-2)
    assert direct[best] > theory.kernel_lower_bound("erf")
    # without a kernel baseline the observables are NaN (and nothing is solved)
    _, data0 = jax.jit(lambda k: one_step.setup(k, dataclasses.replace(cfg, krr_degree=0)))(jax.random.PRNGKey(1))
    assert np.isnan(float(data0["krr_risk"]))
