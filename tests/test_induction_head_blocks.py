"""Blocks of the induction-head paper (arXiv:2512.18634): trigger-copy data, the index-based
attention against its dense form and against the closed-form Algorithm 1 gradients, finite
differences, the staged optimizer, the max-sum ratio closed forms."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theorylab.analysis.crossing import crossing, loglog_slope, spearman
from theorylab.data import trigger_copy as tc
from theorylab.models import induction_attention as ia
from theorylab.optim.staged import staged_sgd
from theorylab.theory import induction_head as th

N, NTRG, L = 12, 3, 16
_balanced = jax.jit(tc.sample_balanced, static_argnames=("m", "n_vocab", "n_trg", "t_max"))
_shifted = jax.jit(tc.sample_shifted, static_argnames=("m", "n_vocab", "n_trg", "t_max"))


def _check_structure(b: tc.CopyBatch, n_trg: int, n_vocab: int):
    tok, T, l1, o = (np.asarray(a) for a in b)
    for i in range(len(T)):
        seq = tok[i, :T[i]]
        assert (tok[i, T[i]:] == 0).all()
        trg = seq[l1[i]]
        assert trg < n_trg and seq[-1] == trg and seq[l1[i] + 1] == o[i] >= n_trg
        others = np.delete(seq, [l1[i], T[i] - 1])
        assert (others >= n_trg).all() and (others < n_vocab).all()  # fillers and o are non-triggers


def test_balanced_sequences_follow_the_length_law():
    w = tc.length_weights(2, 5, (L - 4) // 2)
    b = _balanced(jax.random.PRNGKey(0), m=4000, weights=w, n_vocab=N, n_trg=NTRG, t_max=L - 1)
    _check_structure(b, NTRG, N)
    ell = np.asarray(b.l1)
    assert (np.asarray(b.length) == 2 * ell + 3).all()
    freq = np.bincount(ell, minlength=6)[2:6] / len(ell)
    np.testing.assert_allclose(freq, 0.25, atol=0.03)
    lin = tc.length_weights(1, 4, 6, "linear")
    ell = np.asarray(_balanced(jax.random.PRNGKey(1), m=8000, weights=lin, n_vocab=N, n_trg=NTRG, t_max=L - 1).l1)
    np.testing.assert_allclose(np.bincount(ell, minlength=5)[1:5] / len(ell), np.arange(1, 5) / 10, atol=0.02)


def test_shifted_sequences_move_the_first_trigger_only():
    b = _shifted(jax.random.PRNGKey(2), m=4000, lo=3, hi=6, n_vocab=N, n_trg=NTRG, t_max=L - 1)
    _check_structure(b, NTRG, N)
    T, l1 = np.asarray(b.length), np.asarray(b.l1)
    ell = (T - 3) // 2
    assert ((T - 3) % 2 == 0).all() and ell.min() == 3 and ell.max() == 6
    assert (l1 != ell).all() and (l1 >= 1).all() and (l1 <= 2 * ell - 1).all()
    # l1 is uniform on {1..2l-1} minus {l}: at l = 3 the four values 1, 2, 4, 5
    sel = ell == 3
    np.testing.assert_allclose(np.bincount(l1[sel], minlength=6)[[1, 2, 4, 5]] / sel.sum(), 0.25, atol=0.05)


def _random_params(key, scale=0.3):
    k1, k2 = jax.random.split(key)
    d = ia.dim(L, N)
    return ia.Params(scale * jax.random.normal(k1, (N, d)), scale * jax.random.normal(k2, (d, d)))


def test_index_based_logits_equal_the_dense_model():
    b = tc.sample_shifted(jax.random.PRNGKey(3), 64, 2, 6, n_vocab=N, n_trg=NTRG, t_max=L - 1)
    p = _random_params(jax.random.PRNGKey(4))
    x = ia.dense_embedding(b.tokens, b.length, L, N)
    # the previous-token slot of position 1 is empty; every x_t has 3 ones otherwise
    assert float(x[0, 0].sum()) == 2.0 and float(x[0, 1].sum()) == 3.0
    sparse = jax.jit(ia.logits, static_argnums=3)(p, b.tokens, b.length, L)
    np.testing.assert_allclose(sparse, jax.jit(ia.logits_dense)(p, x, b.length),
                               rtol=2e-4, atol=2e-4)


def _batch(key, m=256):
    w = tc.length_weights(2, 5, (L - 4) // 2)
    return tc.sample_balanced(key, m, w, n_vocab=N, n_trg=NTRG, t_max=L - 1)


def _loss(p, b):
    return ia.cross_entropy(ia.logits(p, b.tokens, b.length, L), b.target)


def test_algorithm1_gradients_match_the_closed_forms():
    """W_V(1) = (eta_V / M) sum_i (e_o - 1/N) xbar_i^T, and at (W_KQ = 0, W_V(1)) the W_KQ gradient
    is (1/M) sum_i sum_t (1/T)(v_t - vbar) x_t x_T^T with v_t = g^T W_V(1) x_t and
    g = softmax(W_V(1) xbar) - e_o (uniform attention a_t = 1/T)."""
    b0, b1 = _batch(jax.random.PRNGKey(5)), _batch(jax.random.PRNGKey(6))
    eta_v = 3.0
    p = ia.zeros(L, N)
    grad = jax.jit(jax.grad(_loss))
    g0 = grad(p, b0)
    np.testing.assert_array_equal(g0.w_kq, 0.0)  # at W_V = 0 the output does not depend on W_KQ
    x0 = np.asarray(ia.dense_embedding(b0.tokens, b0.length, L, N), np.float64)
    T0 = np.asarray(b0.length)
    xbar0 = x0.sum(1) / T0[:, None]
    e_o = np.eye(N)[np.asarray(b0.target)]
    wv1 = eta_v * (e_o - 1.0 / N).T @ xbar0 / len(T0)
    np.testing.assert_allclose(-eta_v * np.asarray(g0.w_v), wv1, rtol=1e-4, atol=1e-6)

    p1 = ia.Params(jnp.asarray(wv1, jnp.float32), p.w_kq)
    g1 = grad(p1, b1)
    x = np.asarray(ia.dense_embedding(b1.tokens, b1.length, L, N), np.float64)
    T = np.asarray(b1.length)
    ref = np.zeros_like(np.asarray(g1.w_kq), np.float64)
    for i in range(len(T)):
        xi = x[i, :T[i]]
        xbar = xi.mean(0)
        f = wv1 @ xbar
        g = np.exp(f - f.max()) / np.exp(f - f.max()).sum() - np.eye(N)[int(b1.target[i])]
        v = xi @ (wv1.T @ g)
        ref += np.einsum("t,td,e->de", (v - v.mean()) / T[i], xi, xi[-1])
    ref /= len(T)
    scale = np.abs(ref).max()
    np.testing.assert_allclose(np.asarray(g1.w_kq) / scale, ref / scale, atol=2e-4)


def test_gradient_matches_finite_differences_in_float64():
    code = textwrap.dedent(f"""
        import jax, jax.numpy as jnp, numpy as np
        jax.config.update("jax_enable_x64", True)
        from theorylab.data import trigger_copy as tc
        from theorylab.models import induction_attention as ia
        L, N = {L}, {N}
        b = tc.sample_shifted(jax.random.PRNGKey(0), 32, 2, 6, n_vocab=N, n_trg={NTRG}, t_max=L - 1)
        k1, k2 = jax.random.split(jax.random.PRNGKey(1))
        d = ia.dim(L, N)
        p = ia.Params(0.3 * jax.random.normal(k1, (N, d)), 0.3 * jax.random.normal(k2, (d, d)))
        loss = jax.jit(lambda p: ia.cross_entropy(ia.logits(p, b.tokens, b.length, L), b.target))
        g = jax.grad(loss)(p)
        rng = np.random.default_rng(0)
        worst = 0.0
        for name in ("w_v", "w_kq"):
            w = getattr(p, name)
            gw = np.asarray(getattr(g, name))
            big = np.argsort(-np.abs(gw).ravel())[:6]  # entries with a real gradient ...
            rand = rng.choice(w.size, 6, replace=False)  # ... and random ones
            for flat in np.concatenate([big, rand]):
                e = jnp.zeros(w.size).at[flat].set(1e-6).reshape(w.shape)
                fd = (loss(p._replace(**{{name: w + e}})) - loss(p._replace(**{{name: w - e}}))) / 2e-6
                worst = max(worst, abs(float(fd) - gw.ravel()[flat]) / (abs(gw).max()))
        print(worst)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout.strip().splitlines()[-1]) < 1e-6


