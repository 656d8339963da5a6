"""Gradient-Based Feature Learning under Structured Data (Mousavi-Hosseini, Wu, Suzuki, Erdogdu;
NeurIPS 2023; arXiv:2309.03843) — what its abstract states, in a setting we derived ourselves.

Abstract's claims: under a spiked input covariance, spherical gradient dynamics can fail to
recover the target direction; a batch-norm-like weight normalisation fixes it; a spike aligned
with the target makes recovery fast (sample complexity independent of the information exponent).
The full text (its exact Sigma, the (r_1, r_2) regimes, its algorithm) was not available: the
parameterisation below and the optima (``theory.spiked_single_index``) are our derivation.

Setting: x ~ N(0, Sigma), Sigma = (I + kappa theta theta^T) / (1 + kappa) (theta = e_1, WLOG);
y = h_3(<u, x>) + zeta eps with u^T Sigma u = 1 and a fraction ``share`` of that variance along
theta; one neuron h_3(<w, x>), correlation loss, one fresh sample per step, online SGD with
eta = c d^{-3/2} (eta / 4 after ``anneal_at`` of the steps), and either
  sphere  |w| = 1                      (projected, renormalised: optim.sphere.on_sphere())
  bn      |Sigma^{1/2} w| = 1          (the same in the Sigma-metric: the pre-activation has unit
                                        variance, as batch normalisation would make it)
Observables: the whitened overlap w^T Sigma u / sqrt(w^T Sigma w) = corr(<w, x>, <u, x>) (1 iff
w ∝ u; it sets the neuron's correlation with the target, (whitened overlap)^3 for h_3) and the
plain cosine cos(w, u) (with u = theta and a large spike the whitened overlap is ~0.7 already at
a random start, while the direction itself is found later).

Experiment single-index/spiked: spherical dynamics converge to w ∝ Sigma u, whose whitened
overlap is < 1 (0.718 at kappa = 64, share = 1/2); weight normalisation goes beyond it towards u;
with u = theta both constraints recover u far faster than without a spike.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd

import theorylab as tl
from theorylab.analysis.hitting import first_crossing, quantiles
from theorylab.data import gaussian_single_index as gsi
from theorylab.data import hermite_expansion as hermite
from theorylab.optim.online import online_loss
from theorylab.optim.sphere import on_sphere
from theorylab.plots.style import paper_style, subplots
from theorylab.theory import spiked_single_index as theory


@dataclasses.dataclass(frozen=True)
class Config:
    d: int = tl.param(64, "input dimension", static=True, lo=4)
    link: str = tl.param("h3", "teacher link and student activation (Hermite h_k: k* = k)", static=True,
                         choices=("h1", "h2", "h3", "h4"))
    constraint: str = tl.param("sphere", "neuron constraint: sphere |w| = 1, or bn |Sigma^(1/2) w| = 1",
                               static=True, choices=("sphere", "bn"))
    steps: int = tl.param(65536, "SGD steps (= fresh samples)", static=True, lo=1)
    log_every: int = tl.param(256, "steps between recorded overlaps", static=True, lo=1)
    kappa: float = tl.param(64.0, "spike strength: Sigma = (I + kappa theta theta^T) / (1 + kappa)", lo=0.0)
    share: float = tl.param(0.5, "fraction of u's Sigma-variance along the spike theta (1: u = theta)", lo=0.0, hi=1.0)
    c: float = tl.param(0.3, "step constant: eta = c d^(-max(1, k/2))", lo=0.0, lo_open=True)
    anneal_at: float = tl.param(2 / 3, "fraction of the steps after which eta is divided by 4", lo=0.0, hi=1.0)
    zeta: float = tl.param(0.0, "label noise std", lo=0.0)

    def k_star(self) -> int:
        return hermite.information_exponent(self.link)


def _theta(d: int) -> jax.Array:
    return jnp.zeros(d).at[0].set(1.0)


def sigma_apply(cfg):
    """v [..., d] -> Sigma v."""
    theta = _theta(cfg.d)
    return lambda v: gsi.spiked_cov_apply(v, theta, cfg.kappa)


def setup(key, cfg):
    """-> (w_0 [d] normalised for the constraint, {u [d]}); sign chosen so that w^T Sigma u > 0."""
    kp, kw = jax.random.split(key)
    theta = _theta(cfg.d)
    perp = gsi.unit_vector(kp, cfg.d)
    perp = perp - (perp @ theta) * theta
    perp = perp / jnp.linalg.norm(perp)
    u = jnp.sqrt(cfg.share) * theta + jnp.sqrt((1 - cfg.share) * (1 + cfg.kappa)) * perp
    sig = sigma_apply(cfg)
    w = jax.random.normal(kw, (cfg.d,))
    w = w / (jnp.linalg.norm(w) if cfg.constraint == "sphere" else jnp.sqrt(w @ sig(w)))
    w = jnp.where(w @ sig(u) < 0, -w, w)
    return w, dict(u=u)


def draw(key, data, cfg):
    kx, ky = jax.random.split(key)
    x = gsi.spiked_inputs(kx, 1, _theta(cfg.d), cfg.kappa)  # [1, d]
    return x, gsi.single_index_labels(ky, x, data["u"], cfg.link, cfg.zeta)


def loss_on(w, batch, data, cfg):
    x, y = batch
    return -jnp.mean(y * hermite.link(cfg.link)(x @ w))


def optimizer(cfg):
    eta = cfg.c * cfg.d ** (-max(1.0, cfg.k_star() / 2))
    anneal_step = cfg.anneal_at * cfg.steps
    schedule = lambda t: jnp.where(t < anneal_step, eta, eta / 4)  # noqa: E731
    return optax.chain(optax.sgd(schedule), on_sphere(None if cfg.constraint == "sphere" else sigma_apply(cfg)))


def observe(w, data, cfg):
    sig = sigma_apply(cfg)
    sw = sig(w)
    u = data["u"]
    return dict(whitened_overlap=sw @ u / jnp.sqrt(w @ sw), cos_u=w @ u / (jnp.linalg.norm(w) * jnp.linalg.norm(u)))


PROBLEM = tl.Problem(setup=setup, loss=online_loss(draw, loss_on), observe=observe, optimizer=optimizer)


# ---------------------------------------------------------------------------------------
# analysis


def cell_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: final whitened overlap (median over runs of the mean over the last 10%
    of the log points), its rise over the last third, quantiles of T_1/2 = first step with
    whitened overlap >= 1/2, the spherical optimum."""
    t_half = first_crossing(df, "whitened_overlap", 0.5)
    rows = []
    for cell, g in df.groupby("cell"):
        steps = np.sort(g["step"].unique())
        tail = g[g["step"] >= steps[int(0.9 * (len(steps) - 1))]].groupby("run_id")["whitened_overlap"].mean()
        at = lambda s: g[g["step"] == steps[np.searchsorted(steps, s)]]["whitened_overlap"].median()  # noqa: E731
        first = g.iloc[0]
        q = quantiles(t_half[g["run_id"].unique()])
        rows.append(dict(cell=cell, constraint=first["constraint"], kappa=first["kappa"], share=first["share"],
                         d=first["d"], final=float(tail.median()), rise=float(at(steps[-1]) - at(2 * steps[-1] / 3)),
                         t25=q[0], t_half=q[1], t75=q[2], runs=len(tail),
                         optimum=theory.spherical_optimum_overlap(share=first["share"], kappa=first["kappa"])
                         if first["constraint"] == "sphere" else 1.0))
    return pd.DataFrame(rows)


