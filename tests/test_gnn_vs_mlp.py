"""SNM-SBM graphs, the aggregation, the GCN's gradient against finite differences, the
benign-overfitting thresholds, and the threshold measurement of gnn-vs-mlp/phase."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import theorylab
from theorylab.data import sbm
from theorylab.models import cnn, gcn
from theorylab.models.losses import logistic_loss
from theorylab.papers import gnn_vs_mlp as G
from theorylab.theory import gnn_sbm as theory


def test_sbm_statistics_degree_and_homophily():
    N, D, h = 400, 8.0, 0.9
    y = jnp.where(jnp.arange(N) % 2 == 0, 1.0, -1.0)
    degs, homs = [], []
    for s in range(5):
        A = np.asarray(jax.jit(sbm.sample_sbm)(jax.random.PRNGKey(s), y, D, h))
        assert np.all(A == A.T) and np.all(np.diag(A) == 0) and set(np.unique(A)) <= {0.0, 1.0}
        degs.append(A.sum(1).mean())
        same = np.asarray(y)[:, None] == np.asarray(y)[None, :]
        homs.append((A * same).sum() / A.sum())
    # expected degree: p (N/2 - 1) + s N/2 = D - p ~ 7.96; sd of the mean degree over 5 graphs ~ 0.06
    assert np.mean(degs) == pytest.approx(D * (1 - 2 * h / N), abs=0.25)
    assert np.mean(homs) == pytest.approx(h * (N / 2 - 1) / (N / 2 - h), abs=0.02)


def test_aggregation_row_and_sym_against_explicit_sums():
    rng = np.random.default_rng(0)
    N = 7
    A = np.triu((rng.uniform(size=(N, N)) < 0.4).astype(float), 1)
    A = A + A.T
    x = rng.normal(size=(N, 2, 3))
    row = np.asarray(sbm.aggregate(jnp.asarray(A), jnp.asarray(x), "row"))
    sym = np.asarray(sbm.aggregate(jnp.asarray(A), jnp.asarray(x), "sym"))
    deg = A.sum(1) + 1
    for i in range(N):
        nb = [i] + list(np.flatnonzero(A[i]))
        np.testing.assert_allclose(row[i], x[nb].mean(0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(sym[i], sum(x[j] / math.sqrt(deg[i] * deg[j]) for j in nb), rtol=1e-5, atol=1e-6)


def test_aggregated_signal_has_the_predicted_mean():
    """E ybar_i ~ y_i (1 + (2h - 1) D) / (D + 1): the aggregated signal patch is ybar_i mu."""
    N, D, h = 400, 8.0, 0.9
    y = jnp.where(jnp.arange(N) % 2 == 0, 1.0, -1.0)
    x = jnp.stack([y, jnp.zeros(N)], 1)[:, :, None]  # signal coefficient only
    vals = []
    for s in range(4):
        A = sbm.sample_sbm(jax.random.PRNGKey(10 + s), y, D, h)
        vals.append(float(jnp.mean(y * sbm.aggregate(A, x)[:, 0, 0])))
    assert np.mean(vals) == pytest.approx((1 + (2 * h - 1) * D) / (D + 1), abs=0.03)


def test_gcn_gradient_against_finite_differences():
    with jax.enable_x64(True):
        k = jax.random.split(jax.random.PRNGKey(0), 4)
        N, d, m, q = 12, 6, 3, 3
        y = jnp.where(jnp.arange(N) % 2 == 0, 1.0, -1.0)
        x = jax.random.normal(k[0], (N, 2, d), jnp.float64)
        A = sbm.sample_sbm(k[1], y, 3.0, 0.8).astype(jnp.float64)
        w = 0.5 * jax.random.normal(k[2], (2, m, d), jnp.float64)

        def L(w):
            return jnp.mean(logistic_loss(y * gcn.apply(w, A, x, q)))

        g = jax.jit(jax.grad(L))(w)
        v = jax.random.normal(k[3], w.shape, jnp.float64)
        h = 1e-6
        L = jax.jit(L)
        fd = (L(w + h * v) - L(w - h * v)) / (2 * h)
        assert float(jnp.sum(g * v)) == pytest.approx(float(fd), rel=1e-6)
        # the GCN is the CNN on aggregated features; with no edges, x~ = x
        np.testing.assert_allclose(np.asarray(gcn.apply(w, jnp.zeros_like(A), x, q)), np.asarray(cnn.apply(w, x, q)))


def test_thresholds_of_the_spec():
    assert [round(theory.mlp_threshold(n, 800, 1.0, 3), 1) for n in (10, 20, 40, 80)] == [13.1, 10.4, 8.3, 6.6]
    assert theory.mlp_threshold(20, 2000, 1.0, 3) == pytest.approx(16.5, abs=0.05)
    assert [round(theory.gcn_ratio(D, 3), 2) for D in (4, 8, 16, 32)] == [0.63, 0.5, 0.4, 0.31]
    assert [round(theory.gcn_ratio(D, 3, "arxiv"), 2) for D in (4, 8, 16, 32)] == [0.79, 0.71, 0.63, 0.56]
    assert theory.naive_ratio(4, 0.9) == pytest.approx(0.53, abs=0.01)
    assert theory.naive_ratio(16, 0.9) == pytest.approx(0.30, abs=0.01)


def test_threshold_interpolation():
    mus = np.array([2.0, 4.0, 8.0, 16.0])
    assert G.threshold(mus, np.array([0.5, 0.5, 1.0, 1.0])) == pytest.approx(4.0 * 2 ** 0.5)
    assert math.isnan(G.threshold(mus, np.full(4, 0.5)))
    assert G.threshold(mus, np.ones(4)) == 2.0
    at_level = 0.7499999761581421  # a float32 seed mean of 0.75 (paper run, D = 1) reaches the level
    assert G.threshold(mus, np.array([0.5, 0.5, 0.5, at_level])) == pytest.approx(16.0)
    assert math.isnan(G.threshold(mus, np.array([0.5, 0.5, 0.5, 0.7495])))


def test_loss_ignores_unlabelled_rows_and_bad_configs_are_one_line_errors():
    cfg = G.Config(d=40, n_graph=30, n_max=10, n=4, n_test=10, m=2, steps=2, log_every=1)
    w, data = jax.jit(G.setup, static_argnums=1)(jax.random.PRNGKey(0), cfg)
    loss = jax.jit(lambda w, data: G.loss(w, data, cfg, None))
    l0 = float(loss(w, data))
    data2 = dict(data, x=data["x"].at[4:].set(100.0))
    assert float(loss(w, data2)) == pytest.approx(l0, rel=1e-6)
    from theorylab.config import ConfigError

    with pytest.raises(ConfigError, match="n_max"):
        G.Config(n=90, n_max=80).check()
    with pytest.raises(ConfigError, match="degree"):
        G.Config(degree=300.0).check()


@pytest.mark.slow
def test_smoke_preset_end_to_end(tmp_path):
    run = theorylab.run(G.PHASE, preset="smoke", out=tmp_path / "g")
    assert run.ok
    assert {c.id for c in run.claims} == {"G1-gcn-benign-band", "G2-mlp-threshold", "G3-degree-effect", "G4-mechanism"}
    assert (tmp_path / "g" / "figures" / "heatmaps.png").exists()
