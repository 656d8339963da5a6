"""The span shortcut of full-batch GD on the attention model (models/attention.py, span_basis):
GD on B with W = W_0 + Q B is GD on W, step for step, against the plain computation."""

import jax
import jax.numpy as jnp
import numpy as np

from theorylab.models import attention


def _problem(key, n=5, m=4, d=40, d_h=6, d_v=5):
    """A training set with repeated tokens (one signal vector per class), N M = 20 < d = 40."""
    k1, k2 = jax.random.split(key)
    params, w_o = attention.init(k1, d, d_h, d_v, 0.25)  # large init: leave the linear regime
    y = jnp.where(jnp.arange(n) % 2 == 0, 1.0, -1.0)
    sig = jnp.where(y[:, None] > 0, 3.0 * jnp.eye(d)[0], 3.0 * jnp.eye(d)[1])  # [n, d]
    noise = jax.random.normal(k2, (n, m - 1, d))
    x = jnp.concatenate([sig[:, None], noise], axis=1)  # [n, m, d]
    return params, w_o, x, y


def _loss_plain(p, w_o, x, y):
    return jnp.mean(attention.logistic_loss(y * attention.apply_plain(p, w_o, x)))


def _loss_span(sp, frozen, w_o, x, y):
    return jnp.mean(attention.logistic_loss(y * attention.apply_span(sp, frozen, w_o, x)))


def test_span_basis_is_orthonormal_and_spans_repeated_tokens():
    with jax.enable_x64(True):
        _, _, x, _ = _problem(jax.random.PRNGKey(0))
        tok = x.reshape(-1, x.shape[-1]).astype(jnp.float64)
        q = attention.span_basis(tok)
        np.testing.assert_allclose(q.T @ q, np.eye(q.shape[1]), atol=1e-12)
        np.testing.assert_allclose(tok @ q @ q.T, tok, atol=1e-12)  # every token lies in span(Q)


def test_gd_in_span_coordinates_is_gd_on_the_weights():
    lr, steps = 0.5, 25
    with jax.enable_x64(True):
        params, w_o, x, y = _problem(jax.random.PRNGKey(1))
        params, w_o, x, y = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), (params, w_o, x, y))
        sp, frozen = attention.to_span(params, x)
        assert sp.b_q.shape == (x.shape[0] * x.shape[1], params.w_q.shape[1])
        g_plain = jax.jit(jax.value_and_grad(_loss_plain))
        g_span = jax.jit(jax.value_and_grad(_loss_span))
        w = params
        for _ in range(steps):
            lp, gp = g_plain(w, w_o, x, y)
            ls, gs = g_span(sp, frozen, w_o, x, y)
            assert abs(float(lp) - float(ls)) <= 1e-12 * max(1.0, abs(float(lp)))
            w = jax.tree_util.tree_map(lambda a, g: a - lr * g, w, gp)
            sp = jax.tree_util.tree_map(lambda a, g: a - lr * g, sp, gs)
            back = attention.from_span(sp, frozen)
            for a, b in zip(w, back):
                np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
        moved = float(jnp.linalg.norm(w.w_q - params.w_q) / jnp.linalg.norm(params.w_q))
        assert moved > 0.05  # the weights really moved: the comparison is not vacuous
        assert float(g_plain(w, w_o, x, y)[0]) < 0.5 * float(g_plain(params, w_o, x, y)[0])


def test_span_form_is_exact_when_tokens_outnumber_dimensions():
    params, w_o, x, y = _problem(jax.random.PRNGKey(2), n=6, m=4, d=12)  # T = 24 > d = 12
    sp, frozen = attention.to_span(params, x)
    assert sp.b_q.shape[0] == 12
    np.testing.assert_allclose(attention.apply_span(sp, frozen, w_o, x), attention.apply(params, w_o, x),
                               rtol=1e-5, atol=1e-6)
    sp2 = sp._replace(b_q=sp.b_q + 0.3)
    np.testing.assert_allclose(attention.apply_span(sp2, frozen, w_o, x),
                               attention.apply(attention.from_span(sp2, frozen), w_o, x), rtol=1e-4, atol=1e-6)
