"""Parity with chain of thought (arXiv:2410.08633): the tree, the link, the masks, the TF
gradient against finite differences and against App. B's formula, the smoke run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np

import theorylab as tl
from theorylab.data import parity_tree as pt
from theorylab.models import parity_attention as pa
from theorylab.papers import parity_cot


def test_tree_nodes_are_pair_products_and_the_top_is_the_parity():
    d, k = 12, 8
    tree = pt.sample_tree(jax.random.PRNGKey(0), d, k)
    ch = np.asarray(tree.children)
    leaves = ch[: k // 2].ravel()
    assert len(set(leaves)) == k and leaves.max() < d  # k distinct input bits
    np.testing.assert_array_equal(ch[k // 2:], np.arange(d, d + k - 2).reshape(-1, 2))  # levels pair in order
    x = np.asarray(pt.node_values(pt.sample_bits(jax.random.PRNGKey(1), 500, d), tree))
    for i, (a, b) in enumerate(ch):
        np.testing.assert_array_equal(x[:, d + i], x[:, a] * x[:, b])
    np.testing.assert_array_equal(x[:, -1], np.prod(x[:, leaves], axis=1))
    np.testing.assert_array_equal(pt.level_ends(d, k), [12, 16, 18, 19])
    np.testing.assert_array_equal(pt.levels(d, k), [1, 1, 1, 1, 2, 2, 3])


def test_link_multiplies_two_signs():
    for a in (-1.0, 1.0):
        for b in (-1.0, 1.0):
            assert float(pa.phi(jnp.asarray((a + b) / 2))) == a * b
    t = jnp.asarray([-0.5 - 1e-6, -0.5 + 1e-6, 0.5 - 1e-6, 0.5 + 1e-6])
    np.testing.assert_allclose(pa.phi(t), 0.0, atol=1e-4)  # continuous at +-1/2
    assert float(pa.phi(jnp.asarray(0.0))) == -1.0


def test_masks():
    d, k = 6, 4
    causal, block = pa.causal_mask(d, k), pa.block_mask(d, k)
    assert causal[:, 0].sum() == d and causal[:, 2].sum() == d + 2  # node m sees j < m
    assert block[:, 0].sum() == d and block[:, 1].sum() == d and block[:, 2].sum() == d + 2  # lower levels only


def test_tf_gradient_matches_finite_differences_in_float64():
    code = textwrap.dedent("""
        import jax, jax.numpy as jnp, numpy as np
        jax.config.update("jax_enable_x64", True)
        from theorylab.data import parity_tree as pt
        from theorylab.models import parity_attention as pa
        d, k = 8, 4
        tree = pt.sample_tree(jax.random.PRNGKey(0), d, k)
        x = pt.node_values(pt.sample_bits(jax.random.PRNGKey(1), 300, d), tree)
        w = 0.5 * jax.random.normal(jax.random.PRNGKey(2), (d + k - 1, d + k - 1))
        loss = jax.jit(lambda w: pa.cot_loss(pa.teacher_forced(w, x, d, k), x[:, d:]))
        g = np.asarray(jax.grad(loss)(w))
        worst = 0.0
        for j in range(d + k - 1):
            for m in range(d, d + k - 1):
                if j >= m:
                    continue
                e = jnp.zeros_like(w).at[j, m].set(1e-6)
                fd = (loss(w + e) - loss(w - e)) / 2e-6
                worst = max(worst, abs(float(fd) - g[j, m]) / np.abs(g).max())
        print(worst)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout.strip().splitlines()[-1]) < 1e-6


def test_zero_gradient_approaches_the_formula():
    cfg = parity_cot.Config(d=16, k=4, n=60000, n_test=10)
    _, data = parity_cot.setup(jax.random.PRNGKey(3), cfg)
    ratio, off = jax.jit(parity_cot._zero_gradient, static_argnums=1)(data, cfg)
    np.testing.assert_allclose(np.asarray(ratio), 1.0, atol=0.2)
    assert float(np.max(off)) < 0.3


def test_one_step_smoke_end_to_end(tmp_path):
    run = tl.run(parity_cot.ONE_STEP, preset="smoke", out=tmp_path / "pc")
    assert tl.check(run.dir).ok
    fin = run.results[run.results["step"] == 1]
    assert set(fin["lr"]) == {30.0, 300.0, 3000.0} and fin["test_acc"].between(0, 1).all()


def test_every_training_mode_is_zero_at_the_ideal_weights():
    """W with a large equal weight on both children of every node computes the chain exactly, so the
    TF, direct and CoT losses all vanish and the generated chain is right under both masks."""
    d, k = 10, 8
    for mode in ("tf", "direct", "cot"):
        cfg = parity_cot.TrainConfig(d=d, k=k, n=500, n_test=200, mode=mode)
        _, data = parity_cot.setup(jax.random.PRNGKey(4), cfg)
        ch = np.asarray(data["children"])
        w = np.zeros((d + k - 1, d + k - 1), np.float32)
        for i, (a, b) in enumerate(ch):
            w[a, d + i] = w[b, d + i] = 40.0
        loss = float(parity_cot.train_loss(jnp.asarray(w), data, cfg, None))
        obs = parity_cot.train_observe(jnp.asarray(w), data, cfg)
        assert loss < 1e-6, mode
        assert float(obs["test_acc"]) == 1.0 and float(obs["child_mass_min"]) > 0.999
