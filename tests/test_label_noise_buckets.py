"""label-noise-gd with n padded into shape buckets (engine/buckets.py): a run padded to a larger
n gives the numbers of the same run compiled at its own n, and the check notices a dropped mask.

Paper: "Towards understanding the benefit of label noise GD in the low-SNR regime"
(arXiv:2510.17526); papers/label_noise_gd.py.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import theorylab as tl
from theorylab.engine import buckets
from theorylab.models import cnn, decomposition
from theorylab.papers import label_noise_gd as A

COLS = ("train_loss", "train_acc", "test_loss", "test_acc", "gamma_max", "rho_max", "rho_over_gamma", "rho_mean")
# (experiment, --set, n values that share one bucket: the smaller ones padded to the largest)
CASES = {
    "phase": (A.PHASE, dict(steps=60, log_every=20), [6, 8]),
    "dynamics": (A.DYNAMICS, dict(steps=40, log_every=10), [5, 6, 8]),
}


def _sorted(run):
    return run.results.sort_values(["run_id", "step"]).reset_index(drop=True)


def _assert_same(a, b):
    np.testing.assert_array_equal(a["run_id"], b["run_id"])
    np.testing.assert_array_equal(a["stop_step"], b["stop_step"])
    for col in COLS:
        np.testing.assert_allclose(a[col], b[col], rtol=1e-4, atol=1e-6, err_msg=col)


def _unmasked(exp):
    """The experiment with the sample mask dropped: padded samples are trained on as real ones."""
    def setup(key, cfg):
        mu = A.signal_noise.signal_vectors(cfg.d, cfg.mu_norm, "antipodal")[0]
        return cnn.setup_runs(key, m=cfg.m, d=cfg.d, sigma0=cfg.sigma0, n=cfg.n, n_test=cfg.n_test, mu=mu,
                              sample=lambda k, size: A._sample(k, size, cfg), mask=jnp.ones(cfg.n, bool))
    return dataclasses.replace(exp, problem=dataclasses.replace(exp.problem, setup=setup))


def test_the_n_axes_of_the_presets_share_programs():
    """cpu: n = 25..175 (7 sizes) in two buckets (cost ~ n, padded work +32 %); the same
    relative spread in the paper's Fig. 3 grid (n = 100..700)."""
    for preset in (A.PHASE_CPU, A.PHASE_PAPER):
        ns = sorted({c["n"] for c in preset.cells})
        counts = {n: 2 * len(A.PAPER_SNRS) for n in ns}
        m = buckets.choose(counts, A.Config.__dataclass_fields__["n"].metadata["bucket"])
        assert len(ns) == 7 and len(set(m.values())) == 2 and max(m.values()) == ns[-1]
        assert 0.3 < buckets.waste(counts, m, 1.0) <= buckets.MAX_WASTE


# dynamics is slow (17 s cold): phase covers the same mask with label noise on half its cells
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "dynamics" else n for n in sorted(CASES)])
def test_a_run_padded_into_a_bucket_equals_the_run_at_its_own_size(name, tmp_path):
    exp, sets, ns = CASES[name]
    padded = tl.run(exp, "smoke", set=sets, sweep={"n": ns}, out=tmp_path / "b")
    exact = tl.run(exp, "smoke", set=sets, sweep={"n": ns}, out=tmp_path / "e", buckets=False)
    assert padded.summary["timing"]["chunks"] == 1 < exact.summary["timing"]["chunks"] == len(ns)
    a, b = _sorted(padded), _sorted(exact)
    _assert_same(a, b)
    last = a[a["step"] == a["step"].max()]
    assert (last["rho_max"] > 0).all() and (last["gamma_max"] > 0).all()  # the filters moved
    assert (a.groupby("run_id")["train_loss"].nunique() > 1).all()  # and the loss with them
    if name == "phase":  # label noise on half the cells: its per-step draws agree too
        assert (a["label_noise_p"] > 0).any() and (a["label_noise_p"] == 0).any()

    # the check has teeth: without the mask the padded samples train, and the numbers change
    broken = tl.run(_unmasked(exp), "smoke", set=sets, sweep={"n": ns}, out=tmp_path / "x")
    c = _sorted(broken)
    small = c["n"] < max(ns)
    with pytest.raises(AssertionError):
        _assert_same(c[small].reset_index(drop=True), b[small].reset_index(drop=True))
    # the largest n is not padded: its runs are the same with or without the mask
    _assert_same(c[~small].reset_index(drop=True), b[~small].reset_index(drop=True))


def test_padded_basis_keeps_the_own_block_and_zero_coefficients_for_padding():
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    d, n, b = 40, 5, 9
    mu = jnp.zeros(d).at[0].set(2.0)
    xi = jax.random.normal(k1, (b, d)).at[:, 0].set(0.0)
    dw = jax.random.normal(k2, (2, 3, d))
    w0 = jax.random.normal(k3, (2, 3, d))
    own = A.decomposition.basis(mu, xi[:n])
    pad = decomposition.basis(mu, xi, jnp.arange(b) < n)
    g_own, r_own = A.decomposition.decompose(w0 + dw, w0, own)
    g_pad, r_pad = A.decomposition.decompose(w0 + dw, w0, pad)
    np.testing.assert_allclose(g_pad, g_own, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r_pad[..., :n], r_own, rtol=1e-5, atol=1e-6)
    assert np.all(np.asarray(r_pad[..., n:]) == 0.0)
    full = decomposition.basis(mu, xi, jnp.ones(b, bool))  # nothing padded: the plain basis, by hand
    rows = np.concatenate([np.asarray(mu)[None] / float(mu @ mu), np.asarray(xi) / np.sum(np.asarray(xi) ** 2, 1)[:, None]])
    unit = rows / np.linalg.norm(rows, axis=1)[:, None]
    np.testing.assert_allclose(full.unit, unit, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(full.gram_inv, np.linalg.inv(unit @ unit.T), rtol=1e-3, atol=1e-4)
