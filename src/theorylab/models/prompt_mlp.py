"""A two-layer ReLU network trained by gradient descent on one prompt alone: the prompt-trained
baseline of in-context learning (beside ``prompt_krr``, the kernel-ridge one).

"Pretrained transformer efficiently learns low-dimensional target functions in-context"
(arXiv:2411.02544, Fig. 1) draws, next to the pretrained transformer and kernel ridge, a two-layer
network trained by GD on the test prompt's own examples. Its width, optimizer and step count are
not known; the toolkit default (spec) is width 256, Adam with learning rate 1e-3, 500 full-batch
steps and early stopping on 20 % of the prompt. For one prompt (x_1..x_N, y_1..y_N, x_q):

    f(x) = a^T relu(W x + b) + c,        W [m, d], b [m], a [m], c []
    train on the first N - n_val examples by Adam on (1/n) sum_i (f(x_i) - y_i)^2,
    n_val = max(1, round(holdout * N)) last examples held out (the examples are i.i.d.),
    return the iterate t in {0, .., steps} with the lowest held-out MSE (first one on ties).

The initialisation is the usual fan-in uniform one, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both
layers' weights and biases [our choice]. Everything is vectorised: ``lax.scan`` over steps,
``vmap`` over prompts, ``lax.map`` over batches of prompts (memory); no Python loop over either.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def init(key: jax.Array, d: int, width: int) -> dict:
    """{w [m, d], b [m], a [m], c []}: fan-in uniform initialisation."""
    kw, kb, ka, kc = jax.random.split(key, 4)
    u = lambda k, shape, fan: jax.random.uniform(k, shape, minval=-1.0, maxval=1.0) / jnp.sqrt(fan)
    return {"w": u(kw, (width, d), d), "b": u(kb, (width,), d), "a": u(ka, (width,), width), "c": u(kc, (), width)}


def apply(params: dict, x: jax.Array) -> jax.Array:
    """[n]: f(x_i) = a^T relu(W x_i + b) + c for x [n, d]."""
    return jax.nn.relu(x @ params["w"].T + params["b"]) @ params["a"] + params["c"]


def mse(params: dict, x: jax.Array, y: jax.Array) -> jax.Array:
    """(1/n) sum_i (f(x_i) - y_i)^2: the training loss (and the held-out error) on x [n, d], y [n]."""
    return jnp.mean((apply(params, x) - y) ** 2)


def n_holdout(n: int, holdout: float) -> int:
    """Held-out examples of a prompt of n examples: max(1, round(holdout * n)), at least one left to train."""
    if n < 2:
        raise ValueError(f"prompt_mlp: a prompt needs >= 2 examples to hold some out, got {n}")
    return min(max(1, round(holdout * n)), n - 1)


def fit(key: jax.Array, x: jax.Array, y: jax.Array, width: int = 256, lr: float = 1e-3, steps: int = 500,
        holdout: float = 0.2) -> tuple[dict, dict]:
    """Train on one prompt x [N, d], y [N]; (params of the best held-out iterate, info).

    info: val [steps + 1] (held-out MSE of iterates 0..steps), best_step [], best_val []."""
    n_val = n_holdout(x.shape[0], holdout)
    xt, yt, xv, yv = x[:-n_val], y[:-n_val], x[-n_val:], y[-n_val:]
    opt = optax.adam(lr)
    params = init(key, x.shape[1], width)
    grad = jax.value_and_grad(mse)

    def keep(best, params, val, t):
        bp, bv, bt = best
        better = val < bv  # strict: the first iterate wins ties
        bp = jax.tree_util.tree_map(lambda new, old: jnp.where(better, new, old), params, bp)
        return bp, jnp.where(better, val, bv), jnp.where(better, t, bt)

    def step(carry, t):
        params, state, best = carry
        val = mse(params, xv, yv)
        best = keep(best, params, val, t)
        _, g = grad(params, xt, yt)
        upd, state = opt.update(g, state, params)
        return (optax.apply_updates(params, upd), state, best), val

    best0 = (params, jnp.asarray(jnp.inf, x.dtype), jnp.asarray(0, jnp.int32))
    (params, _, best), vals = jax.lax.scan(step, (params, opt.init(params), best0), jnp.arange(steps, dtype=jnp.int32))
    last = mse(params, xv, yv)
    bp, bv, bt = keep(best, params, last, jnp.asarray(steps, jnp.int32))
    return bp, {"val": jnp.concatenate([vals, last[None]]), "best_step": bt, "best_val": bv}


def predict(key: jax.Array, x: jax.Array, y: jax.Array, xq: jax.Array, width: int = 256, lr: float = 1e-3,
            steps: int = 500, holdout: float = 0.2, batch: int = 25) -> tuple[jax.Array, jax.Array]:
    """(predictions [n] at the queries, chosen steps [n]) of one net per prompt.

    x [n, N, dim] prompts, y [n, N] labels, xq [n, dim] queries; prompt i trains from key
    fold_in(key, i). Prompts are processed ``batch`` at a time (n must be a multiple of batch)."""
    n = x.shape[0]
    if n % batch:
        raise ValueError(f"prompt_mlp.predict: n = {n} prompts must be a multiple of batch = {batch}")
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(n))

    def one(k, xi, yi, qi):
        params, info = fit(k, xi, yi, width, lr, steps, holdout)
        return apply(params, qi[None])[0], info["best_step"]

    split = lambda a: a.reshape(n // batch, batch, *a.shape[1:])
    pred, best = jax.lax.map(lambda a: jax.vmap(one)(*a), (split(keys), split(x), split(y), split(xq)))
    return pred.reshape(n), best.reshape(n)
