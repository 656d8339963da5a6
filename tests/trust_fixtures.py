"""A user experiment defined outside theorylab, for the trust and API tests.

GD on f(theta) = (a/2)|theta|^2, theta in R^dim from theta_0 = 1: theta_t = (1 - lr a)^t, so a
cell with lr a > 2 diverges (|1 - lr a| > 1 grows until float overflow) and one with lr a < 2
converges. The claims read the final loss of every cell the grid has.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

import theorylab as tl


@dataclasses.dataclass(frozen=True)
class Config:
    dim: int = tl.param(3, "parameter dimension", static=True, lo=1)
    steps: int = tl.param(200, "GD steps", static=True, lo=1)
    log_every: int = tl.param(50, "steps between log points", static=True, lo=1)
    a: float = tl.param(1.0, "curvature", lo=0.0)
    lr: float = tl.param(0.1, "step size", lo=0.0, lo_open=True)


def setup(key, cfg):
    return jnp.ones(cfg.dim), {}


def loss(theta, data, cfg, key):
    return 0.5 * cfg.a * jnp.sum(theta**2)


def observe(theta, data, cfg):
    return {"loss": 0.5 * cfg.a * jnp.sum(theta**2), "float_bits": jnp.asarray(jnp.finfo(theta.dtype).bits, float)}


PROBLEM = tl.Problem(setup=setup, loss=loss, observe=observe)
CELLS = (dict(label="stable", lr=0.1), dict(label="unstable", lr=5.0))


def claims(df, resolved):
    """Per cell of the grid: the final loss is below 1e-3 (the stable cell's holds)."""
    fin = df.sort_values("step").groupby("run_id").tail(1)
    out = []
    for label, _ in resolved.cells:
        rows = fin[fin["cell"] == label]
        if rows.empty:
            out.append(tl.Claim(f"converges[{label}]", f"cell {label} converges", "loss < 1e-3",
                                "no runs", "", None, "no results for this cell"))
            continue
        value = float(rows["loss"].max())
        out.append(tl.Claim.in_range(f"converges[{label}]", f"cell {label} converges", value, 0.0, 1e-3))
    return out


def figures(df, resolved):
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    for label, g in df.groupby("cell"):
        ax.semilogy(g["step"], g["loss"], "o-", label=label)
    ax.legend()
    return {"loss": fig}


QUADRATIC = tl.Experiment(
    name="test/quadratic", summary="GD on a quadratic: a stable and an unstable step size",
    config=Config, problem=PROBLEM,
    presets={"smoke": tl.Preset(base={}, cells=CELLS, seeds=2), "stable": tl.Preset(base={}, cells=CELLS[:1])},
    claims=claims, figures=figures)

EXPECTED = dataclasses.replace(
    QUADRATIC, name="test/quadratic-expected",
    expect_divergence=lambda cfg: "lr a > 2: GD on a quadratic diverges" if cfg.lr * cfg.a > 2 else None)


def _raising_claims(df, resolved):
    return [tl.Claim("fine", "a claim", "", "", "", True), _lookup(df)]


def _lookup(df):
    return df["curve_la"]  # a column this experiment never records: KeyError


RAISING = dataclasses.replace(QUADRATIC, name="test/quadratic-raising", claims=_raising_claims,
                              presets={"smoke": tl.Preset(base={}, cells=CELLS[:1])})
