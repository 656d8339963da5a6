"""Unveil Benign Overfitting for Transformer in Vision (Jiang, Huang, Zhang, Suzuki, Nie;
NeurIPS 2024; arXiv:2409.19345).

A one-layer softmax attention with frozen readout, trained by full-batch GD on the logistic
loss over signal-noise patches, overfits benignly when N * SNR^2 is large and harmfully (test
loss at ln 2) when it is small. Experimental details (sizes, init, stopping rule) follow the
authors' public code (github JiaruiJ/Benign_ViT).

Training runs in the token-space (dual) form of full-batch GD (models/attention.py,
``to_dual``): the same runs as GD on W_Q, W_K, W_V (``PLAIN_PROBLEM``, the reference it is
tested against), at T x T x d_h instead of T x d x d_h per projection and step (T = N M).
It holds for plain full-batch GD only: a new optimizer or minibatches need PLAIN_PROBLEM.

Experiments:
  vit-benign/phase     test loss over (N, |mu|) with the curve N * SNR^2 = c (Figure 1)
  vit-benign/dynamics  the five tracked quantities for a benign and a harmful run (appendix)
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from theorylab.analysis import absent_cells, final_rows, fit_boundary
from theorylab.data import signal_noise
from theorylab.experiment import Claim, Experiment, Preset, Problem, Resolved, cross, param, size_mask
from theorylab.models import attention
from theorylab.models.losses import logistic_loss
from theorylab.plots.phase import table_heatmap
from theorylab.plots.style import paper_style, subplots
from theorylab.plots.trajectories import cell_band
from theorylab.theory import vit_benign as theory


@dataclasses.dataclass(frozen=True)
class Config:
    # shapes (static)
    d: int = param(1024, "token dimension", static=True, lo=2)
    M: int = param(16, "tokens per sample: signal, strong noise, M-2 weak noise", static=True, lo=3)
    N: int = param(20, "training samples (labels alternate +1, -1); sizes share padded programs (cost ~ N^2)",
                   static=True, lo=2, bucket=2)
    n_test: int = param(100, "test samples", static=True, lo=2)
    d_h: int = param(512, "query/key width", static=True, lo=1)
    d_v: int = param(512, "value width", static=True, lo=1)
    steps: int = param(1000, "GD step budget", static=True, lo=1)
    log_every: int = param(1000, "steps between recorded observables (divides steps)", static=True, lo=1)
    orthogonal_noise: bool = param(False, "project noise orthogonal to the signals (Cao et al. 2022)", static=True)
    snr_noise: str = param("weak", "which sigma the SNR axis uses: SNR = |mu| / (sigma sqrt(d))",
                           static=True, choices=("weak", "strong"))
    # values (dynamic: vmapped, free to sweep)
    mu_norm: float = param(50.0, "signal norm |mu|", lo=0.0, lo_open=True)
    sigma_strong: float = param(4.0, "std of the strong-noise token (token 2)", lo=0.0)
    sigma_weak: float = param(0.2, "std of the weak-noise tokens (3..M)", lo=0.0)
    lr: float = param(0.1, "GD step size eta", lo=0.0, lo_open=True)
    shrink: float = param(16.0, "init of W_Q, W_K, W_V divided by this (16 phase, 64 dynamics)", lo=0.0, lo_open=True)
    stop_loss: float = param(0.01, "stop a run once its training loss is below this (0: never)", lo=0.0)

    def snr(self) -> float:
        sigma = self.sigma_weak if self.snr_noise == "weak" else self.sigma_strong
        return float(theory.snr(self.mu_norm, sigma, self.d))


# ---------------------------------------------------------------------------------------
# Problem: data, model, loss, observables


def _sample(key, n, cfg):
    scales = jnp.concatenate([jnp.array([cfg.sigma_strong]), jnp.full((cfg.M - 2,), cfg.sigma_weak)])
    return signal_noise.sample(key, n, d=cfg.d, mu_norm=cfg.mu_norm, noise_scales=scales,
                               signal="orthogonal", orthogonal_noise=cfg.orthogonal_noise)


def setup_plain(key, cfg):
    """(AttentionParams, data with the raw train and test samples): the weights as trained literally.

    In a program shared by several N (a bucket, engine/buckets.py) cfg.N is the bucket size:
    the samples beyond the run's own N are zero tokens with weight 0 in the loss, so they add
    nothing to any gradient, Gram matrix or observable (the first N samples are those a
    program of the run's own N draws)."""
    k_init, k_train, k_test = jax.random.split(key, 3)
    params, w_o = attention.init(k_init, cfg.d, cfg.d_h, cfg.d_v, cfg.shrink)
    train, test = _sample(k_train, cfg.N, cfg), _sample(k_test, cfg.n_test, cfg)
    mask = size_mask(cfg, "N")
    return params, dict(w_o=w_o, x=train.x * mask[:, None, None], y=train.y, weight=mask.astype(train.x.dtype),
                        x_test=test.x, y_test=test.y)


def _projections(params, w_o, x):
    """Token projections (X W_Q, X W_K, X W_V w_O) of tokens x [..., d]."""
    return x @ params.w_q, x @ params.w_k, x @ (params.w_v @ w_o)


def _mean_loss(proj, y, weight=None):
    """Mean logistic loss from the projections (q, k, v) [n, M, ...] of samples with labels y [n]
    (over the samples of weight 1 when ``weight`` [n] is given: bucket padding has weight 0)."""
    losses = logistic_loss(y * attention.apply_from_projections(*proj))
    return jnp.mean(losses) if weight is None else jnp.sum(weight * losses) / jnp.sum(weight)


def loss_plain(params, data, cfg, key):
    del cfg, key  # full-batch GD on the fixed training set
    return _mean_loss(_projections(params, data["w_o"], data["x"]), data["y"], data["weight"])


def _observe(train, test, y, y_test, weight):
    """Losses, 0-1 test error and the five panels' quantities on training sample 0 (y = +1),
    from the projections (q, k, v) [n, M, ...] of the training and the test samples.

    Token order of a sample: 0 signal mu_+, 1 strong noise xi_2, 2 first weak noise xi_3, so
    mu_+^T W_V w_O = v[0, 0] and a^T W_Q W_K^T b = q[0, a] . k[0, b].
    """
    q, k, v = (p[0] for p in train)  # sample 0: [M, d_h], [M, d_h], [M]
    a0 = jax.nn.softmax(q @ k.T, axis=-1).mean(axis=0)  # attention averaged over query rows
    test_out = attention.apply_from_projections(*test)
    return dict(
        train_loss=_mean_loss(train, y, weight),
        test_loss=jnp.mean(logistic_loss(y_test * test_out)),
        test_error=jnp.mean(jnp.sign(test_out) != y_test),
        attn_signal=a0[0],
        attn_strong_noise=a0[1],
        value_signal=v[0],
        value_strong_noise=v[1],
        qk_signal_signal=q[0] @ k[0],
        qk_signal_noise=q[0] @ k[1],
        qk_weak_signal=q[2] @ k[0],
        qk_weak_noise=q[2] @ k[1],
    )


def observe_plain(params, data, cfg):
    del cfg
    w_o = data["w_o"]
    return _observe(_projections(params, w_o, data["x"]), _projections(params, w_o, data["x_test"]),
                    data["y"], data["y_test"], data["weight"])


# The literal computation: GD on W_Q, W_K, W_V. The reference the dual form is tested against.
PLAIN_PROBLEM = Problem(setup=setup_plain, loss=loss_plain, observe=observe_plain,
                        stop_below=lambda cfg: cfg.stop_loss)


def setup(key, cfg):
    """The same runs in the token-space form of GD (models/attention.py, ``to_dual``): the
    trainable state is the coefficients a of W = W_0 + X^T a, and what a step needs of the
    data is the Gram matrix X X^T and the initial projections; the test set enters through
    its cross kernel X_test X^T and its own initial projections. No array of size d is left
    after set-up."""
    params, raw = setup_plain(key, cfg)
    dp, frozen = attention.to_dual(params, raw["w_o"], raw["x"])
    d = cfg.d
    x, z = raw["x"].reshape(-1, d), raw["x_test"].reshape(-1, d)
    return dp, dict(frozen=frozen, y=raw["y"], weight=raw["weight"], y_test=raw["y_test"], cross=z @ x.T,
                    test_base=_projections(params, raw["w_o"], z))


def _per_sample(proj, n, m):
    """Flat token projections (q [n M, d_h], k [n M, d_h], v [n M]) -> per sample [n, M, ...]."""
    q, k, v = proj
    return q.reshape(n, m, -1), k.reshape(n, m, -1), v.reshape(n, m)


def _dual_train(dp, data, cfg):
    return _per_sample(attention.dual_projections(dp, data["frozen"]), cfg.N, cfg.M)


def loss(dp, data, cfg, key):
    del key  # full-batch GD on the fixed training set
    return _mean_loss(_dual_train(dp, data, cfg), data["y"], data["weight"])


def observe(dp, data, cfg):
    test = attention.dual_projections_of(dp, data["frozen"], data["cross"], data["test_base"])
    return _observe(_dual_train(dp, data, cfg), _per_sample(test, cfg.n_test, cfg.M), data["y"], data["y_test"],
                    data["weight"])


def observe_initial(dp, data, cfg):
    """observe at step 0, where a = 0: the projections are the initial ones setup computed
    (saves the S x T x d_h test products of one observe; S = n_test M test tokens)."""
    del dp
    fr = data["frozen"]
    train = _per_sample((fr.p_q0, fr.p_k0, fr.v0), cfg.N, cfg.M)
    test = _per_sample(data["test_base"], cfg.n_test, cfg.M)
    return _observe(train, test, data["y"], data["y_test"], data["weight"])


PROBLEM = Problem(setup=setup, loss=loss, observe=observe, stop_below=lambda cfg: cfg.stop_loss,
                  observe_initial=observe_initial)


# ---------------------------------------------------------------------------------------
# vit-benign/phase

# Paper preset, the paper's Figure 1 (sizes from the authors' code): M=16, d=1024, widths 512,
# sigmas 4 / 0.2, N in {2..20}, |mu| in {1..100}, 10 repetitions, eta = 0.1, <= 1000 steps,
# stop at training loss 0.01.
PHASE_PAPER = Preset(
    base=dict(d=1024, M=16, d_h=512, d_v=512, n_test=100, sigma_strong=4.0, sigma_weak=0.2,
              lr=0.1, shrink=16.0, steps=1000, log_every=1000, stop_loss=0.01),
    cells=cross(N=range(2, 21, 2), mu_norm=[float(m) for m in range(1, 101)]),
    seeds=10,
    note="the paper's Figure 1: 10 x 100 cells x 10 repetitions = 10,000 runs",
)
# cpu preset, our reduction: d=256, M=8, widths 128, the same sigmas and training rule,
# N in {2..20}, a |mu| grid that brackets the boundary.
PHASE_CPU = Preset(
    base=dict(d=256, M=8, d_h=128, d_v=128, n_test=100, sigma_strong=4.0, sigma_weak=0.2,
              lr=0.1, shrink=16.0, steps=1000, log_every=1000, stop_loss=0.01),
    cells=cross(N=range(2, 21, 2), mu_norm=[5.0, 7.5, 10.0, 12.5, 15.0, 17.5, 20.0, 25.0, 30.0,
                                            35.0, 40.0, 50.0, 60.0, 80.0]),
    seeds=4,
    note="reduced widths and dimension; the law N * SNR^2 = c with a fitted c",
)
PHASE_SMOKE = Preset(
    base=dict(d=32, M=4, d_h=16, d_v=16, n_test=20, sigma_strong=4.0, sigma_weak=0.2,
              lr=0.1, shrink=16.0, steps=100, log_every=100, stop_loss=0.01),
    cells=cross(N=[2, 4, 8], mu_norm=[1.0, 10.0, 40.0]),
    seeds=2,
    note="seconds; checks the plumbing, not the science",
    untested={
        "chance-vs-benign": "at d = 32 with 2 seeds the harmful level is not yet at ln 2 "
                            "(a 20-sample test set of tiny noise tokens) and c is fitted from 3 points",
        "boundary-slope": "3 values of N x 3 values of |mu| cannot resolve a slope",
    },
)

CUTOFF = 0.2  # Figure 1(b): a run is benign when its test loss is below this


def _phase_cells(df: pd.DataFrame, resolved: Resolved) -> pd.DataFrame:
    """Per cell: mean test loss / error over repetitions and the fraction below the cutoff."""
    fin = final_rows(df)
    sigma = fin["sigma_weak"] if resolved.base.snr_noise == "weak" else fin["sigma_strong"]
    fin = fin.assign(snr=theory.snr(fin["mu_norm"], sigma, fin["d"]), below=fin["test_loss"] < CUTOFF)
    g = fin.groupby(["N", "mu_norm"], as_index=False)
    return g.agg(snr=("snr", "first"), test_loss=("test_loss", "mean"), test_error=("test_error", "mean"),
                 below=("below", "mean"), stop_step=("stop_step", "mean"), reps=("seed", "count"))


def _paper_c(resolved: Resolved) -> float | None:
    """The theory's c for the paper's exact axis convention, or None at reduced presets."""
    if resolved.preset != "paper":
        return None
    return theory.PAPER_C_WEAK if resolved.base.snr_noise == "weak" else theory.PAPER_C_STRONG


def _boundary(cells: pd.DataFrame):
    """SNR*(N) = the smallest SNR with >= half the repetitions below the cutoff; the slope of
    log N against log SNR* and c fitted with the slope fixed at -2 (both None below 3 points)."""
    return fit_boundary(cells["N"], cells["snr"], cells["below"])


def phase_claims(df: pd.DataFrame, resolved: Resolved) -> list[Claim]:
    lost = absent_cells(df, [lab for lab, _ in resolved.cells])
    if lost:
        why = f"no results for {len(lost)} of {len(resolved.cells)} cells (e.g. {lost[0]!r}): their runs failed"
        return [Claim.missing("chance-vs-benign", "harmful cells sit at ln 2, benign cells well below 0.2", why),
                Claim.missing("boundary-slope", "the boundary follows N * SNR^2 = c", why)]
    cells = _phase_cells(df, resolved)
    fit = _boundary(cells)
    c = _paper_c(resolved) or fit.c_star
    claims = []
    # (a) harmful cells at chance, benign cells well below the cutoff.
    if c is None:
        claims.append(Claim("chance-vs-benign", "harmful cells sit at ln 2, benign cells well below 0.2",
                            "", "no boundary found", "", None,
                            "fewer than 3 values of N reach test loss < 0.2; the grid does not bracket the boundary"))
    else:
        nsnr2 = cells["N"] * cells["snr"] ** 2
        harm = cells[nsnr2 <= c / 8]
        good = cells[nsnr2 >= 4 * c]
        ok_h = bool(len(harm)) and bool((harm["test_loss"] - theory.LN2).abs().max() <= 0.1)
        ok_b = bool(len(good)) and bool(good["test_loss"].max() <= 0.12)
        testable = len(harm) > 0 and len(good) > 0
        claims.append(Claim(
            "chance-vs-benign",
            "cells with N*SNR^2 <= c/8 end at test loss ln 2 (chance); cells with N*SNR^2 >= 4c end well below 0.2",
            f"harmful |loss - ln 2| <= 0.1 (ln 2 = {theory.LN2:.3f}); benign loss <= 0.12",
            (f"harmful: {len(harm)} cells, loss {harm['test_loss'].min():.3f}..{harm['test_loss'].max():.3f}; "
             f"benign: {len(good)} cells, loss {good['test_loss'].min():.3f}..{good['test_loss'].max():.3f}")
            if testable else f"harmful cells: {len(harm)}, benign cells: {len(good)}",
            "0.1 around ln 2; 0.12 absolute",
            (ok_h and ok_b) if testable else None,
            f"c = {c:.4g} ({'theory' if _paper_c(resolved) else 'fitted'})"
            + ("" if testable else "; the grid has no cell on one side"),
        ))
    # (b) the boundary follows N ~ SNR^-2.
    slope = fit.slope
    claims.append(Claim(
        "boundary-slope",
        "the boundary follows N * SNR^2 = c: the slope of log N against log SNR*(N) is -2",
        "-2 (accepted range [-2.6, -1.4])",
        "undefined" if slope is None else f"{slope:.2f} over {len(fit.n)} values of N; c_fit = {fit.c_star:.4g}",
        "[-2.6, -1.4]",
        None if slope is None else bool(-2.6 <= slope <= -1.4),
        "SNR*(N) = smallest SNR with >= half the repetitions at test loss < 0.2"
        + ("" if slope is not None else "; fewer than 3 values of N have one: the grid is too small"),
    ))
    return claims


def phase_figures(df: pd.DataFrame, resolved: Resolved) -> dict:
    cells = _phase_cells(df, resolved)
    cells = cells.assign(benign=(cells["test_loss"] < CUTOFF).astype(float))
    fit = _boundary(cells)
    c_theory = _paper_c(resolved)
    c = c_theory or fit.c_star
    curve = None if c is None else (lambda s: theory.boundary_n(s, c))
    label = "" if c is None else f"N SNR$^2$ = {c:.4g}" + ("" if c_theory else " (fitted)")
    panels = (("test_loss", "(a) test loss (mean over repetitions)", dict(vmin=0, vmax=0.75, label="test loss")),
              ("benign", "(b) test loss cut off at 0.2",
               dict(cmap="RdYlBu", vmin=0, vmax=1, label="benign (test loss < 0.2)")),
              ("test_error", "(c) 0-1 test error", dict(vmin=0, vmax=0.5, label="0-1 test error")))
    with paper_style():
        fig, axes = subplots(1, 3, figsize=(15, 4.2), constrained_layout=True)
        for ax, (col, title, kw) in zip(axes, panels):
            table_heatmap(ax, cells, x="snr", y="N", value=col, curve=curve, curve_label=label, **kw)
            ax.set_title(title)
            ax.set_xlabel(f"SNR = |mu| / (sigma_{resolved.base.snr_noise} sqrt(d))")
            ax.set_ylabel("N (training samples)")
        if len(fit.n):
            axes[1].plot(fit.snr_star, fit.n, "k^", ms=5, label="SNR*(N)")
            axes[1].legend(loc="upper right", frameon=True)
        fig.suptitle(f"vit-benign/phase ({resolved.preset}): d={resolved.base.d}, M={resolved.base.M}, "
                     f"{len(cells)} cells x {resolved.seeds} reps"
                     + ("" if fit.slope is None else f"; boundary slope {fit.slope:.2f} (theory -2)"))
    return {"phase": fig}


def phase_theory_curve(x: str, y: str, df: pd.DataFrame, resolved: Resolved):
    """The boundary N * SNR^2 = c in the (|mu|, N) plane, for the generic sweep figure.

    SNR = |mu| / (sigma sqrt(d)), so N = c sigma^2 d / |mu|^2. c is the theory's at the paper
    preset, else fitted from the sweep; None if d or sigma vary, or no c can be had.
    """
    if {x, y} != {"mu_norm", "N"}:
        return None
    sig = "sigma_weak" if resolved.base.snr_noise == "weak" else "sigma_strong"
    if df["d"].nunique() > 1 or df[sig].nunique() > 1:
        return None
    c = _paper_c(resolved) or _boundary(_phase_cells(df, resolved)).c_star
    if c is None:
        return None
    k2 = float(df[sig].iloc[0]) ** 2 * float(df["d"].iloc[0])  # (sigma sqrt(d))^2
    label = f"N SNR$^2$ = {c:.4g}" + ("" if _paper_c(resolved) else " (fitted)")
    if x == "mu_norm":
        return (lambda mu: c * k2 / np.asarray(mu, float) ** 2), label
    return (lambda n: np.sqrt(c * k2 / np.asarray(n, float))), label


PHASE = Experiment(
    name="vit-benign/phase",
    summary="Figure 1: test loss over (N, SNR) with the boundary N*SNR^2 = c",
    config=Config,
    problem=PROBLEM,
    presets={"smoke": PHASE_SMOKE, "cpu": PHASE_CPU, "paper": PHASE_PAPER},
    claims=phase_claims,
    figures=phase_figures,
    theory_curve=phase_theory_curve,
    sweep_metric="test_loss",
)


# ---------------------------------------------------------------------------------------
# vit-benign/dynamics

# The paper's dynamics figures (appendix; sizes from the authors' code): M=4, d=2048, d_h=1024,
# d_v=256, sigmas 1 / 0.05, init / 64; benign N=16, |mu|=25, eta=0.01; harmful N=10, |mu|=15,
# eta=0.02; 500 steps; 20 seeds; test set of 10.
DYN_BASE = dict(d=2048, M=4, d_h=1024, d_v=256, n_test=10, sigma_strong=1.0, sigma_weak=0.05,
                shrink=64.0, steps=500, log_every=5, stop_loss=0.0)
DYN_CELLS = (dict(label="benign", N=16, mu_norm=25.0, lr=0.01),
             dict(label="harmful", N=10, mu_norm=15.0, lr=0.02))
DYN_PAPER = Preset(base=DYN_BASE, cells=DYN_CELLS, seeds=20, note="the paper's appendix setting")
DYN_CPU = Preset(base=dict(DYN_BASE, n_test=100), cells=DYN_CELLS, seeds=5,
                 note="the paper's sizes with 5 seeds (not 20) and a test set of 100 (not 10)")
DYN_SMOKE = Preset(
    base=dict(DYN_BASE, d=64, d_h=32, d_v=16, steps=20, log_every=5),
    cells=(dict(label="benign", N=16, mu_norm=5.0, lr=0.01), dict(label="harmful", N=10, mu_norm=3.0, lr=0.02)),
    seeds=2, note="seconds; checks the plumbing, not the science",
    untested={"*": "20 steps at d = 64: the signal and noise sides have not separated yet"},
)

PANELS = (  # (title, [(observable, legend)])
    ("training / test loss", [("train_loss", "train"), ("test_loss", "test")]),
    ("attention (avg over queries)", [("attn_signal", "on signal"), ("attn_strong_noise", "on strong noise")]),
    (r"value: $v^\top W_V w_O$", [("value_signal", r"$\mu_+$"), ("value_strong_noise", r"$\xi_2$")]),
    (r"$\mu_+^\top W_Q W_K^\top \cdot$", [("qk_signal_signal", r"$\mu_+$"), ("qk_signal_noise", r"$\xi_2$")]),
    (r"$\xi_3^\top W_Q W_K^\top \cdot$", [("qk_weak_signal", r"$\mu_+$"), ("qk_weak_noise", r"$\xi_2$")]),
)


def dynamics_figures(df: pd.DataFrame, resolved: Resolved) -> dict:
    labels = [lab for lab, _ in resolved.cells if lab in set(df["cell"])]
    with paper_style():
        fig, axes = subplots(max(len(labels), 1), len(PANELS), figsize=(18, 3.3 * max(len(labels), 1)),
                             constrained_layout=True, squeeze=False)
        for i, cell in enumerate(labels):
            for j, (title, series) in enumerate(PANELS):
                ax = axes[i, j]
                for col, legend in series:
                    cell_band(ax, df, col, cell=cell, label=legend)
                ax.set_title(f"{cell}: {title}")
                ax.set_xlabel("GD step")
                ax.legend()
        fig.suptitle(f"vit-benign/dynamics ({resolved.preset}): mean +- 2 sd over {resolved.seeds} seeds, "
                     "tracked on training sample 0 (y = +1)")
    return {"dynamics": fig}


def dynamics_claims(df: pd.DataFrame, resolved: Resolved) -> list[Claim]:
    need = ("benign", "harmful")
    grid = {lab for lab, _ in resolved.cells}
    if not set(need) <= grid:
        return [Claim("benign-harmful", "the benign and the harmful run", "", f"cells: {sorted(grid)}",
                      "", None, "this grid lacks the 'benign' or the 'harmful' cell")]
    lost = absent_cells(df, need)
    if lost:
        return [Claim.missing("benign-harmful", "the benign and the harmful run",
                              f"no results for the {' and '.join(map(repr, lost))} cell: its runs failed")]
    m = final_rows(df).groupby("cell").mean(numeric_only=True)
    b, h = m.loc["benign"], m.loc["harmful"]
    out = []

    def side(row, sig, noi, signal_wins):
        wins = row[sig] > row[noi] if signal_wins else row[noi] > row[sig]
        return bool(wins), f"{row[sig]:.4g} (signal) vs {row[noi]:.4g} (noise)"

    for cell, row, signal_wins in (("benign", b, True), ("harmful", h, False)):
        winner = "signal" if signal_wins else "noise"
        ok1, meas1 = side(row, "attn_signal", "attn_strong_noise", signal_wins)
        ok2, meas2 = side(row, "value_signal", "value_strong_noise", signal_wins)
        out.append(Claim(f"{cell}-attention", f"{cell} run: final attention on the {winner} token is larger",
                         f"{winner} > other", meas1, "strict inequality of seed means", ok1))
        out.append(Claim(f"{cell}-value", f"{cell} run: final v^T W_V w_O is larger for the {winner} token",
                         f"{winner} > other", meas2, "strict inequality of seed means", ok2))
    out.append(Claim("test-loss", "the benign run ends with a lower test loss than the harmful run",
                     "benign < harmful", f"{b['test_loss']:.3f} vs {h['test_loss']:.3f}",
                     "strict inequality of seed means", bool(b["test_loss"] < h["test_loss"])))
    return out


DYNAMICS = Experiment(
    name="vit-benign/dynamics",
    summary="Appendix dynamics: five tracked quantities for a benign and a harmful run",
    config=Config,
    problem=PROBLEM,
    presets={"smoke": DYN_SMOKE, "cpu": DYN_CPU, "paper": DYN_PAPER},
    claims=dynamics_claims,
    figures=dynamics_figures,
)

EXPERIMENTS = (PHASE, DYNAMICS)