def claims(df: pd.DataFrame, resolved) -> list[tl.Claim]:
    tab = cell_table(df)
    out = []
    sph = tab[(tab["constraint"] == "sphere") & (tab["kappa"] > 0) & (tab["share"] < 1)]
    for _, r in sph.iterrows():
        out.append(tl.Claim.close(
            f"S1-sphere-optimum [kappa={r['kappa']:g}, share={r['share']:g}]",
            "spherical online SGD converges to w ∝ Sigma u, not to u: final whitened overlap = "
            "u^T Sigma^2 u / sqrt(u^T Sigma^3 u) < 1", r["final"], r["optimum"], rel=0.03 / r["optimum"],
            note="tolerance +-0.03 absolute; median over runs of the mean over the last 10% of the log points; "
                 "the spec measured 0.717 against 0.718"))
    bn = tab[(tab["constraint"] == "bn") & (tab["kappa"] > 0) & (tab["share"] < 1)]
    for _, r in bn.iterrows():
        s_opt = theory.spherical_optimum_overlap(share=r["share"], kappa=r["kappa"])
        out.append(tl.Claim(
            f"S2-bn-beyond-sphere [kappa={r['kappa']:g}, share={r['share']:g}]",
            "weight normalisation fixes the spherical failure: its optimum is u itself (whitened overlap 1), and its "
            "final whitened overlap exceeds the spherical optimum by more than 0.1", f"> {s_opt + 0.1:.3f} (optimum 1)",
            f"final {r['final']:.3f}; rise over the last third {r['rise']:+.3f}", "0.1 above the spherical optimum",
            bool(r["final"] > s_opt + 0.1),
            "the step is the gradient through w / |w|_Sigma (optim.sphere); the spec's prototype measured 0.41 with "
            "the oblique projection g - (g^T Sigma w) w / w^T Sigma w, whose fixed point is the spherical one"))
    iso = tab[(tab["kappa"] == 0)]
    aligned = tab[(tab["kappa"] > 0) & (tab["share"] == 1)]
    if len(iso) and len(aligned):
        t_iso = float(iso["t_half"].min())
        for _, r in aligned.iterrows():
            out.append(tl.Claim(
                f"S3-aligned-spike-fast [{r['constraint']}, kappa={r['kappa']:g}]",
                "a spike aligned with the target makes weak recovery fast: median T_1/2 (whitened overlap >= 1/2) "
                "at least 5x shorter than without a spike (kappa = 0)", "<= T_1/2(kappa = 0) / 5",
                f"{r['t_half']:.0f} vs {t_iso:.0f} at kappa = 0 ({t_iso / max(r['t_half'], 1.0):.0f}x)",
                "factor 5", bool(r["t_half"] * 5 <= t_iso),
                "the spec measured 68 (sphere) / 392 (bn) vs ~5000 steps at d = 64; resolution: the log interval. At "
                "kappa = 64 a random start already has whitened overlap ~0.7 (the spike carries the input variance): "
                "the search phase is gone. The direction itself, cos(w, u) >= 1/2, takes longer (figure, dashed)"))
    return out


