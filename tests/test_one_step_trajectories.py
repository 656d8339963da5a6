"""one-step/trajectories (Fig. 2 of arXiv:2205.01445): the two scalings, the step sizes that give
both the same function-space speed, the teacher, and a tiny run end to end."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

import theorylab as tl
from theorylab.models import two_layer
from theorylab.papers import one_step_trajectories as tr


def _setup(gamma, d=8):
    cfg = tr.Config(d=d, psi1=4.0, psi2=4.0, n_test=50, n_show=8, gamma=gamma)
    w0, data = tr.setup(jax.random.PRNGKey(0), cfg)
    return cfg, w0, data


def test_teacher_directions_are_orthonormal_and_the_teacher_is_two_relus():
    u = tr.teacher_directions(jax.random.PRNGKey(3), 20)
    np.testing.assert_allclose(np.asarray(u.T @ u), np.eye(2), atol=1e-5)
    x = jax.random.normal(jax.random.PRNGKey(4), (30, 20))
    ref = np.maximum(np.asarray(x @ u[:, 0]), 0) + np.maximum(np.asarray(x @ u[:, 1]), 0)
    np.testing.assert_allclose(np.asarray(tr.teacher(x, u)), ref, rtol=1e-5, atol=1e-6)


def test_prefactors_of_the_two_scalings():
    """Mean field: the paper's f = N^-1/2 a^T relu(W^T x); NTK: the same without N^-1/2."""
    cfg, w0, data = _setup(tr.MEAN_FIELD)
    mf = tr.predict(w0, data, cfg, data["x"])
    np.testing.assert_allclose(mf, two_layer.apply(w0, data["a"], data["x"], "relu"), rtol=1e-6)
    ntk = tr.predict(w0, data, dataclasses.replace(cfg, gamma=tr.NTK), data["x"])
    np.testing.assert_allclose(ntk, math.sqrt(cfg.width) * mf, rtol=1e-5)


def test_same_tangent_kernel_different_neuron_steps():
    """With the step eta N^(2 gamma) the function-space kernel lr J J^T is the same in both
    scalings, while a neuron's own step is sqrt(N) times larger under mean field."""
    kernels, steps = {}, {}
    for gamma in (tr.MEAN_FIELD, tr.NTK):
        cfg, w0, data = _setup(gamma)
        lr = cfg.eta * cfg.width ** (2 * gamma)
        jac = jax.jacobian(lambda w: tr.predict(w, data, cfg, data["x"]))(w0)  # [n, d, N]
        jac = np.asarray(jac).reshape(cfg.n, -1)
        kernels[gamma] = lr * jac @ jac.T
        opt = tr.optimizer(cfg)
        g = jax.grad(tr.loss)(w0, data, cfg, None)
        upd, _ = opt.update(g, opt.init(w0), w0)
        np.testing.assert_allclose(upd, -lr * g, rtol=1e-5)
        steps[gamma] = float(jnp.linalg.norm(upd, axis=0).mean())
    np.testing.assert_allclose(kernels[tr.MEAN_FIELD], kernels[tr.NTK], rtol=1e-4, atol=1e-6)
    # the update ratio is sqrt(N) up to the different residuals (f_0 = O(1) under NTK scaling)
    assert steps[tr.MEAN_FIELD] > 2 * steps[tr.NTK]


def test_tiny_run_mean_field_moves_ntk_stays(tmp_path):
    base = dict(d=12, n_test=200, n_show=20, eta=0.5, steps=1500, log_every=10)
    exp = dataclasses.replace(tr.EXPERIMENT, presets={"tiny": tl.Preset(base, tr.SCALINGS, seeds=1)})
    run = tl.run(exp, "tiny", out=tmp_path / "run")
    runs = tr.run_table(run.results).set_index("scaling")
    assert list(runs["stop_reason"]) == ["converged", "converged"]
    assert (runs["loss"] < 1e-3).all()
    assert runs.loc["mean-field", "proj_move"] > 5 * runs.loc["NTK", "proj_move"]
    assert runs.loc["mean-field", "alignment"] > runs.loc["NTK", "alignment"]
    proj = np.asarray(run.results["proj"].iloc[0])
    assert proj.size == 2 * 20
    assert {"trajectories", "movement"} <= set(run.figures)
    # T4's threshold (3 x the initial plane cosine sqrt(pi / 2d)) exceeds 1 at d = 12: not asserted here
    verdicts = {c.id.split(" ")[0]: c.holds for c in run.claims if not c.id.startswith("T4")}
    assert verdicts == {"T1-fits": True, "T2-mean-field-moves": True, "T3-ntk-lazy": True, "T5-generalises": True}
    assert not tl.check(run.dir).diverged
