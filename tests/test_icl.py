"""In-context regression prompts, the closed-form baselines and the attention baselines."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theorylab.data import icl
from theorylab.models import baselines, linalg, linear_attention as attn
from theorylab.theory import mamba_icl as theory

D, N = 3, 6


@pytest.fixture(scope="module")
def batch():
    return icl.sample(jax.random.PRNGKey(0), 5, n_ctx=N, d=D)


def test_prompts_and_tokens(batch):
    assert batch.x.shape == (5, N + 1, D) and batch.y.shape == (5, N + 1) and batch.w.shape == (5, D)
    np.testing.assert_allclose(batch.y, np.einsum("nld,nd->nl", batch.x, batch.w), rtol=1e-5, atol=1e-6)
    tok = icl.tokens(batch)
    assert tok.shape == (5, N + 1, D + 1)
    np.testing.assert_array_equal(tok[:, -1, -1], 0.0)  # query token (x_q, 0)
    np.testing.assert_array_equal(tok[:, :-1, -1], batch.y[:, :-1])
    np.testing.assert_array_equal(icl.query_target(batch), batch.y[:, -1])
    noisy = icl.sample(jax.random.PRNGKey(0), 5, n_ctx=N, d=D, noise_std=0.5)
    assert np.abs(noisy.y[:, :-1] - batch.y[:, :-1]).max() > 0.01  # label noise on the examples
    np.testing.assert_allclose(noisy.y[:, -1], batch.y[:, -1], rtol=1e-6)  # clean query
    with pytest.raises(ValueError, match="link"):
        icl.sample(jax.random.PRNGKey(0), 2, n_ctx=N, d=D, link="cubic")
    sphere = icl.sample(jax.random.PRNGKey(1), 4, n_ctx=N, d=D, tasks="sphere", inputs="rademacher")
    np.testing.assert_allclose(np.linalg.norm(sphere.w, axis=1), np.sqrt(D), rtol=1e-5)
    assert set(np.unique(np.asarray(sphere.x))) <= {-1.0, 1.0}


def test_least_squares_and_ridge_against_numpy(batch):
    ls = np.asarray(baselines.least_squares_prefix_pinv(batch))
    np.testing.assert_allclose(baselines.least_squares_prefix(batch), ls, rtol=0.05, atol=5e-3)  # ridge 1e-4
    lam = 0.3
    rd = np.asarray(baselines.ridge_prefix(batch, lam))
    x, y = np.asarray(batch.x, float), np.asarray(batch.y, float)
    for i in range(len(x)):
        for k in range(N + 1):
            xs, ys = x[i, :k], y[i, :k]
            w_ls = np.linalg.pinv(xs) @ ys if k else np.zeros(D)
            w_rd = np.linalg.solve(xs.T @ xs + lam * np.eye(D), xs.T @ ys)
            assert ls[i, k] == pytest.approx(x[i, k] @ w_ls, abs=2e-4)
            assert rd[i, k] == pytest.approx(x[i, k] @ w_rd, abs=2e-4)
    # noiseless data: least squares is exact once k >= d
    np.testing.assert_allclose(ls[:, D:], y[:, D:], atol=2e-3)


def test_weighted_prefix_against_a_loop(batch):
    alpha, beta = 0.8, 1.3
    wts = baselines.online_gd_weights(N + 1, alpha, beta)
    pred = np.asarray(baselines.weighted_prefix(batch, wts))
    x, y = np.asarray(batch.x, float), np.asarray(batch.y, float)
    for i in range(len(x)):
        h = np.zeros(D)  # the online-GD recursion h_k = alpha h_(k-1) + (1-alpha) beta y_k x_k
        for k in range(N + 1):
            assert pred[i, k] == pytest.approx(alpha * x[i, k] @ h, abs=1e-5)
            h = alpha * h + (1 - alpha) * beta * y[i, k] * x[i, k]
    la = np.asarray(baselines.weighted_prefix(batch, baselines.linear_attention_weights(N + 1, D)))
    k = N
    expected = np.einsum("nj,njd,nd->n", y[:, :k], x[:, :k], x[:, k]) / (k + D + 1)
    np.testing.assert_allclose(la[:, k], expected, rtol=1e-5)


def test_closed_form_predictors_reach_their_theoretical_losses():
    """Monte Carlo: the online-GD limit predictor has loss L*, the linear-attention optimum has
    d(d+1)/(2(N+d+1)) (within 4 standard errors)."""
    d, n = 4, 20
    b = icl.sample(jax.random.PRNGKey(3), 40000, n_ctx=n, d=d)
    for wts, target in ((baselines.online_gd_weights(n + 1, theory.alpha(n), theory.beta(d, n)), theory.limit_loss(d, n)),
                        (baselines.linear_attention_weights(n + 1, d), theory.linear_attention_loss(d, n))):
        per = 0.5 * (np.asarray(baselines.weighted_prefix(b, wts))[:, -1] - np.asarray(b.y[:, -1])) ** 2
        se = per.std() / np.sqrt(len(per))
        assert abs(per.mean() - target) < 4 * se


def test_attention_prefix_forms_agree_with_last_position_forms(batch):
    p = attn.init(jax.random.PRNGKey(4), D + 1, 0.7)
    tok = icl.tokens(batch)
    tok_full = jnp.concatenate([batch.x, batch.y[..., None]], axis=-1)
    s, e_q = attn.linear_features(tok)
    np.testing.assert_allclose(attn.linear_prefix(p, tok_full)[:, -1], attn.linear_from_features(p, s, e_q), rtol=1e-5)
    np.testing.assert_allclose(attn.softmax_prefix(p, tok_full)[:, -1], attn.softmax_last(p, tok), rtol=1e-5)
    # a plain loop for the causal linear attention at position k
    v, w = np.asarray(p.v, float), np.asarray(p.w, float)
    t = np.asarray(tok_full, float)
    pred = np.asarray(attn.linear_prefix(p, tok_full))
    for k in range(1, N + 1):
        q = t[0, k].copy()
        q[-1] = 0.0
        ref = sum((v @ t[0, j]) * (t[0, j] @ w @ q) for j in range(k)) / k
        assert pred[0, k] == pytest.approx(ref, rel=1e-4, abs=1e-5)
    assert pred[0, 0] == 0.0 and float(attn.softmax_prefix(p, tok_full)[0, 0]) == 0.0


def test_linear_attention_gram_loss_equals_the_direct_loss(batch):
    p = attn.init(jax.random.PRNGKey(5), D + 1, 0.7)
    tok = icl.tokens(batch)
    s, e_q = attn.linear_features(tok)
    direct = 0.5 * np.mean((np.asarray(attn.linear_from_features(p, s, e_q)) - np.asarray(batch.y[:, -1])) ** 2)
    gram = attn.linear_gram(tok, batch.y[:, -1])
    assert float(attn.linear_loss_from_gram(p, *gram)) == pytest.approx(direct, rel=1e-4)


def test_spd_solve_against_numpy():
    rng = np.random.default_rng(9)
    m = rng.normal(size=(3, 6, 6))
    a = m @ np.swapaxes(m, 1, 2) + 0.1 * np.eye(6)
    b = rng.normal(size=(3, 6))
    a32, b32 = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
    np.testing.assert_allclose(linalg.spd_solve(a32, b32), np.linalg.solve(a, b[..., None])[..., 0],
                               rtol=2e-3, atol=2e-3)
    # several right-hand sides at once, and the inverse
    np.testing.assert_allclose(linalg.spd_solve(a32, jnp.swapaxes(a32, 1, 2)), np.broadcast_to(np.eye(6), a.shape),
                               atol=2e-3)
    np.testing.assert_allclose(np.asarray(linalg.spd_inverse(a32)) @ a, np.broadcast_to(np.eye(6), a.shape), atol=2e-3)


def test_bilinear_optimum_is_the_least_squares_minimum():
    """min_M (1/2) mean (q^T M m - y)^2 against numpy's least squares on q (x) m."""
    rng = np.random.default_rng(3)
    q, m = rng.normal(size=(200, 3)), rng.normal(size=(200, 3))
    y = np.einsum("ni,ij,nj->n", q, rng.normal(size=(3, 3)), m) + 0.1 * rng.normal(size=200)
    phi = (q[:, :, None] * m[:, None, :]).reshape(200, -1)
    coef = np.linalg.lstsq(phi, y, rcond=None)[0]
    want = 0.5 * np.mean((phi @ coef - y) ** 2)
    got = float(baselines.bilinear_optimum_loss(*(jnp.asarray(v, jnp.float32) for v in (q, m, y))))
    assert got == pytest.approx(want, rel=1e-3)


