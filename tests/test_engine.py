"""The compiled trainer: batch invariance, exact early stop, divergence isolation, and a plain
per-run Python loop as the reference."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theorylab.config import dynamic_names, param
from theorylab.engine.chunking import plan
from theorylab.engine.keys import run_key
from theorylab.engine.trainer import Problem, StopReason, compile_chunk, split_run_key
from theorylab.papers import vit_benign
from theorylab.sweep.grid import resolve


# --- a quadratic toy problem with a closed-form trajectory ---------------------------------
# loss(theta) = a/2 |theta|^2, GD: theta_t = (1 - lr a)^t theta_0, L_t = (1 - lr a)^{2t} L_0.


@dataclasses.dataclass(frozen=True)
class Quad:
    dim: int = param(3, "parameter dimension", static=True, lo=1)
    steps: int = param(60, "step budget", static=True, lo=1)
    log_every: int = param(1, "log period", static=True, lo=1)
    a: float = param(1.0, "curvature", lo=0.0)
    lr: float = param(0.1, "step size", lo=0.0)
    stop: float = param(0.0, "stop threshold on the loss", lo=0.0)


def _quad_setup(key, cfg):
    return jnp.ones(cfg.dim), {}


def _quad_loss(theta, data, cfg, key):
    return 0.5 * cfg.a * jnp.sum(theta**2)


QUAD = Problem(setup=_quad_setup, loss=_quad_loss,
               observe=lambda th, data, cfg: {"loss": _quad_loss(th, data, cfg, None), "theta0": th[0]},
               stop_below=lambda cfg: cfg.stop)


def _run_quad(cfgs):
    fn, _ = compile_chunk(QUAD, cfgs[0], dynamic_names(Quad), len(cfgs), cfgs[0].steps, cfgs[0].log_every)
    keys = np.stack([run_key("quad", {}, i) for i in range(len(cfgs))])
    dyn = {n: np.array([getattr(c, n) for c in cfgs]) for n in dynamic_names(Quad)}
    return fn(keys, dyn)


def test_early_stop_freezes_exactly_at_the_criterion_and_nan_run_is_isolated():
    thr = 1e-3
    cfgs = [Quad(stop=0.0), Quad(stop=thr), Quad(lr=30.0, a=1.0), Quad(stop=thr, lr=0.15)]
    res = _run_quad(cfgs)
    loss = res.obs["loss"]  # [61, 4]
    l0 = 1.5
    # run 0: no stop, the closed-form trajectory for all 60 steps
    np.testing.assert_allclose(loss[:, 0], l0 * 0.9 ** (2 * np.arange(61)), rtol=1e-4)
    assert res.stop_reason[0] == StopReason.BUDGET and res.stop_step[0] == 60
    # run 1: stops at the first t with L_t < thr, and stays frozen there
    for r, lr in ((1, 0.1), (3, 0.15)):
        traj = l0 * (1 - lr) ** (2 * np.arange(61))
        t_star = int(np.argmax(traj < thr))
        assert res.stop_reason[r] == StopReason.CONVERGED
        assert res.stop_step[r] == t_star
        assert loss[t_star - 1, r] >= thr and loss[t_star, r] < thr
        np.testing.assert_allclose(loss[t_star:, r], traj[t_star], rtol=1e-4)
        np.testing.assert_allclose(loss[:t_star + 1, r], traj[:t_star + 1], rtol=1e-4)
    # run 2: |1 - lr a| = 29 overflows float32 -> diverged; its last finite state is kept
    assert res.stop_reason[2] == StopReason.DIVERGED
    assert np.all(np.isfinite(res.obs["theta0"][:, 2]))
    # theta_t = (-29)^t: the loss 1.5 * 29^(2t) first overflows float32 (3.4e38) at t = 14
    theta = (-29.0) ** np.arange(30)  # exact in float64
    with np.errstate(over="ignore"):
        t_div = int(np.argmax(~np.isfinite((np.float32(1.5) * theta.astype(np.float32) ** 2).astype(np.float32))))
    assert res.stop_step[2] == t_div == 14
    # and nothing leaked into the others: run 0 equals its own solo run
    solo = _run_quad([Quad(stop=0.0)])
    np.testing.assert_array_equal(solo.obs["loss"][:, 0], loss[:, 0])


def test_chunk_stops_computing_once_all_runs_stopped():
    res = _run_quad([Quad(stop=1e-3), Quad(stop=1e-3, lr=0.2)])
    assert res.executed_steps == max(res.stop_step) + 1  # the last criterion check is step stop_step
    assert res.executed_steps < 60
    for r, lr in enumerate((0.1, 0.2)):  # log points after the chunk stopped repeat the frozen state
        t = res.stop_step[r]
        np.testing.assert_allclose(res.obs["loss"][t:, r], 1.5 * (1 - lr) ** (2 * t), rtol=1e-4)


# --- the real model -------------------------------------------------------------------------


def _smoke_runs(cells, seeds=1, **sets):
    p = vit_benign.PHASE_SMOKE
    resolved = resolve("vit-benign/phase", "smoke", vit_benign.Config, {**p.base, "log_every": 10},
                       cells, seeds, sets)
    return resolved.runs()


def _train(runs, max_chunk=None, problem=vit_benign.PROBLEM):
    (chunk,) = plan(problem, runs, 2**30, max_chunk)
    cfg = chunk.static_cfg
    fn, _ = compile_chunk(problem, cfg, dynamic_names(type(cfg)), chunk.size, cfg.steps, cfg.log_every)
    return fn(chunk.keys(), chunk.dyn())


def test_dual_form_gives_the_runs_of_plain_gd_on_the_weights():
    """vit-benign trains in the token-space form (W = W_0 + X^T a); the literal GD on W_Q, W_K,
    W_V, through the same engine, must give the same stop steps and every observable."""
    cells = tuple({"mu_norm": m} for m in (3.0, 10.0, 40.0))
    runs = _smoke_runs(cells, seeds=2, d=48, M=5, d_h=12, d_v=8, N=4)  # T = 20 tokens < d = 48
    dual, plain = _train(runs), _train(runs, problem=vit_benign.PLAIN_PROBLEM)
    np.testing.assert_array_equal(dual.stop_step, plain.stop_step)
    assert set(dual.obs) == set(plain.obs)
    for name in dual.obs:
        scale = max(1.0, float(np.abs(plain.obs[name]).max()))
        np.testing.assert_allclose(dual.obs[name], plain.obs[name], rtol=2e-4, atol=2e-5 * scale, err_msg=name)
    moved = np.abs(plain.obs["qk_signal_signal"][-1] - plain.obs["qk_signal_signal"][0])
    assert moved.max() > 0.1 and plain.obs["train_loss"][-1].min() < 0.5 * plain.obs["train_loss"][0].min()
    assert (plain.stop_step < 100).any()  # some run stopped early: the stop step itself is compared


def test_run_alone_equals_run_inside_a_batch():
    cells = tuple({"N": 4, "mu_norm": m, "lr": lr} for m, lr in ((5.0, 0.1), (20.0, 0.3), (40.0, 0.05)))
    runs = _smoke_runs(cells, seeds=2)  # 6 runs: 3 cells x 2 seeds
    batch = _train(runs)
    alone = _train([runs[3]])  # cell 1, seed 1 alone
    for name in ("train_loss", "test_loss", "attn_signal", "value_signal", "qk_weak_noise"):
        np.testing.assert_allclose(alone.obs[name][:, 0], batch.obs[name][:, 3], rtol=2e-4, atol=1e-6)
    assert alone.stop_step[0] == batch.stop_step[3]
    # different runs of the batch really are different (the comparison is not vacuous)
    assert not np.allclose(batch.obs["train_loss"][:, 2], batch.obs["train_loss"][:, 3])


def test_engine_matches_plain_per_run_python_loop():
    (run,) = _smoke_runs(({"N": 6, "mu_norm": 10.0},), stop_loss=0.0)
    res = _train([run])
    cfg = run.cfg
    k_setup, _ = split_run_key(jnp.asarray(run.key))
    # the literal GD on W_Q, W_K, W_V (the engine trains the dual form of the same runs)
    params, data = vit_benign.setup_plain(k_setup, cfg)
    grad_fn = jax.jit(lambda p: jax.value_and_grad(vit_benign.loss_plain)(p, data, cfg, None))
    losses = []
    for t in range(cfg.steps + 1):
        loss, g = grad_fn(params)
        losses.append(float(loss))
        params = jax.tree_util.tree_map(lambda p, gi: p - cfg.lr * gi, params, g)
    ref = np.array(losses)[:: cfg.log_every]
    np.testing.assert_allclose(res.obs["train_loss"][:, 0], ref, rtol=1e-4, atol=1e-6)
    assert ref[-1] < 0.5 * ref[0]  # it trained


def test_chunks_group_by_static_fields_and_pad_to_one_size():
    cells = tuple({"N": n, "mu_norm": m} for n in (2, 4) for m in (1.0, 2.0, 3.0))
    runs = _smoke_runs(cells, seeds=3)  # 2 groups of 9 runs
    chunks = plan(vit_benign.PROBLEM, runs, 2**30, max_chunk=4)
    assert [len(c.runs) for c in chunks] == [3, 3, 3, 3, 3, 3]
    assert {c.static_cfg.N for c in chunks[:3]} == {2} and {c.static_cfg.N for c in chunks[3:]} == {4}
    chunks = plan(vit_benign.PROBLEM, runs[:7], 2**30, max_chunk=4)
    assert [(len(c.runs), c.size) for c in chunks] == [(4, 4), (3, 4)]
    np.testing.assert_array_equal(chunks[1].keys()[-1], chunks[1].keys()[-2])  # padded with a copy


def test_memory_budget_caps_chunk_size():
    runs = _smoke_runs(tuple({"N": 4, "mu_norm": float(m)} for m in range(1, 9)))
    one_run = plan(vit_benign.PROBLEM, runs, 1)[0]
    assert one_run.size == 1
    assert plan(vit_benign.PROBLEM, runs, 2**30)[0].size == 8


def test_early_stopping_runs_get_small_chunks_of_grid_neighbours():
    from theorylab.engine.chunking import EARLY_STOP_CHUNK

    runs = _smoke_runs(tuple({"N": 4, "mu_norm": float(m)} for m in range(1, 21)))  # 20 runs, one group
    chunks = plan(vit_benign.PROBLEM, runs, 2**30)
    assert max(c.size for c in chunks) <= EARLY_STOP_CHUNK < 20 and sum(len(c.runs) for c in chunks) == 20
    assert [r.cfg.mu_norm for r in chunks[0].runs] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]  # neighbours
    no_stop = _smoke_runs(tuple({"N": 4, "mu_norm": float(m)} for m in range(1, 21)), stop_loss=0.0)
    assert [c.size for c in plan(vit_benign.PROBLEM, no_stop, 2**30)] == [20]  # nothing to gain: one chunk
    assert [c.size for c in plan(vit_benign.PROBLEM, runs, 2**30, max_chunk=20)] == [20]  # the user decides


def test_compiled_programs_are_cached_per_static_config():
    a, b = Quad(dim=3), Quad(dim=4)
    fa, _ = compile_chunk(QUAD, a, dynamic_names(Quad), 2, a.steps, a.log_every)
    fb, _ = compile_chunk(QUAD, b, dynamic_names(Quad), 2, b.steps, b.log_every)
    assert fa is not fb  # a different shape is a different program
    again, compile_s = compile_chunk(QUAD, Quad(dim=3, lr=0.5), dynamic_names(Quad), 2, a.steps, a.log_every)
    assert again is fa and compile_s == 0.0  # dynamic values do not recompile


def test_keys_depend_on_identity_not_position():
    cfg = {"a": 1.0}
    np.testing.assert_array_equal(run_key("e", cfg, 3), run_key("e", dict(cfg), 3))
    assert not np.array_equal(run_key("e", cfg, 3), run_key("e", cfg, 4))
    assert not np.array_equal(run_key("e", cfg, 3), run_key("f", cfg, 3))
    assert not np.array_equal(run_key("e", cfg, 3), run_key("e", {"a": 2.0}, 3))


def test_program_rejects_log_every_not_dividing_steps():
    from theorylab.engine.trainer import build_program

    with pytest.raises(ValueError, match="multiple of log_every"):
        build_program(QUAD, Quad(), ("a",), 10, 3)