def figures(df: pd.DataFrame, resolved) -> dict:
    tab = cell_table(df).set_index("cell")

    def quartiles(g, col):
        wide = g.pivot(index="run_id", columns="step", values=col)
        return wide.columns.to_numpy(float), np.quantile(wide.to_numpy(), [0.25, 0.5, 0.75], axis=0)

    with paper_style():
        fig, axes = subplots(1, 2, figsize=(12, 5.4), constrained_layout=True)
        for j, (cell, g) in enumerate(df.groupby("cell")):
            r = tab.loc[cell]
            steps, q = quartiles(g, "whitened_overlap")
            if r["kappa"] == 0:  # no spike: the whitened overlap is cos(w, u)
                for ax in axes:
                    ax.plot(steps, q[1], color="grey", lw=1.2, label=cell)
                continue
            ax = axes[0] if r["share"] < 1 else axes[1]
            (line,) = ax.plot(steps, q[1], lw=1.4, color=f"C{j}", label=cell + ": whitened overlap")
            ax.fill_between(steps, q[0], q[2], color=line.get_color(), alpha=0.15, lw=0)
            if r["share"] == 1:
                steps, qc = quartiles(g, "cos_u")
                ax.plot(steps, qc[1], "--", lw=1.2, color=line.get_color(), label=cell + ": cos(w, u)")
            elif r["constraint"] == "sphere":
                ax.axhline(r["optimum"], color=line.get_color(), ls="--", lw=1,
                           label=f"spherical optimum w ∝ Σu: {r['optimum']:.3f}")
        for ax, title in zip(axes, ("target half on the spike (share = 1/2)", "target = spike direction (share = 1)")):
            ax.axhline(1.0, color="k", ls=":", lw=1, label="optimum w = u" + (" (weight-normalised)" if ax is axes[0] else ""))
            ax.set_xscale("symlog", linthresh=resolved.base.log_every)
            ax.set(xlim=(0, resolved.base.steps), xlabel="step (linear up to one log interval, then log)",
                   ylabel="median over runs (band: IQR)", ylim=(0, 1.05), title=title)
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
        b = resolved.base
        fig.suptitle(f"single-index/spiked ({resolved.preset}): d = {b.d}, {b.link} teacher and neuron, "
                     f"Σ = (I + κθθᵀ)/(1 + κ), η = {b.c:g} d^-3/2 (÷4 after {b.anneal_at:.2g} of the steps), "
                     f"{resolved.seeds} runs")
    return {"whitened-overlap": fig}