def test_zfb_init_is_the_scaled_optimum_direction(batch):
    """From the Zhang-Frei-Bartlett init the linear attention predicts s^2/sqrt(d) x_q^T mean(y_i x_i)."""
    p = attn.init_zfb(D + 1, 0.5)
    tok = icl.tokens(batch)
    s, e_q = attn.linear_features(tok)
    x, y = np.asarray(batch.x), np.asarray(batch.y)
    expected = 0.25 / np.sqrt(D) * np.einsum("nj,njd,nd->n", y[:, :N], x[:, :N], x[:, N]) / N
    np.testing.assert_allclose(attn.linear_from_features(p, s, e_q), expected, rtol=1e-4, atol=1e-6)


def test_padded_prompts_hold_the_examples_of_their_own_length():
    """sample_padded draws positions on the leading axis: a prompt of 6 examples padded to 9
    holds zero tokens, then exactly the 6 examples (labels, noise, task, query) of the same key
    drawn at 6; n_own may be traced."""
    key = jax.random.PRNGKey(4)
    for kw in (dict(), dict(noise_std=0.3, link="tanh")):
        own = icl.sample_padded(key, 5, n_ctx=N, d=D, **kw)
        pad = jax.jit(lambda k, m: icl.sample_padded(k, 5, n_ctx=N + 3, d=D, n_own=m, **kw))(key, N)
        np.testing.assert_array_equal(pad.x[:, 3:], own.x)
        np.testing.assert_array_equal(pad.y[:, 3:], own.y)
        np.testing.assert_array_equal(pad.w, own.w)
        np.testing.assert_array_equal(pad.x[:, :3], 0.0)
        np.testing.assert_array_equal(pad.y[:, :3], 0.0)
    np.testing.assert_array_equal(icl.own_positions(5, 3), [False, False, True, True, True])
    noisy = icl.sample_padded(key, 5, n_ctx=N, d=D, noise_std=0.3)
    np.testing.assert_allclose(noisy.y[:, -1], np.einsum("nd,nd->n", noisy.x[:, -1], noisy.w), rtol=1e-5)  # clean


