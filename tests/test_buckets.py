"""Shape buckets: runs of different sizes share one program, padded, and give the numbers of
the same runs compiled at their own sizes.

The toy: least squares on N fresh-per-run samples, w in R^d, loss (1/2N) sum_i (w.x_i - y_i)^2
over the run's own N samples; a padded run masks the others.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import theorylab as tl
from theorylab.engine import buckets


@dataclasses.dataclass(frozen=True)
class Config:
    N: int = tl.param(8, "samples", static=True, lo=1, bucket=1)
    d: int = tl.param(5, "dimension", static=True, lo=1)
    steps: int = tl.param(30, "GD steps", static=True, lo=1)
    log_every: int = tl.param(10, "log period", static=True, lo=1)
    lr: float = tl.param(0.1, "step size", lo=0.0, lo_open=True)
    stop: float = tl.param(0.0, "stop below this training loss", lo=0.0)


def setup(key, cfg):
    kx, kw, kt = jax.random.split(key, 3)
    x = jax.random.normal(kx, (cfg.N, cfg.d))  # leading axis: prefix-stable draws
    y = x @ jax.random.normal(kt, (cfg.d,))
    mask = tl.size_mask(cfg, "N")
    return jax.random.normal(kw, (cfg.d,)), {"x": x * mask[:, None], "y": y * mask, "mask": mask}


def loss(w, data, cfg, key):
    r = (data["x"] @ w - data["y"]) * data["mask"]
    return 0.5 * jnp.sum(r**2) / tl.true_size(cfg, "N")


def observe(w, data, cfg):
    resid = (data["x"] @ w - data["y"]) * data["mask"]  # [N]: one per sample, padding last
    return {"loss": loss(w, data, cfg, None), "w0": w[0], "n_seen": jnp.sum(data["mask"]).astype(float),
            "resid": resid, "resid_rev": jnp.append(resid[::-1], w[0])}  # [N + 1]: padding first


PROBLEM = tl.Problem(setup=setup, loss=loss, observe=observe, stop_below=lambda cfg: cfg.stop,
                     padded_axes=(tl.PaddedAxis("resid", "N"), tl.PaddedAxis("resid_rev", "N", pad="start")))
EXP = tl.Experiment(name="test/bucketed-ls", summary="least squares with bucketed N", config=Config, problem=PROBLEM,
                    presets={"smoke": tl.Preset(base={}, cells=tl.cross(N=[3, 7, 8, 16], lr=[0.05, 0.2]),
                                                seeds=2)},
                    claims=lambda df, r: [], figures=lambda df, r: {})


def test_padded_runs_equal_runs_compiled_at_their_own_size(tmp_path):
    padded = tl.run(EXP, "smoke", out=tmp_path / "b", set={"stop": 0.05})
    exact = tl.run(EXP, "smoke", out=tmp_path / "e", set={"stop": 0.05}, buckets=False)
    a = padded.results.sort_values(["run_id", "step"]).reset_index(drop=True)
    b = exact.results.sort_values(["run_id", "step"]).reset_index(drop=True)
    assert (a["n_seen"] == a["N"]).all()  # each run saw exactly its own samples
    np.testing.assert_array_equal(a["stop_step"], b["stop_step"])
    np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(a["w0"], b["w0"], rtol=1e-5, atol=1e-6)
    # per-sample observables are stored at each run's own length, whichever side the padding was
    assert [len(v) for v in a["resid"]] == list(a["N"]) and [len(v) for v in a["resid_rev"]] == list(a["N"] + 1)
    for col in ("resid", "resid_rev"):
        np.testing.assert_allclose(np.concatenate(a[col].to_list()), np.concatenate(b[col].to_list()),
                                   rtol=1e-5, atol=1e-6, err_msg=col)
    assert padded.summary["timing"]["chunks"] < exact.summary["timing"]["chunks"]
    assert (a["stop_reason"] == "converged").any()


def test_bucket_choice_bounds_the_padding_waste():
    counts = {n: 40 for n in range(2, 21, 2)}  # the vit-benign/phase N axis
    m = buckets.choose(counts, 2.0, 0.35)
    assert buckets.waste(counts, m, 2.0) <= 0.35 and len(set(m.values())) == 3
    assert all(m[v] >= v for v in counts) and m[20] == 20
    assert buckets.choose(counts, 2.0, 0.0) == {v: v for v in counts}  # no waste allowed: no padding
    assert set(buckets.choose(counts, 2.0, 10.0).values()) == {20}  # one program for all


def test_a_bucketed_field_must_be_a_static_int():
    @dataclasses.dataclass(frozen=True)
    class Bad:
        steps: int = tl.param(1, "s", static=True)
        log_every: int = tl.param(1, "l", static=True)
        lr: float = tl.param(0.1, "lr")
        n: int = tl.param(4, "samples", bucket=1)

    bad = dataclasses.replace(EXP, config=Bad)
    with pytest.raises(tl.ConfigError, match="Bad.n: only a static int size can be bucketed"):
        tl.run(bad, "smoke")


@pytest.mark.parametrize("axis, message", [
    (tl.PaddedAxis("resid", "d"), "Config.d is not a bucketed size"),
    (tl.PaddedAxis("resid", "N", pad="left"), "pad must be one of end, start"),
    (tl.PaddedAxis("w0", "N"), "its last axis must run over N"),
])
def test_a_bad_padded_axis_is_a_one_line_error(axis, message, tmp_path):
    bad = dataclasses.replace(EXP, problem=dataclasses.replace(PROBLEM, padded_axes=(axis,)))
    with pytest.raises(tl.ConfigError, match=message):
        tl.run(bad, "smoke", out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_vit_phase_padded_into_buckets_equals_its_own_size(tmp_path):
    """vit-benign/phase at smoke size, N = 5 and 6 in one padded program vs two programs:
    the same stop steps and observables (float tolerance)."""
    sets = {"steps": 60, "log_every": 20}
    sweep = {"N": [5, 6], "mu_norm": [5.0, 40.0]}  # 5 pads to 6: +18 % work, within the bound
    padded = tl.run("vit-benign/phase", "smoke", set=sets, sweep=sweep, seeds=1, out=tmp_path / "b")
    exact = tl.run("vit-benign/phase", "smoke", set=sets, sweep=sweep, seeds=1, out=tmp_path / "e", buckets=False)
    assert padded.summary["timing"]["chunks"] < exact.summary["timing"]["chunks"]
    a = padded.results.sort_values(["run_id", "step"]).reset_index(drop=True)
    b = exact.results.sort_values(["run_id", "step"]).reset_index(drop=True)
    np.testing.assert_array_equal(a["stop_step"], b["stop_step"])
    for col in ("train_loss", "test_loss", "attn_signal", "value_signal", "qk_signal_signal"):
        np.testing.assert_allclose(a[col], b[col], rtol=2e-4, atol=2e-5, err_msg=col)
    assert a["train_loss"].iloc[-1] < a["train_loss"].iloc[0]  # they trained