def test_staged_sgd_moves_one_leaf_per_stage():
    p = ia.Params(jnp.ones((2, 3)), jnp.ones((3, 3)))
    g = ia.Params(jnp.full((2, 3), 2.0), jnp.full((3, 3), 5.0))
    opt = staged_sgd([ia.Params(10.0, 0.0), ia.Params(0.0, 100.0)])
    st = opt.init(p)
    ups = []
    for _ in range(3):
        u, st = opt.update(g, st)
        ups.append(u)
    np.testing.assert_array_equal(ups[0].w_v, -20.0)
    np.testing.assert_array_equal(ups[0].w_kq, 0.0)
    np.testing.assert_array_equal(ups[1].w_v, 0.0)
    np.testing.assert_array_equal(ups[1].w_kq, -500.0)
    np.testing.assert_array_equal(ups[2].w_v, 0.0)
    np.testing.assert_array_equal(ups[2].w_kq, 0.0)


@pytest.mark.parametrize("lo, hi, R, RT", [(3, 4, .571, .550), (3, 5, .426, None), (3, 8, .274, .243),
                                           (3, 15, .183, .154), (6, 10, .258, None), (14, 15, .517, None),
                                           (4, 20, .142, None)])
def test_max_sum_ratio_matches_the_paper_values(lo, hi, R, RT):
    assert float(th.uniform_R(lo, hi)) == pytest.approx(R, abs=6e-4)
    if RT is not None:
        assert float(th.uniform_R(lo, hi, "T")) == pytest.approx(RT, abs=6e-4)