def test_every_predictor_reads_a_left_padded_prompt_as_its_own():
    """The S6 layer, both attention models (told where the examples start) and the closed-form
    baselines give a prompt left-padded with zero tokens the predictions of the unpadded prompt
    at its own positions; softmax attention without the key mask would not."""
    from theorylab.models import s6

    pad = 4

    @jax.jit
    def pairs(key):  # (padded, own) outputs, the padded ones cut to the own positions; one compile
        own = icl.sample_padded(key, 6, n_ctx=N, d=D)
        big = icl.sample_padded(key, 6, n_ctx=N + pad, d=D, n_own=N)
        tok_o, tok_b = icl.tokens(own), icl.tokens(big)
        keys = icl.own_positions(N + pad, N)
        ks = jax.random.split(key, 4)
        p = attn.AttnParams(v=jax.random.normal(ks[0], (D + 1,)), w=jax.random.normal(ks[1], (D + 1, D + 1)))
        layer = s6.S6Params(w_b=jax.random.normal(ks[2], (7, D + 1)), b_b=0.1 * jnp.ones(7),
                            w_c=jax.random.normal(ks[3], (7, D + 1)), b_c=0.2 * jnp.ones(7),
                            **s6.assumption_4_1(N, D + 1, 7))
        out = list(zip(s6.last_channel_features(layer, tok_b, -1.0), s6.last_channel_features(layer, tok_o, -1.0)))
        out += list(zip(attn.linear_features(tok_b, N), attn.linear_features(tok_o)))
        out += [(s6.prefix_predictions(layer, big.x, big.y, -1.0)[:, pad:], s6.prefix_predictions(layer, own.x, own.y, -1.0)),
                (s6.position_weights(layer, big.x, big.y, -1.0)[pad:], s6.position_weights(layer, own.x, own.y, -1.0)),
                (attn.softmax_last(p, tok_b, keys), attn.softmax_last(p, tok_o)),
                (attn.linear_prefix(p, tok_b, pad)[:, pad:], attn.linear_prefix(p, tok_o)),
                (attn.softmax_prefix(p, tok_b, jnp.append(keys, True))[:, pad:], attn.softmax_prefix(p, tok_o)),
                (baselines.ridge_prefix(big, 0.1)[:, pad:], baselines.ridge_prefix(own, 0.1))]
        for w_big, w_own in ((baselines.online_gd_weights(N + pad + 1, 0.9, 0.5), baselines.online_gd_weights(N + 1, 0.9, 0.5)),
                             (baselines.linear_attention_weights(N + pad + 1, D, first=pad),
                              baselines.linear_attention_weights(N + 1, D))):
            out.append((baselines.weighted_prefix(big, w_big)[:, pad:], baselines.weighted_prefix(own, w_own)))
        unmasked = (attn.softmax_last(p, tok_b), attn.softmax_last(p, tok_o))
        return out, unmasked

    out, unmasked = pairs(jax.random.PRNGKey(5))
    for i, (a, b) in enumerate(out):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5, err_msg=f"output {i}")
    assert np.abs(unmasked[0] - unmasked[1]).max() > 1e-3  # zero keys get weight e^0 without the mask
