"""The prompt-trained two-layer ReLU baseline (models/prompt_mlp.py; "Pretrained transformer
efficiently learns low-dimensional target functions in-context", arXiv:2411.02544, Fig. 1): its
loss gradient against finite differences of a float64 reference, early stopping against an
iterate-by-iterate replay, and low risk on a target the net represents exactly."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from theorylab.models import prompt_mlp as pm


def _ref_mse(p, x, y):
    """float64 numpy reference of (1/n) sum (a^T relu(W x + b) + c - y)^2."""
    f = np.maximum(x @ p["w"].T + p["b"], 0) @ p["a"] + p["c"]
    return np.mean((f - y) ** 2)


def test_loss_and_gradient_match_float64_finite_differences():
    k = jax.random.split(jax.random.PRNGKey(0), 3)
    params = pm.init(k[0], 5, 7)
    x, y = jax.random.normal(k[1], (30, 5)), jax.random.normal(k[2], (30,))
    p64 = {n: np.asarray(v, np.float64) for n, v in params.items()}
    x64, y64 = np.asarray(x, np.float64), np.asarray(y, np.float64)
    assert abs(float(pm.mse(params, x, y)) - _ref_mse(p64, x64, y64)) < 1e-5 * _ref_mse(p64, x64, y64)
    grad = jax.grad(pm.mse)(params, x, y)
    eps = 1e-6
    for name in ("w", "b", "a", "c"):
        g = np.asarray(grad[name], np.float64)
        fd = np.zeros_like(g)
        for idx in np.ndindex(g.shape):
            hi, lo = dict(p64), dict(p64)
            hi[name], lo[name] = p64[name].copy(), p64[name].copy()
            hi[name][idx] += eps
            lo[name][idx] -= eps
            fd[idx] = (_ref_mse(hi, x64, y64) - _ref_mse(lo, x64, y64)) / (2 * eps)
        assert np.abs(fd).max() > 1e-3, name  # the check is not vacuous
        np.testing.assert_allclose(g, fd, rtol=1e-4, atol=1e-5 * np.abs(fd).max(), err_msg=name)


def test_init_is_fan_in_uniform():
    p = pm.init(jax.random.PRNGKey(1), 16, 4096)
    assert p["w"].shape == (4096, 16) and p["b"].shape == (4096,) and p["a"].shape == (4096,) and p["c"].shape == ()
    np.testing.assert_allclose(np.abs(p["w"]).max(), 1 / 4, rtol=1e-3)  # U(-1/sqrt(16), 1/sqrt(16))
    np.testing.assert_allclose(np.asarray(p["w"]).var(), 1 / 16 / 3, rtol=0.02)
    np.testing.assert_allclose(np.abs(p["a"]).max(), 1 / 64, rtol=1e-2)


def test_early_stopping_keeps_the_best_held_out_iterate():
    """Labels 2 x_1 + unit noise: the net first learns the linear part, then fits the noise of
    its 32 training examples, so the held-out error falls and then rises. The returned net must
    be the iterate (replayed step by step with optax here) whose held-out error is the lowest,
    not the last one."""
    k = jax.random.split(jax.random.PRNGKey(2), 3)
    x = jax.random.normal(k[0], (40, 8))
    y = 2 * x[:, 0] + jax.random.normal(k[1], (40,))
    steps, lr = 100, 1e-2
    best, info = pm.fit(k[2], x, y, width=64, lr=lr, steps=steps)
    assert pm.n_holdout(40, 0.2) == 8
    xt, yt, xv, yv = x[:32], y[:32], x[32:], y[32:]
    # replay: the iterates 0..steps and their held-out errors
    params, opt = pm.init(k[2], 8, 64), optax.adam(lr)
    state, iterates = opt.init(params), [params]
    for _ in range(steps):
        upd, state = opt.update(jax.grad(pm.mse)(params, xt, yt), state, params)
        params = optax.apply_updates(params, upd)
        iterates.append(params)
    vals = np.array([float(pm.mse(p, xv, yv)) for p in iterates])
    np.testing.assert_allclose(np.asarray(info["val"]), vals, rtol=1e-4)
    t = int(np.argmin(vals))
    assert int(info["best_step"]) == t and 0 < t < steps
    assert vals[-1] > 1.5 * vals[t]  # the last iterate is clearly worse: picking it fails below
    for name in best:
        np.testing.assert_allclose(np.asarray(best[name]), np.asarray(iterates[t][name]), rtol=1e-5, atol=1e-6)
    held_out = float(pm.mse(best, xv, yv))
    assert held_out == pytest.approx(vals.min(), rel=1e-4) and held_out < vals[-1] / 1.5
    # the vmapped predictor returns the chosen iterate's prediction at the query, per prompt
    xs, ys = jnp.stack([x, x * 0.5]), jnp.stack([y, -y])
    q = jax.random.normal(jax.random.PRNGKey(3), (2, 8))
    pred, chosen = pm.predict(jax.random.PRNGKey(4), xs, ys, q, width=64, lr=lr, steps=steps, batch=1)
    for i in range(2):
        bi, ii = pm.fit(jax.random.fold_in(jax.random.PRNGKey(4), i), xs[i], ys[i], width=64, lr=lr, steps=steps)
        assert int(chosen[i]) == int(ii["best_step"])
        assert float(pred[i]) == pytest.approx(float(pm.apply(bi, q[i][None])[0]), rel=1e-4, abs=1e-6)


def test_representable_target_gets_low_risk():
    """A prompt labelled by a 3-neuron ReLU net (inside the model class) at the toolkit defaults
    (width 256, Adam 1e-3, 500 steps, 20 % held out): relative risk on fresh queries < 0.02;
    the net at init is at ~1 (it does not start near the target)."""
    k = jax.random.split(jax.random.PRNGKey(5), 4)
    teacher = {"w": jax.random.normal(k[0], (3, 4)) / 2, "b": jnp.array([0.3, -0.2, 0.0]),
               "a": jnp.array([1.0, -1.0, 0.8]), "c": jnp.array(0.1)}
    x, xt = jax.random.normal(k[1], (256, 4)), jax.random.normal(k[2], (2000, 4))
    yt = pm.apply(teacher, xt)
    net, info = pm.fit(k[3], x, pm.apply(teacher, x))
    risk = lambda p: float(jnp.mean((pm.apply(p, xt) - yt) ** 2) / jnp.var(yt))
    assert risk(pm.init(k[3], 4, 256)) > 0.5
    assert risk(net) < 0.02
    # the whole pipeline on prompts of that teacher: query predictions close to the targets
    xs = jax.random.normal(k[1], (25, 129, 4))
    ys = jax.vmap(lambda a: pm.apply(teacher, a))(xs)
    pred, _ = pm.predict(k[3], xs[:, :128], ys[:, :128], xs[:, 128])
    assert float(jnp.mean((pred - ys[:, 128]) ** 2) / jnp.var(yt)) < 0.05


def test_bad_sizes_are_one_line_errors():
    with pytest.raises(ValueError, match="multiple of batch"):
        pm.predict(jax.random.PRNGKey(0), jnp.zeros((3, 10, 2)), jnp.zeros((3, 10)), jnp.zeros((3, 2)))
    with pytest.raises(ValueError, match=">= 2 examples"):
        pm.n_holdout(1, 0.2)
    assert pm.n_holdout(16, 0.2) == 3 and pm.n_holdout(2, 0.9) == 1