def test_max_sum_ratio_examples_and_prop8():
    # Example 3 (l_0 = 1): R = Theta(1/log K)
    for K, R in ((4, .480), (16, .296), (256, .163), (1024, .133)):
        assert th.max_sum_ratio(*th.uniform_law(1, K)) == pytest.approx(R, abs=6e-4)
    for K, R in ((4, .329), (8, .172), (16, .088)):  # l_0 = K
        assert th.max_sum_ratio(*th.uniform_law(K, 2 * K - 1)) == pytest.approx(R, abs=6e-4)
    for n in (1, 4, 8, 16):
        assert th.max_sum_ratio(*th.linear_law(n)) == pytest.approx(1 / n, abs=1e-12)
        assert th.second_moment(*th.linear_law(n)) == pytest.approx(n * (n + 1) / 2)
    assert th.mechanism_ratio(*th.uniform_law(3, 3), 2) == pytest.approx(2.0)


def test_crossing_spearman_and_slope():
    assert crossing([1, 2, 3], [0.0, 0.4, 0.8], 0.5) == pytest.approx(2.25)
    assert crossing([1, 4], [0.0, 1.0], 0.5, log_x=True) == pytest.approx(2.0)
    assert crossing([1, 2], [0.0, 0.1], 0.5) is None
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman([1, 2, 3], [5, 5, 5]) != spearman([1, 2, 3], [5, 5, 5])  # NaN
    assert loglog_slope([1, 2, 4], [1, 0.5, 0.25]) == pytest.approx(-1.0)
