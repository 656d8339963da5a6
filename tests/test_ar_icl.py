"""In-context autoregressive learning (arXiv:2402.05787): the closed-form losses against the
authors' literal loops and a direct numerical evaluation of their gradients, the W generators,
the augmented linear attention at its GD point, the baselines, and the pe-only smoke run."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import theorylab as tl
from theorylab.data import ar_sequences as ar
from theorylab.models import ar_linear_attention as ala
from theorylab.papers import ar_icl
from theorylab.theory import ar_icl as th


@pytest.mark.parametrize("family, h", [("unitary", 6), ("orthogonal", 4)])
def test_closed_forms_equal_the_authors_loops_and_their_gradients(family, h):
    rng = np.random.default_rng(0)
    d, T = 6, 9
    A, B, P = rng.normal(size=(h, d)) * 0.4, rng.normal(size=(h, d)) * 0.4, rng.normal(size=(T, T)) * 0.4
    fast = th.unitary_loss if family == "unitary" else th.orthogonal_loss
    loop = th.unitary_loss_loop if family == "unitary" else th.orthogonal_loss_loop
    assert float(fast(*map(jnp.asarray, (A, B, P)))) == pytest.approx(loop(A, B, P), rel=1e-5)
    # autodiff of the (regrouped, vectorised) form against central differences of the literal loop
    grads = jax.grad(lambda a, b, p: fast(a, b, p), argnums=(0, 1, 2))(*map(jnp.asarray, (A, B, P)))
    args = [A, B, P]
    for k in range(3):
        for flat in rng.choice(args[k].size, 5, replace=False):
            e = np.zeros(args[k].size)
            e[flat] = 1e-6
            up = [a if i != k else a + e.reshape(a.shape) for i, a in enumerate(args)]
            dn = [a if i != k else a - e.reshape(a.shape) for i, a in enumerate(args)]
            fd = (loop(*up) - loop(*dn)) / 2e-6
            assert float(np.asarray(grads[k]).ravel()[flat]) == pytest.approx(fd, rel=2e-3, abs=2e-3)


def test_closed_forms_vanish_at_the_stated_optima():
    d, T, c = 6, 8, -1.3
    P = np.zeros((T, T))
    idx = np.arange(T - 1)
    P[idx, idx + 1] = 1 / c
    assert th.unitary_loss_loop(c * np.eye(d), np.eye(d), P) == pytest.approx(0, abs=1e-10)
    P[idx, idx] = -0.5 / c  # c p_{T-1} = -1/2 (the Cayley-Hamilton coefficient)
    pattern = ar_icl.block_pattern(d)
    assert th.orthogonal_loss_loop(c * pattern, np.eye(d), P) == pytest.approx(0, abs=1e-10)
    assert th.orthogonal_loss_loop(c * np.eye(d), np.eye(d), P) > 1.0  # the identity is not its optimum


def test_w_generators():
    q = np.asarray(jax.jit(ar.haar_orthogonal, static_argnums=(1, 2))(jax.random.PRNGKey(0), 4000, 5), np.float64)
    np.testing.assert_allclose(np.einsum("mij,mik->mjk", q, q), np.broadcast_to(np.eye(5), q.shape), atol=1e-5)
    np.testing.assert_allclose(q.mean(0), 0.0, atol=0.05)  # Haar: E Q = 0, E Q_ij^2 = 1/d
    np.testing.assert_allclose((q**2).mean(0), 0.2, atol=0.02)
    dets = np.linalg.det(q)
    assert 0.4 < (dets > 0).mean() < 0.6  # both components of O(d)
    r = np.asarray(ar.block_rotations(jax.random.PRNGKey(1), 3, 4), np.float64)
    np.testing.assert_allclose(r[0] @ r[1], r[1] @ r[0], atol=1e-6)  # a commuting family
    assert np.allclose(r[:, :2, 2:], 0) and np.allclose(np.linalg.det(r), 1, atol=1e-5)
    s = np.asarray(ar.rollout(jnp.asarray(q[:3], jnp.float32), 7))
    np.testing.assert_allclose(s[:, 1], np.einsum("mij,mj->mi", q[:3], s[:, 0]), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(s, axis=-1), 1.0, atol=1e-5)


def test_augmented_attention_at_the_gd_point_is_one_gd_step():
    s = ar.sample(jax.random.PRNGKey(2), 8, d=4, n=12, family="haar")[:, :-1]
    eta = 2.5
    np.testing.assert_allclose(ala.apply_aug(ala.gd_point(4, eta), s), eta * ala.one_step_gd(s), atol=1e-5)
    # the GD predictor directly: eta/(tau+1) sum_{t<=tau} s_t (s_{t-1} . s_tau)
    x = np.asarray(s, np.float64)
    tau = 7
    ref = sum(x[:, t] * np.sum((x[:, t - 1] if t else 0 * x[:, 0]) * x[:, tau], -1, keepdims=True)
              for t in range(tau + 1)) / (tau + 1)
    np.testing.assert_allclose(np.asarray(ala.one_step_gd(s))[:, tau], ref, atol=1e-5)


def test_least_squares_is_exact_once_the_orbit_spans():
    s = ar.sample(jax.random.PRNGKey(3), 16, d=3, n=10, family="haar")
    pred = np.asarray(ala.least_squares(s[:, :-1], 1e-7))
    np.testing.assert_allclose(pred[:, 4:], np.asarray(s[:, 5:]), atol=2e-3)


def test_pe_only_prediction_against_a_direct_sum():
    s = ar.sample_scalar_complex(jax.random.PRNGKey(4), 5, n=6, mu=7.0)[:, :-1]  # s_0..s_5, T = 6
    P = jax.random.normal(jax.random.PRNGKey(5), (6, 6))
    pred = np.asarray(ala.pe_only_predict(P, s))
    x, p = np.asarray(s), np.asarray(P)
    for q in range(5):
        ref = sum(p[q, k] * np.conj(x[:, q]) * x[:, k] * x[:, k] for k in range(q + 2))
        np.testing.assert_allclose(pred[:, q], ref, rtol=1e-4, atol=1e-5)


def test_pe_only_smoke_end_to_end(tmp_path):
    run = tl.run(ar_icl.PE_ONLY, preset="smoke", out=tmp_path / "pe")
    assert tl.check(run.dir).ok
    fin = run.results.sort_values("step").groupby("run_id").tail(1)
    assert (fin["loss"] < 0.01).all() and len(fin["last_row"].iloc[0]) == 9
