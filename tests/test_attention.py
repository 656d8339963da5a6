"""The one-layer attention model: gradients against finite differences, init, the readout shortcut."""

import jax
import jax.numpy as jnp
import numpy as np

from theorylab.models import attention
from theorylab.models.losses import logistic_loss


def _toy(key, d=6, m=4, n=5, d_h=3, d_v=4, shrink=2.0):
    k1, k2, k3 = jax.random.split(key, 3)
    params, w_o = attention.init(k1, d, d_h, d_v, shrink)
    x = jax.random.normal(k2, (n, m, d))
    y = jnp.where(jax.random.bernoulli(k3, 0.5, (n,)), 1.0, -1.0)
    return params, w_o, x, y


def _loss(params, w_o, x, y):
    return jnp.mean(logistic_loss(y * attention.apply(params, w_o, x)))


def test_gradient_matches_central_finite_differences_float64():
    with jax.enable_x64(True):
        params, w_o, x, y = _toy(jax.random.PRNGKey(0))
        params = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64) * 8, params)  # leave the linear regime
        w_o, x, y = w_o.astype(jnp.float64), x.astype(jnp.float64), y.astype(jnp.float64)
        grads = jax.grad(_loss)(params, w_o, x, y)
        eps = 1e-6
        rng = np.random.default_rng(0)
        for name in ("w_q", "w_k", "w_v"):
            g = np.asarray(getattr(grads, name))
            for _ in range(6):
                idx = tuple(rng.integers(0, s) for s in g.shape)
                base = getattr(params, name)
                plus = params._replace(**{name: base.at[idx].add(eps)})
                minus = params._replace(**{name: base.at[idx].add(-eps)})
                fd = (_loss(plus, w_o, x, y) - _loss(minus, w_o, x, y)) / (2 * eps)
                assert abs(float(fd) - g[idx]) <= 1e-7 + 1e-6 * abs(g[idx]), (name, idx, float(fd), g[idx])
            assert np.abs(g).max() > 1e-4  # the check is not vacuous


def test_readout_shortcut_equals_plain_form():
    params, w_o, x, _ = _toy(jax.random.PRNGKey(1))
    params = jax.tree_util.tree_map(lambda a: a * 10, params)
    np.testing.assert_allclose(attention.apply(params, w_o, x), attention.apply_plain(params, w_o, x),
                               rtol=1e-5, atol=1e-6)
    y = jnp.ones(x.shape[0])
    g1 = jax.grad(lambda p: jnp.sum(y * attention.apply(p, w_o, x)))(params)
    g2 = jax.grad(lambda p: jnp.sum(y * attention.apply_plain(p, w_o, x)))(params)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_init_is_pytorch_uniform_divided_by_shrink():
    d, d_h, d_v = 400, 300, 200
    params, w_o = attention.init(jax.random.PRNGKey(2), d, d_h, d_v, 16.0)
    bound = 1 / np.sqrt(d) / 16
    for w in params:
        w = np.asarray(w)
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.99 * bound
        np.testing.assert_allclose(w.std(), bound / np.sqrt(3), rtol=0.02)  # std of U(-b, b)
    assert np.abs(np.asarray(w_o)).max() <= 1 / np.sqrt(d_v)
    assert np.abs(np.asarray(w_o)).max() > 0.95 / np.sqrt(d_v)


def test_attention_rows_are_distributions_and_mean_of_rows():
    params, w_o, x, _ = _toy(jax.random.PRNGKey(3))
    a = attention.attention(params, x)
    np.testing.assert_allclose(a.sum(-1), 1.0, rtol=1e-6)
    v = x @ (params.w_v @ w_o)
    manual = np.mean(np.einsum("nlk,nk->nl", a, v), axis=1)
    np.testing.assert_allclose(attention.apply(params, w_o, x), manual, rtol=1e-5)
