"""A theorylab experiment shipped as a plugin: GD on f(w) = |w - a|^2 / 2, w in R^n.

GD with step lr contracts the error exactly: w_t - a = (1 - lr)^t (w_0 - a), so the logged
squared distance decays as (1 - lr)^(2t). The claim checks that rate from the log.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

import theorylab as tl


@dataclasses.dataclass(frozen=True)
class Config:
    n: int = tl.param(4, "dimension of w (a shape: static)", static=True, lo=1)
    steps: int = tl.param(20, "GD steps", static=True, lo=1)
    log_every: int = tl.param(5, "steps between log points", static=True, lo=1)
    lr: float = tl.param(0.1, "GD step size", lo=0, hi=1, lo_open=True)


def setup(key, cfg):  # -> (w [n], {"a": [n]})
    k1, k2 = jax.random.split(key)
    return jax.random.normal(k1, (cfg.n,)), {"a": jax.random.normal(k2, (cfg.n,))}


def loss(w, data, cfg, key):
    del key  # deterministic GD
    return 0.5 * jnp.sum((w - data["a"]) ** 2)


def observe(w, data, cfg):
    return {"dist2": jnp.sum((w - data["a"]) ** 2)}


def claims(df, resolved):
    first = df[df.step == 0].set_index("run_id").dist2
    last = df[df.step == df.steps].set_index("run_id")
    rate = float(np.median((last.dist2 / first[last.index]) ** (1 / last.steps)))
    pred = float((1 - last.lr.iloc[0]) ** 2)
    return [tl.Claim.close("rate", "GD contracts |w - a|^2 by (1 - lr)^2 per step", rate, pred, rel=1e-3)]


def figures(df, resolved):
    fig = Figure(figsize=(4, 3))
    ax = fig.subplots()
    for run_id, g in df.groupby("run_id"):
        ax.semilogy(g.step, g.dist2, color="C0", alpha=0.5)
    ax.set(xlabel="step", ylabel="|w - a|^2")
    return {"distance": fig}


QUADRATIC = tl.Experiment(
    name="demo-plugin/quadratic", summary="GD on a quadratic (a plugin's experiment)", config=Config,
    problem=tl.Problem(setup, loss, observe), claims=claims, figures=figures,
    presets={"smoke": tl.Preset(dict(n=4), seeds=2), "cpu": tl.Preset(dict(n=16), seeds=4),
             "paper": tl.Preset(dict(n=64, steps=100), seeds=8)})

EXPERIMENTS = [QUADRATIC]