# ---------------------------------------------------------------------------------------
# presets: spec section 0b (d = 64, kappa = 64, half of u's variance on the spike, 16 d^2 steps)

CELLS = (
    dict(label="sphere kappa=64 share=1/2", constraint="sphere", kappa=64.0, share=0.5),
    dict(label="bn kappa=64 share=1/2", constraint="bn", kappa=64.0, share=0.5),
    dict(label="sphere kappa=64 u=theta", constraint="sphere", kappa=64.0, share=1.0),
    dict(label="bn kappa=64 u=theta", constraint="bn", kappa=64.0, share=1.0),
    dict(label="sphere kappa=0", constraint="sphere", kappa=0.0, share=0.5),
)


def _budget(d: int, per_d2: int = 16, points: int = 256) -> dict:
    return dict(d=d, steps=per_d2 * d * d, log_every=per_d2 * d * d // points)


SMOKE = tl.Preset(base=dict(_budget(16, 8), c=0.3), cells=CELLS, seeds=2, note="d = 16: seconds",
                  untested={"*": "d = 16, 2 runs: plumbing only"})
CPU = tl.Preset(base=dict(_budget(64), c=0.3), cells=CELLS, seeds=8,
                note="the spec's setting: d = 64, kappa = 64, eta = 0.3 d^-3/2, 16 d^2 steps (last third eta/4), 8 runs")
PAPER = tl.Preset(base=dict(_budget(128), c=0.3),
                  cells=CELLS + tuple(dict(label=f"{c['constraint']} kappa={k:g} share=1/2", constraint=c["constraint"],
                                           kappa=float(k), share=0.5)
                                      for c in CELLS[:2] for k in (16, 256)),
                  seeds=16, note="d = 128 (kappa = d^r_1 for r_1 = 4/7, 6/7, 8/7), 16 runs; the paper's own "
                                 "sizes were not available")

EXPERIMENT = tl.Experiment(
    name="single-index/spiked",
    summary="spiked covariance: spherical online SGD converges to w ∝ Σu; weight normalisation targets u; an aligned "
            "spike makes recovery fast (Mousavi-Hosseini et al. 2023, arXiv:2309.03843, mechanism)",
    config=Config, problem=PROBLEM, presets={"smoke": SMOKE, "cpu": CPU, "paper": PAPER},
    claims=claims, figures=figures)

EXPERIMENTS = (EXPERIMENT,)
