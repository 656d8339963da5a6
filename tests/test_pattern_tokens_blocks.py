"""The pattern-token blocks: the generator's statistics and label rules, the gated S6 block
against the sequential S6 layer and the literal gate product, finite-difference gradients, the
readout, hinge loss and magnitude pruning."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theorylab.data import pattern_tokens as pt
from theorylab.models import gated_s6, s6, token_mlp


def test_majority_fractions_patterns_noise_and_label_rule():
    d, L, M, n_rel, n_conf, tau = 16, 20, 12, 7, 3, 0.3
    draw = jax.jit(lambda k, r: pt.majority(k, 400, d=d, L=L, M=M, n_rel=r, n_conf=n_conf, tau=tau))
    t = draw(jax.random.PRNGKey(0), jnp.asarray(n_rel))  # a traced count: one program for every fraction
    kind, pat, y = np.asarray(t.kind), np.asarray(t.pattern), np.asarray(t.y)
    assert (y == np.where(np.arange(400) % 2 == 0, 1, -1)).all()  # balanced
    assert ((kind == pt.RELEVANT).sum(1) == n_rel).all() and ((kind == pt.CONFUSION).sum(1) == n_conf).all()
    own = np.where(y > 0, 0, 1)[:, None]
    assert (pat[kind == pt.RELEVANT] == np.broadcast_to(own, pat.shape)[kind == pt.RELEVANT]).all()
    assert (pat[kind == pt.CONFUSION] == 1 - np.broadcast_to(own, pat.shape)[kind == pt.CONFUSION]).all()
    irr = pat[kind == pt.IRRELEVANT]
    assert irr.min() == 2 and irr.max() == M - 1  # uniform over the irrelevant patterns
    assert abs(np.bincount(irr, minlength=M)[2:].std() / np.bincount(irr)[2:].mean()) < 0.1
    # the label is the majority vote of o_+ and o_-
    assert (np.sign((pat == 0).sum(1) - (pat == 1).sum(1)) == y).all()
    # the relevant tokens are spread uniformly over the positions
    assert abs((kind == pt.RELEVANT).mean(0) - n_rel / L).max() < 0.1
    # noise: |xi| ~ tau, orthogonal dictionary = the standard basis
    xi = np.asarray(t.x) - np.eye(d)[pat]
    np.testing.assert_allclose(np.sqrt((xi**2).sum(-1)).mean(), tau, rtol=0.05)


def test_locality_pairs_and_distances():
    L, dc, df = 10, 2, 6
    t = jax.jit(lambda k: pt.locality(k, 300, d=8, L=L, M=8, dl_close=dc, dl_far=df, tau=0.1))(jax.random.PRNGKey(1))
    pat, y = np.asarray(t.pattern), np.asarray(t.y)
    for i in range(300):
        plus, minus = np.nonzero(pat[i] == 0)[0], np.nonzero(pat[i] == 1)[0]
        assert len(plus) == 2 and len(minus) == 2  # four distinct positions
        dist_plus, dist_minus = plus[1] - plus[0], minus[1] - minus[0]
        assert (dist_plus, dist_minus) == ((dc, df) if y[i] > 0 else (df, dc))
    np.testing.assert_allclose(pt.locality_gap(1, 6), 0.5 - 1 / 64)


def _inputs(L=6, d=5, d_h=4):
    ks = jax.random.split(jax.random.PRNGKey(2), 4)
    x = jax.random.normal(ks[0], (L, d))
    return x, jax.random.normal(ks[1], (d,)), jax.random.normal(ks[2], (d_h, d)), jax.random.normal(ks[3], (d_h, d))


def test_gated_block_is_the_s6_layer_and_the_gate_product():
    x, w, wb, wc = _inputs()
    y = jax.jit(lambda *a: gated_s6.mix(a[0], a[1], gated_s6.overlap(a[1], *a[2:])))(w, x, wb, wc)
    o, _ = jax.jit(lambda *a: s6.scan(gated_s6.as_s6(*a[:3]), a[3]))(w, wb, wc, x)  # the sequential S6 layer with A = -1
    np.testing.assert_allclose(y, o, atol=1e-4)
    # the literal sum: G_{l,s} = sigma(z_s) prod_{j=s+1..l} (1 - sigma(z_j))
    xn, sig = np.asarray(x, float), 1 / (1 + np.exp(-np.asarray(x @ w, float)))
    pm = (xn @ np.asarray(wc, float).T) @ (xn @ np.asarray(wb, float).T).T
    ref = np.zeros_like(xn)
    for l in range(len(xn)):
        for s in range(l + 1):
            ref[l] += sig[s] * np.prod(1 - sig[s + 1:l + 1]) * pm[l, s] * xn[s]
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)
    # w_Delta = 0: every gate factor is 1/2
    g = jax.jit(gated_s6.gate_kernel)(jnp.zeros(5), x)
    np.testing.assert_allclose(g[3, 1], 0.5**3, rtol=1e-5) and np.testing.assert_allclose(g[1, 3], 0.0)


def test_block_gradients_match_finite_differences():
    with jax.enable_x64(True):
        x, w, _, _ = _inputs(L=5, d=4)
        x, w = x.astype(jnp.float64), w.astype(jnp.float64)
        v = jax.random.normal(jax.random.PRNGKey(3), (6, 4), jnp.float64)
        a = token_mlp.readout_signs(6)
        f = jax.jit(lambda w, v: token_mlp.readout(v, a, gated_s6.mix(w, x, gated_s6.overlap(x))))
        gw, gv = jax.jit(jax.grad(f, argnums=(0, 1)))(w, v)
        eps = 1e-6
        for i in range(4):
            e = jnp.zeros(4).at[i].set(eps)
            np.testing.assert_allclose(gw[i], (f(w + e, v) - f(w - e, v)) / (2 * eps), rtol=1e-5, atol=1e-8)
        e = jnp.zeros((6, 4)).at[2, 1].set(eps)
        np.testing.assert_allclose(gv[2, 1], (f(w, v + e) - f(w, v - e)) / (2 * eps), rtol=1e-5, atol=1e-8)


def test_readout_hinge_and_pruning():
    a = token_mlp.readout_signs(4)
    np.testing.assert_allclose(a, [0.5, 0.5, -0.5, -0.5])
    v = jnp.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0], [0.0, 4.0]])
    h = jnp.array([[1.0, 1.0], [1.0, -1.0]])  # two tokens
    per_token = np.array([0.5 * (1 + 2) - 0.5 * (3 + 4), 0.5 * 1 - 0.5 * 3])
    np.testing.assert_allclose(token_mlp.readout(v, a, h), per_token.mean())
    np.testing.assert_allclose(token_mlp.readout(v, a, h, keep=jnp.array([False, True])), per_token[1])
    np.testing.assert_allclose(token_mlp.hinge_loss(jnp.array([-1.0, 0.5, 2.0])), [2.0, 0.5, 0.0])
    small = token_mlp.prune_rows(v, 0.5)
    large = token_mlp.prune_rows(v, jnp.asarray(0.25), largest=True)
    assert np.asarray(jnp.linalg.norm(small, axis=1) > 0).tolist() == [False, False, True, True]
    assert np.asarray(jnp.linalg.norm(large, axis=1) > 0).tolist() == [True, True, True, False]


def test_vit_template_attention_mask_gradients_and_baseline():
    from theorylab.models import vit_template
    from theorylab.models.attention import AttentionParams, attention

    with jax.enable_x64(True):
        p = vit_template.init(jax.random.PRNGKey(4), 5, 6, c_qk=0.5, eps0=0.3, xi=0.5)
        p = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), p)
        x = jax.random.normal(jax.random.PRNGKey(5), (2, 7, 5), jnp.float64)
        keep = jnp.array([[True] * 7, [True, False, True, True, False, True, True]])
        a = token_mlp.readout_signs(6)
        att = jax.jit(vit_template.attention_weights)(p, x, keep)
        np.testing.assert_allclose(att.sum(-1), 1.0, rtol=1e-12)
        assert float(jnp.abs(att[1][:, [1, 4]]).max()) == 0.0  # removed keys get no weight
        # the scores are models/attention.py's q k^T with q = X W_Q^T, k = X W_K^T
        ref = attention(AttentionParams(p["w_q"].T, p["w_k"].T, p["w_v"].T), x[0])
        np.testing.assert_allclose(att[0], ref, rtol=1e-10)
        # F by hand for sample 1: mean over kept queries of a^T ReLU(W_O W_V sum_k A x_k)
        h = (att[1] @ x[1]) @ p["w_v"].T
        byhand = (jax.nn.relu(h @ p["w_o"].T) @ a)[np.asarray(keep[1])].mean()
        np.testing.assert_allclose(vit_template.apply(p, a, x, keep)[1], byhand, rtol=1e-10)
        # the no-attention baseline: each token alone
        h0 = x[0] @ p["w_v"].T
        np.testing.assert_allclose(vit_template.apply(p, a, x, attention=False)[0],
                                   (jax.nn.relu(h0 @ p["w_o"].T) @ a).mean(), rtol=1e-10)
        f = jax.jit(lambda p: jnp.sum(vit_template.apply(p, a, x, keep) * jnp.array([1.0, -0.7])))
        g = jax.jit(jax.grad(f))(p)
        eps = 1e-6
        for name, idx in (("w_q", (1, 2)), ("w_k", (0, 3)), ("w_v", (4, 4)), ("w_o", (2, 1))):
            e = jnp.zeros_like(p[name]).at[idx].set(eps)
            fd = (f(dict(p, **{name: p[name] + e})) - f(dict(p, **{name: p[name] - e}))) / (2 * eps)
            np.testing.assert_allclose(g[name][idx], fd, rtol=1e-5, atol=1e-9)


def test_icl_prompts_label_rule_fractions_and_ood_patterns():
    from theorylab.data import pattern_prompts as pp

    m1, m2, l, alpha = 6, 24, 20, 0.6
    idr, idi = pp.in_domain_patterns(m1, m2)
    tasks = pp.train_tasks(m1)
    assert len(pp.other_tasks(m1, tasks)) == 24 and len(pp.other_tasks(m1 // 2)) == 6
    s = jax.jit(lambda k: pp.sample(k, 2000, l, relevant=idr, irrelevant=idi, tasks=jnp.asarray(tasks),
                                    alpha=alpha))(jax.random.PRNGKey(6))
    tok = np.asarray(s.tokens)
    x, y, z = tok[..., :-1], tok[..., -1], np.asarray(s.z)
    pat = np.argmax(np.abs(x[..., :m1]), axis=-1)  # the relevant pattern of every token
    kappa = x[..., m1:]
    assert np.abs(kappa).max() <= 0.5 + 1e-6 and ((np.abs(kappa) > 0).sum(-1) <= 1).all()  # kappa * one IDI pattern
    assert (y[:, -1] == 0).all()  # the query carries no label
    a_task, same = pat[:, -1], np.asarray(s.same)
    assert (same == (pat[:, :-1] == a_task[:, None])).all()
    # contexts with the query's pattern carry the query's label: the task is learnable in context
    assert (y[:, :-1][same] == np.broadcast_to(z[:, None], same.shape)[same]).all()
    # P(context in the task's pair) = alpha, so the query's own pattern has alpha / 2
    np.testing.assert_allclose(same.mean(), alpha / 2, atol=0.01)
    odr, odi = pp.ood_patterns(m1, m2, 1.2)
    np.testing.assert_allclose(np.asarray(odr).sum(1), 1.2, rtol=1e-6)  # coefficient sum S1
    np.testing.assert_allclose(np.asarray(odi @ odi.T), np.eye(m2), atol=1e-5)  # a rotation of the IDI basis
    assert np.abs(np.asarray(odi)[:, :m1]).max() == 0.0  # orthogonal to every IDR pattern
