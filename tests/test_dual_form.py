"""The token-space (dual) form of full-batch GD on the attention model (models/attention.py,
``to_dual``): SGD on the coefficients a, with W = W_0 + X^T a, is GD on W step for step,
against the plain computation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theorylab.models import attention
from theorylab.models.losses import logistic_loss


def _problem(key, n=5, m=4, d=40, d_h=6, d_v=5):
    """A training set with repeated tokens (one signal vector per class), float64."""
    k1, k2 = jax.random.split(key)
    params, w_o = attention.init(k1, d, d_h, d_v, 0.25)  # large init: leave the linear regime
    y = jnp.where(jnp.arange(n) % 2 == 0, 1.0, -1.0)
    sig = jnp.where(y[:, None] > 0, 3.0 * jnp.eye(d)[0], 3.0 * jnp.eye(d)[1])  # [n, d]
    noise = jax.random.normal(k2, (n, m - 1, d))
    x = jnp.concatenate([sig[:, None], noise], axis=1)  # [n, m, d]
    return jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), (params, w_o, x, y))


def _loss_plain(p, w_o, x, y):
    return jnp.mean(logistic_loss(y * attention.apply_plain(p, w_o, x)))


def _loss_dual(dp, frozen, y, n, m):
    p, k, v = attention.dual_projections(dp, frozen)
    out = attention.apply_from_projections(p.reshape(n, m, -1), k.reshape(n, m, -1), v.reshape(n, m))
    return jnp.mean(logistic_loss(y * out))


@pytest.mark.parametrize("n,m,d", [(5, 4, 40), (6, 4, 12)])  # T = 20 < d = 40, and T = 24 > d = 12
def test_sgd_on_dual_coefficients_is_gd_on_the_weights(n, m, d):
    lr, steps = 0.5, 25
    with jax.enable_x64(True):
        params, w_o, x, y = _problem(jax.random.PRNGKey(n), n=n, m=m, d=d)
        dp, frozen = attention.to_dual(params, w_o, x)
        assert dp.a_q.shape == (n * m, params.w_q.shape[1])
        g_plain = jax.jit(jax.value_and_grad(_loss_plain))
        g_dual = jax.jit(jax.value_and_grad(_loss_dual), static_argnums=(3, 4))
        w = params
        for _ in range(steps):
            lp, gp = g_plain(w, w_o, x, y)
            ld, gd = g_dual(dp, frozen, y, n, m)
            assert abs(float(lp) - float(ld)) <= 1e-11 * max(1.0, abs(float(lp)))
            w = jax.tree_util.tree_map(lambda a, g: a - lr * g, w, gp)
            dp = jax.tree_util.tree_map(lambda a, g: a - lr * g, dp, gd)
            back = attention.from_dual(dp, params, w_o, x)
            for a, b in zip(w, back):
                np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
        moved = float(jnp.linalg.norm(w.w_q - params.w_q) / jnp.linalg.norm(params.w_q))
        assert moved > 0.05  # the weights really moved: the comparison is not vacuous
        assert float(g_plain(w, w_o, x, y)[0]) < 0.5 * float(g_plain(params, w_o, x, y)[0])
        # projections of other tokens (a test set) through the cross kernel equal Z W
        z = jax.random.normal(jax.random.PRNGKey(9), (7, d), jnp.float64)
        zx = z @ x.reshape(-1, d).T
        got = attention.dual_projections_of(dp, frozen, zx, (z @ params.w_q, z @ params.w_k,
                                                              z @ (params.w_v @ w_o)))
        want = (z @ w.w_q, z @ w.w_k, z @ (w.w_v @ w_o))
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_dual_gradient_is_not_the_euclidean_one():
    """The lift reports dL/dP, not G dL/dP: SGD on a with the Euclidean gradient would be a
    different (preconditioned) method, so this guards the custom VJP itself."""
    with jax.enable_x64(True):
        params, w_o, x, y = _problem(jax.random.PRNGKey(3))
        dp, frozen = attention.to_dual(params, w_o, x)
        n, m = x.shape[:2]
        g = jax.grad(_loss_dual)(dp, frozen, y, n, m)

        def loss_of_p(p):
            _, k, v = attention.dual_projections(dp, frozen)
            out = attention.apply_from_projections(p.reshape(n, m, -1), k.reshape(n, m, -1), v.reshape(n, m))
            return jnp.mean(logistic_loss(y * out))

        g_p = jax.grad(loss_of_p)(frozen.p_q0)
        np.testing.assert_allclose(g.a_q, g_p, rtol=1e-12, atol=1e-15)
        assert float(jnp.linalg.norm(frozen.gram @ g_p - g_p)) > 0.1 * float(jnp.linalg.norm(g_p))
