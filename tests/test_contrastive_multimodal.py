"""InfoNCE with stop-gradient similarities against finite differences, the downstream logistic
head's optimality, and the closed forms of contrastive/multimodal."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theorylab.models import linear_probe, relu_encoder
from theorylab.models.infonce import info_nce, similarity
from theorylab.papers import contrastive_multimodal as C
from theorylab.theory import contrastive as theory


def _ref_infonce(q_act, k_act_pos, k_act_all, y, tau):
    """InfoNCE written out sample by sample; the k_* activations are constants."""
    n, m, _ = q_act.shape
    total = 0.0
    for i in range(n):
        pos = jnp.sum(q_act[i] * k_act_pos[i]) / m
        negs = [jnp.sum(q_act[i] * k_act_all[j]) / m for j in range(n) if y[j] != y[i]]
        total = total - jnp.log(jnp.exp(pos / tau) / (jnp.exp(pos / tau) + sum(jnp.exp(s / tau) for s in negs)))
    return total / n


@pytest.mark.parametrize("multi", [False, True])
def test_infonce_gradient_with_stop_gradient_against_finite_differences(multi):
    """grad of the stop-gradient loss at w0 = the derivative of the same loss with the sg side
    frozen at w0 (finite differences, float64)."""
    with jax.enable_x64(True):
        cfg = C.Config(d=6, n=6, m=3, n_test=4, n_probe=4, multi=multi, steps=2, log_every=1, tau=0.5, sigma0=0.5)
        params, data = jax.jit(C.setup, static_argnums=1)(jax.random.PRNGKey(0), cfg)
        params = jax.tree_util.tree_map(lambda v: v.astype(jnp.float64), params)
        data = jax.tree_util.tree_map(lambda v: v.astype(jnp.float64) if v.dtype == jnp.float32 else v, data)
        g = jax.jit(lambda p: jax.grad(C.loss)(p, data, cfg, None))(params)
        y = np.asarray(data["y"])
        act = relu_encoder.activations
        if multi:
            a0, b0 = act(params["h"], data["x"]), act(params["g"], data["x2"])

            def frozen(p):
                return (_ref_infonce(act(p["h"], data["x"]), b0, b0, y, cfg.tau)
                        + _ref_infonce(act(p["g"], data["x2"]), a0, a0, y, cfg.tau))
        else:
            k_pos, k_all = act(params["h"], data["x_pos"]), act(params["h"], data["x"])

            def frozen(p):
                return _ref_infonce(act(p["h"], data["x"]), k_pos, k_all, y, cfg.tau)

        frozen = jax.jit(frozen)
        assert float(frozen(params)) == pytest.approx(float(C.loss(params, data, cfg, None)), rel=1e-10)
        rng = np.random.default_rng(1)
        v = jax.tree_util.tree_map(lambda a: jnp.asarray(rng.normal(size=a.shape)), params)
        h = 1e-6
        plus = jax.tree_util.tree_map(lambda a, b: a + h * b, params, v)
        minus = jax.tree_util.tree_map(lambda a, b: a - h * b, params, v)
        fd = (frozen(plus) - frozen(minus)) / (2 * h)
        ad = sum(float(jnp.sum(a * b)) for a, b in zip(jax.tree_util.tree_leaves(g), jax.tree_util.tree_leaves(v)))
        assert ad == pytest.approx(float(fd), rel=1e-6)


def test_infonce_at_zero_similarity_is_log_one_plus_m():
    n = 10
    y = jnp.where(jnp.arange(n) % 2 == 0, 1.0, -1.0)
    neg = y[:, None] != y[None, :]
    assert float(info_nce(jnp.zeros(n), jnp.zeros((n, n)), neg, 0.1)) == pytest.approx(math.log(1 + n // 2), rel=1e-6)
    assert theory.initial_loss(50, 2) == pytest.approx(2 * math.log(51))
    a = jnp.ones((3, 2, 2))
    np.testing.assert_allclose(np.asarray(similarity(a, 2 * a)), np.full((3, 3), 4.0))


def test_logistic_head_reaches_the_regularised_optimum():
    rng = np.random.default_rng(0)
    F = jnp.asarray(rng.normal(size=(80, 5)))
    y = jnp.asarray(np.sign(rng.normal(size=80) + np.asarray(F)[:, 0]))
    l2 = 1e-2
    beta = jax.jit(linear_probe.fit_logistic, static_argnums=3)(F, y, l2, 30)

    def objective(b):
        return jnp.mean(jax.nn.softplus(-y * (F @ b))) + 0.5 * l2 * jnp.sum(b * b)

    assert float(jnp.linalg.norm(jax.grad(objective)(beta))) < 1e-5
    assert float(linear_probe.accuracy(F, y, beta)) > 0.6
    Fi = linear_probe.with_intercept(F)
    assert Fi.shape == (80, 6) and bool(jnp.all(Fi[:, -1] == 1))


def test_stage_one_times_of_the_spec():
    # d = 2000, n = 100, m = 50, eta = 0.01, |mu| = 5, C_mu = 3 (Lemmas 5.2 and 5.4)
    for tau, s0, single, multi in ((0.1, 0.001, 162, 119), (0.1, 0.01, 101, 86), (0.05, 0.001, 82, 62)):
        assert theory.t1_single(s0, 1.0, 2000, 0.01, 100, 50, tau) == pytest.approx(single, abs=1)
        assert theory.t1_multi(s0, 5.0, 3.0, 0.01, 50, tau) == pytest.approx(multi, abs=1)


def test_encoder_sums_relu_over_patches_and_data_model():
    w = jnp.array([[1.0, -1.0], [0.5, 0.5]])
    x = jnp.array([[[2.0, 1.0], [-1.0, 3.0]]])  # one sample, two patches
    np.testing.assert_allclose(np.asarray(relu_encoder.embed(w, x)), [[1.0 + 0.0, 1.5 + 1.0]])
    cfg = C.Config(d=50, n=8, m=4, n_test=6, n_probe=4, multi=True, steps=2, log_every=1)
    _, data = jax.jit(C.setup, static_argnums=1)(jax.random.PRNGKey(3), cfg)
    y = np.asarray(data["y"])
    np.testing.assert_allclose(np.asarray(data["x"][:, 0, 0]), y * cfg.mu_norm, rtol=1e-6)  # y mu on e_1
    np.testing.assert_allclose(np.asarray(data["x2"][:, 0, 1]), y * cfg.mu_norm * cfg.c_mu, rtol=1e-6)  # y mu~ on e_2
    np.testing.assert_allclose(np.asarray(data["x_test"][:, 0, 0]), np.asarray(data["y_test"]) * cfg.nu_norm, rtol=1e-6)
    eps = np.asarray(data["x_pos"] - data["x"])
    assert np.all(eps[:, 0] == 0) and abs(eps[:, 1].std() - cfg.sigma_eps) < 0.3 * cfg.sigma_eps
