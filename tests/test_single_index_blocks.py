"""Reference tests of the single-index blocks: Hermite coefficients against closed forms,
generators' statistics, the spherical retraction, the overlap ODE against direct integration."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from theorylab.data import gaussian_single_index as gsi
from theorylab.data import hermite_expansion as he
from theorylab.optim.online import online_loss
from theorylab.optim.sphere import on_sphere, retract
from theorylab.theory import overlap_ode as ode

SQ2PI = math.sqrt(2 * math.pi)


def test_hermite_orthonormal_and_derivative():
    z, w = np.polynomial.hermite_e.hermegauss(60)
    w = w / SQ2PI
    gram = np.array([[np.sum(w * he.hermite(j, z) * he.hermite(k, z)) for k in range(7)] for j in range(7)])
    np.testing.assert_allclose(gram, np.eye(7), atol=1e-10)
    # h_k' = sqrt(k) h_{k-1}
    for k in range(1, 6):
        num = (he.hermite(k, z + 1e-6) - he.hermite(k, z - 1e-6)) / 2e-6
        np.testing.assert_allclose(num, math.sqrt(k) * he.hermite(k - 1, z), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name, expected", [
    # relu: c_0 = 1/sqrt(2 pi), c_1 = 1/2, c_2 = 1/(2 sqrt(pi)), c_3 = 0, c_4 = -1/(sqrt(2 pi) sqrt(24))
    ("relu", [1 / SQ2PI, 0.5, 1 / (2 * math.sqrt(math.pi)), 0.0, -1 / (SQ2PI * math.sqrt(24))]),
    # |z| = 2 relu(z) - z
    ("abs", [2 / SQ2PI, 0.0, 1 / math.sqrt(math.pi), 0.0, -2 / (SQ2PI * math.sqrt(24))]),
    # erf: c_k = E[erf^(k)(z)] / sqrt(k!) (Stein): c_1 = 2 / sqrt(3 pi), c_3 = -4 / (3 sqrt(3 pi) sqrt(6))
    ("erf", [0.0, 2 / math.sqrt(3 * math.pi), 0.0, -4 / (3 * math.sqrt(3 * math.pi) * math.sqrt(6)), 0.0]),
    ("square", [1.0, 0.0, math.sqrt(2), 0.0, 0.0]),
    ("h3", [0.0, 0.0, 0.0, 1.0, 0.0]),
])
def test_coefficients_match_closed_forms(name, expected):
    np.testing.assert_allclose(he.coefficients(name, 4), expected, atol=2e-6)


def test_information_exponents():
    expected = dict(h1=1, h2=2, h3=3, h4=4, h5=5, h6=6, relu=1, tanh=1, erf=1, softplus=1, abs=2, square=2)
    assert {n: he.information_exponent(n) for n in expected} == expected


def test_gaussian_moments_of_erf_and_tanh():
    m0, m1, m2 = he.gaussian_moments("erf")
    assert abs(m0) < 1e-12 and abs(m1 - 2 / math.sqrt(3 * math.pi)) < 1e-9
    assert abs(m2**2 - (2 / math.pi * math.asin(2 / 3) - m1**2)) < 1e-9  # E erf^2 = (2/pi) asin(2/3)
    # tanh: against a direct trapezoid integral
    z = np.linspace(-14, 14, 400001)
    dens = np.exp(-z * z / 2) / SQ2PI
    t1 = np.trapezoid(z * np.tanh(z) * dens, z)
    t2 = np.trapezoid(np.tanh(z) ** 2 * dens, z)
    _, g1, g2 = he.gaussian_moments("tanh")
    assert abs(g1 - t1) < 1e-8 and abs(g2**2 - (t2 - t1**2)) < 1e-8


@pytest.mark.parametrize("a, b", [("tanh", "relu"), ("h2", "abs"), ("erf", "h3")])
def test_correlation_is_sum_of_coefficient_products(a, b):
    """E[sigma_a(<w,x>) sigma_b(<beta,x>)] = sum_k c_k(a) c_k(b) m^k, by 2-d quadrature at m = 0.4."""
    m = 0.4
    z = np.linspace(-9, 9, 1201)
    u, v = np.meshgrid(z, z, indexing="ij")
    dens = np.exp(-(u * u + v * v) / 2) / (2 * math.pi) * (z[1] - z[0]) ** 2
    direct = np.sum(dens * he.link_np(a)(u) * he.link_np(b)(m * u + math.sqrt(1 - m * m) * v))
    series = np.sum(he.coefficients(a, 30) * he.coefficients(b, 30) * m ** np.arange(31))
    assert abs(direct - series) < 2e-4


def test_with_overlap_and_spiked_inputs():
    key = jax.random.PRNGKey(0)
    beta = gsi.unit_vector(key, 50)
    w = gsi.with_overlap(jax.random.PRNGKey(1), beta, 0.3)
    assert abs(float(jnp.linalg.norm(w)) - 1) < 1e-6 and abs(float(w @ beta) - 0.3) < 1e-6
    theta = gsi.unit_vector(jax.random.PRNGKey(2), 6)
    x = gsi.spiked_inputs(jax.random.PRNGKey(3), 100_000, theta, 4.0)
    emp = np.cov(np.asarray(x).T)
    sigma = (np.eye(6) + 4.0 * np.outer(theta, theta)) / 5.0
    np.testing.assert_allclose(emp, sigma, atol=0.015)
    v = jnp.arange(6.0)
    np.testing.assert_allclose(gsi.spiked_cov_apply(v, theta, 4.0), sigma @ np.arange(6.0), rtol=1e-5)


def test_single_index_labels_project_on_their_hermite_coefficient():
    beta = gsi.unit_vector(jax.random.PRNGKey(0), 20)
    x, y = gsi.single_index_batch(jax.random.PRNGKey(1), 100_000, beta, "relu", zeta=0.5)
    z = x @ beta
    for k, c in enumerate(he.coefficients("relu", 3)):
        est = float(jnp.mean(y * he.hermite(k, z)))
        assert abs(est - c) < 6 / math.sqrt(100_000)
    assert abs(float(jnp.var(y - jnp.maximum(z, 0))) - 0.25) < 0.01


def test_retraction_stays_on_the_sphere_and_is_first_order_a_projection():
    w = gsi.unit_vector(jax.random.PRNGKey(0), 30)
    u = 1e-4 * jax.random.normal(jax.random.PRNGKey(1), (30,))
    step = retract(u, w)
    assert abs(float(jnp.linalg.norm(w + step)) - 1) < 1e-6
    np.testing.assert_allclose(step, u - (u @ w) * w, atol=1e-7)
    # Sigma-sphere: |w + step|_Sigma = 1 for a Sigma-normalised w
    theta = gsi.unit_vector(jax.random.PRNGKey(2), 30)
    sig = lambda v: gsi.spiked_cov_apply(v, theta, 9.0)  # noqa: E731
    ws = w / jnp.sqrt(w @ sig(w))
    new = ws + retract(10 * u, ws, sig)
    assert abs(float(new @ sig(new)) - 1) < 1e-5
    # weight normalisation: a population gradient Sigma a leaves w = a / |a|_Sigma fixed (the
    # constrained optimum), and moves w = Sigma a / |Sigma a|_Sigma (the spherical optimum)
    a_dir = gsi.unit_vector(jax.random.PRNGKey(5), 30) + 2 * theta
    at_a = a_dir / jnp.sqrt(a_dir @ sig(a_dir))
    assert float(jnp.linalg.norm(retract(1e-3 * sig(a_dir), at_a, sig))) < 1e-6
    at_sa = sig(a_dir) / jnp.sqrt(sig(a_dir) @ sig(sig(a_dir)))
    assert float(jnp.linalg.norm(retract(1e-3 * sig(a_dir), at_sa, sig))) > 1e-5
    # as an optax chain on a layer [m, d]: every row stays unit
    layer = jax.random.normal(jax.random.PRNGKey(3), (4, 30))
    layer = layer / jnp.linalg.norm(layer, axis=1, keepdims=True)
    opt = optax.chain(optax.sgd(0.1), on_sphere())
    upd, _ = opt.update(jax.random.normal(jax.random.PRNGKey(4), (4, 30)), opt.init(layer), layer)
    np.testing.assert_allclose(jnp.linalg.norm(layer + upd, axis=1), 1.0, atol=1e-6)


def test_online_loss_draws_from_the_step_key():
    loss = online_loss(lambda key, data, cfg: jax.random.normal(key, (3,)), lambda p, b, data, cfg: jnp.sum(p * b))
    k1, k2 = jax.random.PRNGKey(1), jax.random.PRNGKey(2)
    assert float(loss(jnp.ones(3), None, None, k1)) == float(loss(jnp.ones(3), None, None, k1))
    assert float(loss(jnp.ones(3), None, None, k1)) != float(loss(jnp.ones(3), None, None, k2))


def test_ode_hitting_time_matches_direct_integration_and_spec_numbers():
    for k, d in ((1, 128), (2, 128), (3, 64)):
        t_quad = ode.hitting_time(k, d, 0.5)
        # direct: iterate the per-step map m <- m + drift(m) (the ODE with unit time steps)
        m, t, eta = 1 / math.sqrt(d), 0, ode.step_size(k, d, 0.5)
        while m < 0.5:
            m += float(ode.drift(m, k, d, eta))
            t += 1
        assert abs(t - t_quad) / t_quad < 0.01, (k, d, t, t_quad)
        # Runge-Kutta trajectory crosses 1/2 at the quadrature time
        times = np.linspace(0, 2 * t_quad, 401)
        traj = ode.trajectory(k, d, 0.5, times)
        assert abs(np.interp(0.5, traj, times) - t_quad) / t_quad < 0.01
    # the constant-noise ODE's T_1/2 of the spec (c = 0.5, m_0 = 1/sqrt(d)): k = 1, d = 64..512
    got = [ode.hitting_time(1, d, 0.5) for d in (64, 128, 256, 512)]
    np.testing.assert_allclose(got, [60, 130, 273, 565], rtol=0.01)
    # k = 3 large-d limit: T_1/2 / d^2 -> tau_esc = (2 / 3c^2) ln(mu0 / (mu0 - c/2)) = 0.767
    assert abs(ode.escape_time_k3(0.5) - 0.7672) < 1e-3
    assert abs(ode.hitting_time(3, 2**16, 0.5) / 2**32 - ode.escape_time_k3(0.5)) < 0.01
    assert math.isinf(ode.hitting_time(3, 64, 3.0))  # mu0 <= c/2: no escape


def test_gradient_moment_closed_forms():
    m = np.array([0.0, 0.3, 0.7])
    np.testing.assert_allclose(ode.gradient_moment(2, m), 2 * (1 + 4 * m**2), rtol=1e-3)
    assert abs(ode.gradient_moment(3, 1.0) - 93) < 1e-6
    assert abs(ode.gradient_moment(3, 0.0, zeta=0.5) - 3 * 1.25) < 1e-9
    # Monte Carlo: E[y^2 h_2'(z)^2] at m = 0.5
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(2, 2_000_000))
    z = 0.5 * u + math.sqrt(0.75) * v
    mc = np.mean(he.hermite(2, u) ** 2 * 2 * z**2)
    assert abs(mc - float(ode.gradient_moment(2, 0.5))) < 0.05


def test_spherical_optimum_of_the_spiked_model():
    """u^T Sigma^2 u / sqrt(u^T Sigma^3 u) with explicit matrices; 0.718 at kappa = 64, share = 1/2."""
    from theorylab.theory import spiked_single_index as spiked

    d, kappa, share = 10, 64.0, 0.5
    theta, perp = np.eye(d)[0], np.eye(d)[1]
    sigma = (np.eye(d) + kappa * np.outer(theta, theta)) / (1 + kappa)
    a, b = spiked.components(share=share, kappa=kappa)
    u = a * theta + b * perp
    assert abs(u @ sigma @ u - 1) < 1e-12
    s2, s3 = u @ sigma @ sigma @ u, u @ sigma @ sigma @ sigma @ u
    assert abs(spiked.spherical_optimum_overlap(share=share, kappa=kappa) - s2 / math.sqrt(s3)) < 1e-12
    assert abs(spiked.spherical_optimum_overlap(share=share, kappa=kappa) - 0.718) < 5e-4
    # w = Sigma u / |Sigma u| maximises (w^T Sigma u) on the sphere: no unit vector does better
    rng = np.random.default_rng(0)
    best = (sigma @ u) @ sigma @ u / np.linalg.norm(sigma @ u)
    ws = rng.normal(size=(2000, d))
    ws /= np.linalg.norm(ws, axis=1, keepdims=True)
    assert np.all(ws @ sigma @ u <= best + 1e-12)
