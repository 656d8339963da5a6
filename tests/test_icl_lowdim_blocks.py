"""Reference tests of the blocks of the icl-lowdim family (arXiv:2411.02544, 2510.12026,
2509.25741): prompt generator statistics, CG kernel ridge and dual ridge against a direct
float64 solve, the dual form of the MLP + linear-attention model, the Stage-I gradient against
its closed form and finite differences, Lemma 21's ingredients against quadrature, the
softmax-attention gradient, and the test-time-training pieces on planted problems."""

import math

import jax
import jax.numpy as jnp
import numpy as np

from theorylab.data import icl_single_index as dsi
from theorylab.models import label_softmax_attention as lsa
from theorylab.models import mlp_attention as mlpa
from theorylab.models import prompt_krr
from theorylab.models.cg import cg_solve_shifts
from theorylab.optim import test_time as ttt
from theorylab.optim.two_stage import correlational_gradient, normalise_rows, ridge_dual, ridge_primal
from theorylab.theory import icl_lowdim as theory


def test_generator_statistics():
    """beta is a unit vector inside S; x ~ N(0, I); E f^2 = sum_k c_k^2; y - f in {-tau, +tau}."""
    basis = dsi.rotated_basis(jax.random.PRNGKey(1), 12, 3)
    np.testing.assert_allclose(basis.T @ basis, np.eye(3), atol=1e-5)
    c = jnp.array([0.0, 0.6, 0.8])
    p = dsi.sample(jax.random.PRNGKey(0), 4000, 15, basis, c, tau=0.3)
    beta = np.asarray(p.beta)
    np.testing.assert_allclose(np.linalg.norm(beta, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(beta - beta @ basis @ basis.T, 0, atol=1e-5)  # inside S
    x = np.asarray(p.x).reshape(-1, 12)
    assert abs(x.mean()) < 0.01 and abs(x.var() - 1) < 0.01
    f = np.asarray(p.f)
    assert abs((f**2).mean() - 1.0) < 0.03 and abs(f.mean()) < 0.02  # 0.36 + 0.64, h_2 centred
    np.testing.assert_allclose(np.abs(np.asarray(p.y - p.f)), 0.3, atol=1e-5)
    z = np.einsum("nld,nd->nl", np.asarray(p.x), beta)
    np.testing.assert_allclose(f, 0.6 * z + 0.8 * (z**2 - 1) / math.sqrt(2), atol=1e-4)
    # per-prompt links and a coordinate subspace
    cc = jnp.stack([jnp.zeros(5), jnp.ones(5), jnp.arange(5.0)], axis=1)
    q = dsi.sample(jax.random.PRNGKey(2), 5, 3, dsi.coordinate_basis(6, 2), cc)
    zq = np.einsum("nld,nd->nl", np.asarray(q.x), np.asarray(q.beta))
    np.testing.assert_allclose(q.f, zq + np.arange(5.0)[:, None] * (zq**2 - 1) / math.sqrt(2), atol=1e-4)
    assert np.all(np.asarray(q.beta)[:, 2:] == 0)


def _direct_krr(x, y, xq, lam, degree):
    x, y, xq = (np.asarray(a, np.float64) for a in (x, y, xq))
    out = []
    for i in range(len(x)):
        k = (1 + x[i] @ x[i].T / x.shape[-1]) ** degree
        alpha = np.linalg.solve(k + lam * np.mean(np.diag(k)) * np.eye(len(k)), y[i])
        out.append(((1 + xq[i] @ x[i].T / x.shape[-1]) ** degree) @ alpha)
    return np.array(out)


def test_prompt_krr_matches_direct_solve():
    p = dsi.sample(jax.random.PRNGKey(3), 25, 128, dsi.coordinate_basis(16, 2), jnp.array([0, 0, 1.0]))
    x, y, xq, _, _ = dsi.prefix(p, 128)
    lams = jnp.array([1e-4, 1e-2, 1.0])
    pred = np.asarray(prompt_krr.predict(x, y, xq, lams, 4, iters=256))
    for j, lam in enumerate(np.asarray(lams)):
        ref = _direct_krr(x, y, xq, float(lam), 4)
        np.testing.assert_allclose(pred[j], ref, atol=2e-3 * np.abs(ref).max())


def test_cg_and_ridge_dual_match_direct_solve():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((300, 120)).astype(np.float32) / np.sqrt(120)
    k = z @ z.T  # rank 120 of 300: the shift carries the null space, as in a kernel ridge
    y = rng.standard_normal(300).astype(np.float32)
    kv = rng.standard_normal((50, 120)).astype(np.float32) / np.sqrt(120) @ z.T
    yv = rng.standard_normal(50).astype(np.float32)
    lams = np.array([1e-2, 1e-1], np.float32)
    xs = np.asarray(cg_solve_shifts(jnp.asarray(k), jnp.asarray(y), jnp.asarray(lams), 400))
    for j, s in enumerate(lams):
        ref = np.linalg.solve(k.astype(np.float64) + s * np.eye(300), y)
        np.testing.assert_allclose(xs[j], ref, atol=1e-3 * np.abs(ref).max())
    alpha, val = ridge_dual(jnp.asarray(k), jnp.asarray(y), jnp.asarray(kv), jnp.asarray(yv), jnp.asarray(lams), 400)
    scale = np.mean(np.diag(k))
    refs = [np.linalg.solve(k.astype(np.float64) + lam * scale * np.eye(300), y) for lam in lams]
    ref_val = [np.mean((kv @ a - yv) ** 2) for a in refs]
    np.testing.assert_allclose(val, ref_val, rtol=1e-3)
    np.testing.assert_allclose(alpha, refs[int(np.argmin(ref_val))], atol=1e-3 * np.abs(refs[0]).max())
    # the primal ridge of a head
    phi = rng.standard_normal((200, 30)).astype(np.float32)
    a, _ = ridge_primal(jnp.asarray(phi), jnp.asarray(y[:200]), jnp.asarray(phi[:20]), jnp.asarray(y[:20]),
                        jnp.asarray([1e-2]), 300)
    g = phi.T.astype(np.float64) @ phi / 200
    ref = np.linalg.solve(g + 1e-2 * np.mean(np.diag(g)) * np.eye(30), phi.T @ y[:200] / 200)
    np.testing.assert_allclose(a, ref, atol=1e-4 * np.abs(ref).max())


def test_mlp_attention_dual_form():
    """f = phi^T Gamma h with Gamma = sum_t alpha_t phi_t h_t^T equals sum_t alpha_t K(t, .)."""
    kw, kb, kp, ka = jax.random.split(jax.random.PRNGKey(4), 4)
    w, b = jax.random.normal(kw, (30, 6)), jax.random.uniform(kb, (30,), minval=-1, maxval=1)
    p = dsi.sample(kp, 40, 20, dsi.coordinate_basis(6, 2), jnp.array([0, 0, 1.0]))
    x, y, xq, _, _ = dsi.prefix(p, 20)
    phi, h = mlpa.embed(w, b, xq), mlpa.context(w, b, x, y)
    alpha = jax.random.normal(ka, (30,))
    gamma = mlpa.gamma_from_dual(alpha, phi[:30], h[:30])
    np.testing.assert_allclose(mlpa.apply(w, b, gamma, x, y, xq),
                               mlpa.dual_kernel(phi, h, phi[:30], h[:30]) @ alpha, rtol=2e-4, atol=1e-4)
    # explicit sums
    hx = np.mean(np.asarray(y)[..., None] * np.maximum(np.asarray(x) @ np.asarray(w).T + np.asarray(b), 0), axis=1)
    np.testing.assert_allclose(h, hx, rtol=1e-4, atol=1e-5)
    hp = mlpa.context_prefixes(w, b, x, y, (5, 20))
    np.testing.assert_allclose(hp[:, 1], h, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(hp[:, 0], mlpa.context(w, b, x[:, :5], y[:, :5]), rtol=1e-4, atol=1e-5)


def _stage1_problem():
    kw, kb, ks, kp = jax.random.split(jax.random.PRNGKey(5), 4)
    m, d = 12, 5
    w = jax.random.normal(kw, (m, d))
    b = jax.random.uniform(kb, (m,), minval=-1, maxval=1)
    sign = jax.random.rademacher(ks, (m,), jnp.float32)
    basis = dsi.coordinate_basis(d, 2)
    c = jnp.array([0, 0, 1.0])

    def corr(w, k):
        p = dsi.sample(k, 30, 25, basis, c)
        x, y, xq, yq, _ = dsi.prefix(p, 25)
        f = jnp.einsum("nm,m,nm->n", mlpa.embed(w, b, xq), sign, mlpa.context(w, b, x, y))
        return jnp.mean(yq * f)

    return w, b, sign, basis, c, corr, kp


def test_stage1_gradient_closed_form_and_finite_differences():
    """g_j = (1/T) sum_t y^t [relu(w_j.x^t + b_j) h'_j + relu'(w_j.x^t + b_j) x^t h_j] (arXiv:2411.02544, Alg. 1)."""
    w, b, sign, basis, c, corr, kp = _stage1_problem()
    g = np.asarray(correlational_gradient(corr, w, kp, 3), np.float64)
    ref = np.zeros_like(g)
    for ci in range(3):
        p = dsi.sample(jax.random.fold_in(kp, ci), 30, 25, basis, c)
        x, y, xq, yq, _ = (np.asarray(a, np.float64) for a in dsi.prefix(p, 25))
        pre, preq = x @ np.asarray(w).T + np.asarray(b), xq @ np.asarray(w).T + np.asarray(b)
        h = np.einsum("ni,nim->nm", y, np.maximum(pre, 0)) / 25
        hp = np.einsum("ni,nim,nid->nmd", y, (pre > 0).astype(float), x) / 25
        gj = np.maximum(preq, 0)[..., None] * hp + (preq > 0)[..., None] * xq[:, None, :] * h[..., None]
        ref += np.einsum("n,nmd->md", yq, gj) / 30 / 3
    np.testing.assert_allclose(g, np.asarray(sign)[:, None] * ref, rtol=1e-3, atol=1e-5)
    # finite differences of the chunk-averaged objective (ReLU: away from kinks, small eps)
    total = lambda ww: sum(corr(ww, jax.random.fold_in(kp, ci)) for ci in range(3)) / 3
    for (j, k) in ((0, 0), (3, 2), (7, 4)):
        e = jnp.zeros_like(w).at[j, k].set(1e-3)
        fd = (total(w + e) - total(w - e)) / 2e-3
        assert abs(fd - g[j, k]) <= 2e-2 * abs(g).max()
    w1, s = normalise_rows(jnp.asarray(g))
    assert abs(np.median(np.linalg.norm(w1, axis=1)) - 1) < 1e-5


def test_lemma21_ingredients():
    """a_k(b) = E[relu(z + b) He_k(z)] = phi(b) He_{k-2}(-b) (Stein), the chi moments, the spec's numbers."""
    z, wq = np.polynomial.hermite_e.hermegauss(200)
    wq = wq / math.sqrt(2 * math.pi)
    zz = np.linspace(-12, 12, 400_001)
    dens = np.exp(-zz**2 / 2) / math.sqrt(2 * math.pi) * (zz[1] - zz[0])
    for k in (2, 3, 4):
        for b in (-0.7, 0.0, 0.4):
            quad = np.sum(dens * np.maximum(zz + b, 0) * theory._he(k, zz))
            assert abs(quad - theory.relu_hermite_coefficient(k, b)) < 1e-5
    assert theory.chi_moment(2, 2) == 8 and abs(np.sum(wq * z**4 + wq * z**4 * 0) - 3) < 1e-9
    # |g| at b = 0, |w_S|^2 = r/d = 2/16: 5.3e-3 (spec of arXiv:2411.02544, Lemma 21)
    w = np.zeros((1, 16))
    w[0, 0], w[0, 5] = math.sqrt(2 / 16), math.sqrt(14 / 16)
    assert abs(np.linalg.norm(theory.lemma21_gradient(w, np.zeros(1), np.eye(16, 2), 2, 1.0)) - 5.3e-3) < 1e-4
    assert theory.poly_dim(16, 2) == 136 and theory.poly_dim(32, 2) == 528


def test_lemma21_against_monte_carlo_population_gradient():
    """The population gradient E_t[y_q grad f] at N_1 large matches Lemma 21 in direction (d = 4,
    r = 2, He_2/sqrt2), for neurons with a large predicted norm: a small-scale twin of claim A1."""
    d, r, m = 4, 2, 6
    kw, kb, kp = jax.random.split(jax.random.PRNGKey(11), 3)
    w = jax.random.normal(kw, (m, d))
    w = w / jnp.linalg.norm(w, axis=1, keepdims=True)
    b = jax.random.uniform(kb, (m,), minval=-0.5, maxval=0.5)
    basis, c = dsi.coordinate_basis(d, r), jnp.array([0, 0, 1.0])

    def corr(w, k):
        p = dsi.sample(k, 500, 200, basis, c)
        x, y, xq, yq, _ = dsi.prefix(p, 200)
        return jnp.mean(yq * jnp.einsum("nm,nm->n", mlpa.embed(w, b, xq), mlpa.context(w, b, x, y)))

    g = np.asarray(jax.jit(lambda w: correlational_gradient(corr, w, kp, 40))(w))
    pred = np.asarray(theory.lemma21_gradient_jnp(w, b, basis, 2, 1.0))
    np.testing.assert_allclose(pred, theory.lemma21_gradient(np.asarray(w), np.asarray(b), np.eye(d, r), 2, 1.0),
                               rtol=1e-4, atol=1e-7)
    pn = np.linalg.norm(pred, axis=1)
    top = pn >= np.median(pn)
    cos = np.sum(g * pred, 1) / (np.linalg.norm(g, axis=1) * pn)
    assert np.median(cos[top]) > 0.9, cos


def test_softmax_attention_gradient():
    """d g / d Gamma = (1/rho) sum_i p_i (y_i - g) x_i x_q^T (Nishikawa et al., ICML 2025)."""
    p = dsi.sample(jax.random.PRNGKey(6), 3, 10, dsi.coordinate_basis(4, 4), jnp.array([0, 1.0]))
    x, y, xq, _, _ = dsi.prefix(p, 10)
    gamma = jax.random.normal(jax.random.PRNGKey(7), (4, 4)) * 0.3
    rho = 1.7
    jac = jax.jacobian(lambda gm: lsa.attend(gm, x, y, xq, rho))(gamma)  # [n, d, d]
    for n in range(3):
        logits = (y[n] + x[n] @ gamma @ xq[n]) / rho
        pr = np.exp(logits - logits.max())
        pr /= pr.sum()
        g = pr @ y[n]
        ref = np.einsum("i,i,id,e->de", pr, y[n] - g, x[n], xq[n]) / rho
        np.testing.assert_allclose(jac[n], ref, rtol=1e-4, atol=1e-6)


def test_ttt_pieces_on_planted_problems():
    k = jax.random.split(jax.random.PRNGKey(8), 4)
    beta = jnp.array([0.6, -0.8, 0.0, 0.0])
    w = jax.random.normal(k[0], (2000, 4))
    u, quad = ttt.weak_recovery(w @ beta + 0.1 * jax.random.normal(k[1], (2000,)), w)
    assert abs(u @ beta) > 0.99 and not bool(quad)
    u, quad = ttt.weak_recovery((w @ beta) ** 2 - 1, w)
    assert abs(u @ beta) > 0.99 and bool(quad)
    u, quad = ttt.weak_recovery(-((w @ beta) ** 2) + 1, w)  # negative coefficient: largest |eigenvalue|
    assert abs(u @ beta) > 0.99 and bool(quad)
    # strong recovery from overlap 0.6 on the 0.6 h1 + 0.8 h2 link
    x = jax.random.normal(k[2], (3000, 4))
    y = 0.6 * (x @ beta) + 0.8 * ((x @ beta) ** 2 - 1) / math.sqrt(2)
    u0 = 0.6 * beta + 0.8 * jnp.array([0.0, 0.0, 1.0, 0.0])
    v = jax.random.rademacher(k[3], (60,), jnp.float32)
    bb = jnp.linspace(-3, 3, 60)
    u = ttt.strong_recovery(u0, x[:1500], y[:1500], x[1500:], y[1500:], v, bb, rounds=20, lr=0.5, lam=1e-3)
    assert abs(u @ beta) > 0.99 and abs(jnp.linalg.norm(u) - 1) < 1e-5
    # top eigenvectors against numpy
    a = np.random.default_rng(1).standard_normal((6, 6))
    s = a @ a.T + np.diag([30.0, 20, 0, 0, 0, 0])
    q = np.asarray(ttt.top_eigvecs(jnp.asarray(s, jnp.float32), 2, 400))
    ev = np.linalg.eigh(s)[1][:, -2:]
    np.testing.assert_allclose(np.abs(np.linalg.svd(ev.T @ q)[1]), 1, atol=1e-4)


def test_gated_s6_closed_form_is_the_s6_layer():
    """o = sum_l kappa_l y_l gamma.(phi(x_l) * phi(x_q)) equals the general S6 layer's last-channel
    output (models/s6.final_output, and the one-channel recursion) with W_B^T W_C = diag(gamma, 0)."""
    from theorylab.models import gated_s6_icl as gs
    from theorylab.models import s6

    d, n = 3, 12
    dim = gs.embed_dim(d)
    assert dim == 10 and gs.embed_dim(16) == 153 and gs.embed_dim(32) == 561
    p = dsi.sample(jax.random.PRNGKey(9), 4, n, dsi.coordinate_basis(d, 2), jnp.array([0, 0.5, 1.0]))
    gamma = jax.random.normal(jax.random.PRNGKey(10), (dim,))
    rho, b_delta = 2.0, -np.log(n)
    ys = p.y.at[:, -1].set(0.0)
    tok = jnp.concatenate([gs.embed(p.x), ys[..., None]], axis=-1)  # [4, n+1, dim+1]
    layer = gs.as_s6(gamma, rho, b_delta)
    exact = jax.vmap(lambda u: s6.final_output(layer, u)[-1])(tok)
    scan = jax.vmap(lambda u: gs.last_channel_scan(layer, u))(tok)
    kap = gs.kappa(p.y[:, :n], rho, b_delta, gated=True)
    closed = gs.output(gamma, gs.embed(p.x[:, -1]), gs.state(gs.embed(p.x[:, :n]), p.y[:, :n], kap))
    np.testing.assert_allclose(closed, exact, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scan, exact, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gs.kappa(p.y[:, :n], rho, b_delta, gated=False), 1 / n)
    # the embedding and the support mask
    phi = np.asarray(gs.embed(jnp.array([[1.0, 2.0, 3.0]])))[0]
    np.testing.assert_allclose(phi, [1, 1, 2, 3, 0, 3 / np.sqrt(2), 8 / np.sqrt(2), 2, 3, 6], rtol=1e-6)
    assert gs.support_mask(3, np.array([0, 2])).tolist() == [False, True, False, True, True, False, True,
                                                              False, True, False]
