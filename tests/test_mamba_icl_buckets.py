"""mamba-icl with the context length N padded into shape buckets (engine/buckets.py): a run
whose prompts are left-padded to a larger N gives the numbers of the same run compiled at its
own N, per-position observables included, and the check notices a dropped key mask.

Paper: "Trained Mamba Emulates Online Gradient Descent in In-Context Linear Regression"
(arXiv:2509.23779); papers/mamba_icl.py.
"""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

import theorylab as tl
from theorylab.engine import buckets
from theorylab.papers import mamba_icl as M

NS = [8, 10]  # 8 pads to 10: +25 % work (cost ~ N), within the bound
SCALARS = ("train_loss", "test_loss", "ctb_err", "ctb_scale", "curv0", "eta")


def _sorted(run):
    return run.results.sort_values(["run_id", "step"]).reset_index(drop=True)


def _assert_same(a, b, arrays):
    np.testing.assert_array_equal(a["run_id"], b["run_id"])
    np.testing.assert_array_equal(a["stop_step"], b["stop_step"])
    for col in SCALARS:
        np.testing.assert_allclose(a[col], b[col], rtol=1e-4, atol=1e-6, err_msg=col)
    for col in arrays:  # stored at each run's own length (N, or N + 1 with the query)
        assert [len(v) for v in a[col]] == [len(v) for v in b[col]], col
        np.testing.assert_allclose(np.concatenate(a[col].to_list()), np.concatenate(b[col].to_list()),
                                   rtol=1e-3, atol=1e-5, err_msg=col)


def test_context_length_axes_of_the_presets_share_programs():
    """cpu: N = 4..80 (6 values) in three programs (cost ~ N: +18 % padded work); paper: 12 values in three."""
    for preset, n_programs in ((M.CTX_CPU, 3), (M.CTX_PAPER, 3)):
        counts = {c["N"]: preset.seeds for c in preset.cells}
        m = buckets.choose(counts, M.Config.__dataclass_fields__["N"].metadata["bucket"])
        assert len(set(m.values())) == n_programs and max(m.values()) == max(counts)
        assert buckets.waste(counts, m, 1.0) <= buckets.MAX_WASTE


def test_context_length_padded_into_a_bucket_equals_its_own_size(tmp_path):
    """The attention baselines and every error-against-position curve included."""
    curves = [c for c in M.PER_POSITION if c.startswith("curve_")]
    padded = tl.run(M.CONTEXT, "smoke", sweep={"N": NS}, out=tmp_path / "b")
    exact = tl.run(M.CONTEXT, "smoke", sweep={"N": NS}, out=tmp_path / "e", buckets=False)
    assert padded.summary["timing"]["chunks"] == 1 < exact.summary["timing"]["chunks"] == 2
    a, b = _sorted(padded), _sorted(exact)
    _assert_same(a, b, curves)
    for col in ("train_loss_la", "train_loss_sm"):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-4, atol=1e-6, err_msg=col)
    assert (a.groupby("run_id")["train_loss_sm"].nunique() > 1).all()  # softmax attention trained


@pytest.mark.slow  # 12 s more; the default run is near CI's 10 minutes
def test_dropping_the_key_mask_changes_the_padded_runs(tmp_path, monkeypatch):
    """The check above has teeth: softmax attention that also attends to the zero tokens changes
    the numbers of every run padded into the bucket, and only those."""
    padded = _sorted(tl.run(M.CONTEXT, "smoke", sweep={"N": NS}, out=tmp_path / "b"))
    monkeypatch.setattr(M, "_keys", lambda cfg: jnp.ones(cfg.N, bool))
    unmasked = dataclasses.replace(M.CONTEXT, problem=dataclasses.replace(M.PROBLEM, loss=lambda *x: M.loss(*x)))
    c = _sorted(tl.run(unmasked, "smoke", sweep={"N": NS}, out=tmp_path / "x"))
    small = (c["N"] < max(NS)).to_numpy()
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(c["train_loss_sm"][small], padded["train_loss_sm"][small], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(c["train_loss_sm"][~small], padded["train_loss_sm"][~small], rtol=1e-4, atol=1e-6)


@pytest.mark.slow  # 12 s; the default run is near CI's 10 minutes (the left-padded S6 features: test_icl.py)
def test_trained_delta_padded_into_a_bucket_equals_its_own_size(tmp_path):
    """w_Delta trainable (features recomputed from the raw tokens every step), with cos(h_l, w)
    and the per-position weights."""
    sets = dict(train_delta=True, steps=40, log_every=20)
    padded = tl.run(M.TRAIN, "smoke", set=sets, sweep={"N": NS}, out=tmp_path / "b")
    exact = tl.run(M.TRAIN, "smoke", set=sets, sweep={"N": NS}, out=tmp_path / "e", buckets=False)
    assert padded.summary["timing"]["chunks"] < exact.summary["timing"]["chunks"]
    a, b = _sorted(padded), _sorted(exact)
    _assert_same(a, b, ["cos", "weights"])
    np.testing.assert_allclose(a["w_delta_norm"], b["w_delta_norm"], rtol=1e-4, atol=1e-6)
    assert (a.groupby("run_id")["w_delta_norm"].nunique() > 1).all()  # w_Delta moved
