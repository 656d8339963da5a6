"""A Theoretical Analysis of Mamba's Training Dynamics: Filtering Relevant Features for
Generalization in State Space Models (Shandirasegaran, Li, Zhang, Wang, Zhang; ICLR 2026;
arXiv:2602.12499).

A simplified Mamba block (one S6 layer with the input-dependent gate sigma(w_Delta^T x_t),
A = -1, W_B = W_C = I frozen; models/gated_s6.py) read out by a two-layer ReLU MLP with fixed
+-1/sqrt(m) readout (models/token_mlp.py), trained by full-batch GD on the hinge loss over
pattern-token sequences (data/pattern_tokens.py). Trained: w_Delta [d] and V [m, d].

    F(X) = (1/L) sum_l sum_i a_i ReLU(v_i^T y_l),   y_l = sum_{s<=l} G_{l,s} (x_l^T x_s) x_s

Theory (Theorem 1, majority voting): zero test error after T = Theta(1 / (eta (alpha_r -
alpha_c)^2)) steps; Lemma 4.1: <w_Delta(T), o_+> grows like eta T (alpha_r - alpha_c)^2, the
irrelevant projections stay small. (Theorem 2, locality): T = Theta(L^2 / (eta g_loc)),
g_loc = 2^-dL+ - 2^-dL-; Lemma 4.2: w_Delta is pushed negative on irrelevant patterns.

No full text or code of the paper is available: every size, the init, eta and the stopping
rule below are calibrated toolkit defaults (chosen and checked by prototype runs for the
toolkit's pattern-token spec), not the paper's. The reports say so.

Experiments:
  mamba-block/majority   steps to converge vs the gap alpha_r - alpha_c, gate alignment (Fig. 1, 2)
  mamba-block/locality   convergence vs the distance dL+ of the deciding pair, the gate's sign (Fig. 3, 4)
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd

from theorylab.analysis import absent_cells, final_rows, trajectories
from theorylab.analysis.crossing import spearman
from theorylab.analysis.hitting import loglog_slope
from theorylab.data import pattern_tokens as pt
from theorylab.experiment import Claim, ConfigError, Experiment, Preset, Problem, Resolved, param
from theorylab.models import gated_s6, token_mlp
from theorylab.plots.style import paper_style, subplots
from theorylab.plots.trajectories import band

SIZES_NOTE = ("sizes, init, step size and stopping rule are calibrated toolkit defaults (from the "
              "toolkit's pattern-token spec and its prototype runs), not the paper's: no full text or "
              "code of arXiv:2602.12499 is available")


@dataclasses.dataclass(frozen=True)
class Config:
    # shapes (static)
    d: int = param(24, "token dimension = number of dictionary patterns M", static=True, lo=4)
    L: int = param(20, "tokens per sequence", static=True, lo=6)
    N: int = param(256, "training sequences (labels alternate +1, -1)", static=True, lo=2)
    n_test: int = param(256, "test sequences", static=True, lo=2)
    m: int = param(32, "MLP width (readout a_i = +-1/sqrt(m) fixed)", static=True, lo=2)
    steps: int = param(6000, "GD step budget", static=True, lo=1)
    log_every: int = param(20, "steps between recorded observables (divides steps)", static=True, lo=1)
    rule: str = param("majority", "label rule of the data", static=True, choices=("majority", "locality"))
    # values (dynamic: vmapped, free to sweep)
    alpha_r: float = param(0.4, "majority: fraction of label-relevant tokens (own class pattern)", lo=0.0, hi=1.0)
    alpha_c: float = param(0.2, "majority: fraction of confusion tokens (other class pattern)", lo=0.0, hi=1.0)
    dl_close: int = param(1, "locality: distance of the pair that decides the label (dL+)", lo=1)
    dl_far: int = param(6, "locality: distance of the other pair (dL-)", lo=1)
    tau: float = param(0.1, "token noise |xi| (xi ~ N(0, tau^2/d I))", lo=0.0)
    lr: float = param(1.0, "GD step size eta (V)", lo=0.0, lo_open=True)
    gate_lr: float = param(1.0, "w_Delta step = gate_lr * eta (0: the gate frozen at its init)", lo=0.0)
    v_init: float = param(0.1, "std of the init of V", lo=0.0)
    w_init: float = param(1e-4, "std of the init of w_Delta (0: exactly 0, every gate 1/2)", lo=0.0)
    stop_loss: float = param(1e-3, "stop a run once its training hinge loss is below this (0: never)", lo=0.0)

    def check(self) -> None:
        """Cross-field limits (called by the config validation, before anything compiles)."""
        if self.rule == "majority" and round(self.alpha_r * self.L) <= round(self.alpha_c * self.L):
            raise ConfigError(f"Config.alpha_r = {self.alpha_r} must exceed alpha_c = {self.alpha_c} by one token "
                              f"of L = {self.L} (majority vote)")
        if self.rule == "majority" and self.alpha_r + self.alpha_c > 1:
            raise ConfigError(f"Config.alpha_r + alpha_c = {self.alpha_r + self.alpha_c} must be <= 1")
        if self.rule == "locality" and not self.dl_close < self.dl_far <= self.L - 2:
            raise ConfigError(f"Config.dl_close = {self.dl_close} < dl_far = {self.dl_far} <= L - 2 = {self.L - 2} "
                              "is required (two pairs at distinct positions)")


# ---------------------------------------------------------------------------------------
# Problem: data, model, loss, observables


def sample(key, n: int, cfg: Config) -> pt.Tokens:
    """n sequences of the configured label rule."""
    if cfg.rule == "majority":
        return pt.majority(key, n, d=cfg.d, L=cfg.L, M=cfg.d, n_rel=jnp.round(cfg.alpha_r * cfg.L),
                           n_conf=jnp.round(cfg.alpha_c * cfg.L), tau=cfg.tau)
    return pt.locality(key, n, d=cfg.d, L=cfg.L, M=cfg.d, dl_close=cfg.dl_close, dl_far=cfg.dl_far, tau=cfg.tau)


def setup(key, cfg: Config):
    """params {w [d], v [m, d]}; data: train / test tokens, their overlaps x_l^T x_s [n, L, L], labels."""
    k_w, k_v, k_tr, k_te = jax.random.split(key, 4)
    params = dict(w=cfg.w_init * jax.random.normal(k_w, (cfg.d,)),
                  v=cfg.v_init * jax.random.normal(k_v, (cfg.m, cfg.d)))
    tr, te = sample(k_tr, cfg.N, cfg), sample(k_te, cfg.n_test, cfg)
    data = dict(a=token_mlp.readout_signs(cfg.m), x=tr.x, p=gated_s6.overlap(tr.x), y=tr.y,
                x_test=te.x, p_test=gated_s6.overlap(te.x), y_test=te.y)
    return params, data


def forward(params, a, x, p):
    """F(X) [n] for tokens x [n, L, d] with overlaps p [n, L, L]."""
    return token_mlp.readout(params["v"], a, gated_s6.mix(params["w"], x, p))


def loss(params, data, cfg, key):
    del cfg, key  # full-batch GD on the fixed training set
    return jnp.mean(token_mlp.hinge_loss(data["y"] * forward(params, data["a"], data["x"], data["p"])))


def optimizer(cfg):
    """GD with step eta on V and gate_lr * eta on w_Delta."""
    return optax.multi_transform({"w": optax.sgd(cfg.lr * cfg.gate_lr), "v": optax.sgd(cfg.lr)},
                                 {"w": "w", "v": "v"})


def observe(params, data, cfg):
    """Losses, test error, the gate's projections on the patterns and the MLP's alignment."""
    w, v = params["w"], params["v"]
    out_test = forward(params, data["a"], data["x_test"], data["p_test"])
    wn = jnp.sqrt(jnp.sum(w**2)) + 1e-30
    diff = jnp.zeros(cfg.d).at[0].set(1.0).at[1].set(-1.0) / jnp.sqrt(2.0)  # (o_+ - o_-)/sqrt 2
    vcos = (v @ diff) / (jnp.sqrt(jnp.sum(v**2, axis=1)) + 1e-30)
    return dict(
        train_loss=loss(params, data, cfg, None),
        test_loss=jnp.mean(token_mlp.hinge_loss(data["y_test"] * out_test)),
        test_error=jnp.mean(jnp.sign(out_test) != data["y_test"]),
        w_plus=w[0], w_minus=w[1], w_irr=jnp.mean(w[2:]),
        cos_plus=w[0] / wn, cos_minus=w[1] / wn, cos_irr=jnp.mean(w[2:]) / wn,
        gate_plus=jax.nn.sigmoid(w[0]), gate_minus=jax.nn.sigmoid(w[1]), gate_irr=jnp.mean(jax.nn.sigmoid(w[2:])),
        neuron_align=jnp.mean(jnp.abs(vcos)),
    )


PROBLEM = Problem(setup=setup, loss=loss, observe=observe, optimizer=optimizer, stop_below=lambda cfg: cfg.stop_loss)


# ---------------------------------------------------------------------------------------
# mamba-block/majority

GAPS = (0.1, 0.2, 0.3, 0.4, 0.5)
SIGNAL = 0.6  # alpha_r + alpha_c of the gap sweep (toolkit default)
T_EARLY = 20  # the fixed early step of the <w_Delta, o_+> claim (toolkit default)


def _gap_cell(gap: float, **kw) -> dict:
    """(alpha_r, alpha_c) = ((0.6 + gap)/2, (0.6 - gap)/2), labelled by the gap and N."""
    extra = "".join(f",{k}={v}" for k, v in kw.items() if k != "N")
    return dict(label=f"gap={gap:g},N={kw.get('N')}{extra}", alpha_r=round((SIGNAL + gap) / 2, 4),
                alpha_c=round((SIGNAL - gap) / 2, 4), **kw)


def _majority_cells(ns, frozen_gaps=(0.2, 0.4), frozen_n=64, ls=(10, 40), l_n=64) -> tuple:
    cells = [_gap_cell(g, N=n) for n in ns for g in GAPS]
    cells += [_gap_cell(g, N=frozen_n, gate_lr=0.0) for g in frozen_gaps]
    cells += [_gap_cell(0.2, N=l_n, L=ll) for ll in ls]
    return tuple(cells)


MAJ_BASE = dict(rule="majority", d=24, L=20, n_test=256, m=32, tau=0.1, lr=1.0, steps=6000, log_every=20,
                stop_loss=1e-3)
MAJ_CPU = Preset(base=MAJ_BASE, cells=_majority_cells((64, 256)), seeds=2,
                 note="the spec's prototype grid: d = 24, L = 20, m = 32, tau = 0.1, eta = 1 (calibrated defaults)")
MAJ_PAPER = Preset(base=dict(MAJ_BASE, d=32, L=32, m=1024, n_test=512),
                   cells=_majority_cells((128, 512, 2048), frozen_n=512, ls=(16, 64), l_n=512), seeds=5,
                   note="sizes unknown: d = 32, L = 32, m = d^2 (the theorem's width), N up to 2048 "
                        "(toolkit defaults); an accelerator run")
MAJ_SMOKE = Preset(base=dict(MAJ_BASE, d=8, L=10, m=8, n_test=32, steps=60, log_every=20),
                   cells=(_gap_cell(0.4, N=32),), seeds=1, note="seconds; checks the plumbing, not the science",
                   untested={"*": "one cell of 60 steps at d = 8: nothing to compare"})


def _runs(df: pd.DataFrame) -> pd.DataFrame:
    """Final rows with gap and the steps to converge T (inf for runs that hit the budget)."""
    fin = final_rows(df)
    t = np.where(fin["stop_reason"].astype(str).str.lower().str.contains("converged"), fin["stop_step"], np.inf)
    return fin.assign(gap=(fin["alpha_r"] - fin["alpha_c"]).round(4), T=t.astype(float))


def _median_T(runs: pd.DataFrame) -> pd.Series:
    """Median steps to converge per gap (inf if half or more of the runs never converged)."""
    return runs.groupby("gap")["T"].median().sort_index()


def _early(df: pd.DataFrame, runs: pd.DataFrame) -> pd.Series:
    """Mean <w_Delta, o_+> per gap at the last log point <= T_EARLY, over the given runs."""
    at = df[df["step"] <= T_EARLY]["step"].max()
    rows = df[(df["step"] == at) & df["run_id"].isin(runs["run_id"])]
    gap = (rows["alpha_r"] - rows["alpha_c"]).round(4)
    return rows.groupby(gap)["w_plus"].mean().sort_index()


def _main(runs: pd.DataFrame, L: int) -> pd.DataFrame:
    return runs[(runs["gate_lr"] > 0) & (runs["L"] == L)]


def majority_claims(df: pd.DataFrame, resolved: Resolved) -> list[Claim]:
    lost = absent_cells(df, [lab for lab, _ in resolved.cells])
    ids = ("gap-slope", "N-independent", "no-L2", "gate-alignment", "early-projection", "gate-speedup")
    if lost:
        return [Claim.missing(i, i, f"no results for {len(lost)} cells (e.g. {lost[0]!r})") for i in ids]
    runs = _runs(df)
    L0 = resolved.base.L
    main = _main(runs, L0)
    ns = sorted(main["N"].unique())
    claims = []
    # 1. T ~ gap^-2 over gap in [0.2, 0.5]: the median over every N and seed (claim 2: T does
    #    not depend on N), the per-N slopes reported beside it
    big = main[main["gap"] >= 0.2 - 1e-9]
    med = _median_T(big)
    slope = loglog_slope(med.index, med.values)
    per_n = {n: loglog_slope(m.index, m.values) for n in ns for m in [_median_T(big[big["N"] == n])]}
    claims.append(Claim("gap-slope", "steps to converge T ~ (alpha_r - alpha_c)^-2: log-log slope over gap in [0.2, 0.5]",
                        "-2 (Theorem 1)", f"{slope:.2f} (per N: " + ", ".join(f"N={n}: {v:.2f}" for n, v in per_n.items())
                        + ")", "-2 +- 0.5", bool(-2.5 <= slope <= -1.5),
                        "median over seeds and N of the steps to training hinge < 1e-3; " + SIZES_NOTE))
    # 2. weak dependence on N
    if len(ns) >= 2:
        lo_n, hi_n = ns[0], ns[-1]
        t_lo = _median_T(main[(main["N"] == lo_n) & (main["gap"] >= 0.2 - 1e-9)])
        t_hi = _median_T(main[(main["N"] == hi_n) & (main["gap"] >= 0.2 - 1e-9)])
        ratio = (t_lo / t_hi).values
        claims.append(Claim("N-independent", f"T depends weakly on N: T(N={lo_n}) / T(N={hi_n}) per gap >= 0.2",
                            "within x2 (T has no N in Theorem 1)", ", ".join(f"{r:.2f}" for r in ratio), "[0.5, 2]",
                            bool(np.all((ratio >= 0.5) & (ratio <= 2))), "a larger N only adds the last few samples"))
    # 3. no L^2 growth at fixed fractions
    lrun = runs[(runs["gate_lr"] > 0) & (runs["gap"].sub(0.2).abs() < 1e-9)]
    l_n = lrun[lrun["L"] != L0]["N"].unique()
    if len(l_n):
        lrun = lrun[lrun["N"] == l_n[0]]
        tl = lrun.groupby("L")["T"].median().sort_index()
        r = float(tl.iloc[-1] / tl.iloc[0])
        claims.append(Claim("no-L2", f"at fixed fractions (0.4, 0.2) T does not grow like L^2: T(L={tl.index[-1]}) / "
                            f"T(L={tl.index[0]})", f"<= 2 (an L^2 law gives {(tl.index[-1] / tl.index[0]) ** 2:.0f})",
                            f"{r:.2f} (T = " + ", ".join(f"L={i}: {v:g}" for i, v in tl.items()) + ")",
                            "<= 2", bool(r <= 2), "decides the paper's L-free vs L^2 reading of Theorem 1 (open question)"))
    # 4. gate alignment at convergence
    g = main.groupby("gap")[["cos_plus", "cos_minus", "cos_irr"]].mean()
    ok = bool((g["cos_plus"] >= 0.5).all() and (g["cos_minus"] >= 0.5).all() and (g["cos_irr"].abs() <= 0.15).all())
    claims.append(Claim("gate-alignment", "at convergence w_Delta aligns with both discriminative patterns, "
                        "not with the irrelevant ones", "cos(w, o+), cos(w, o-) >= 0.5; |mean cos(w, o_irr)| <= 0.15",
                        f"cos+ {g['cos_plus'].min():.2f}..{g['cos_plus'].max():.2f}, cos- {g['cos_minus'].min():.2f}.."
                        f"{g['cos_minus'].max():.2f}, cos_irr {g['cos_irr'].min():.3f}..{g['cos_irr'].max():.3f}",
                        "per-gap means", ok, "Lemma 4.1 (Figure 2)"))
    # 5. <w, o+> at a fixed early step grows with the gap, about like gap^2
    per_gap = _early(df, main[main["N"] == ns[-1]])
    rho, expo = spearman(per_gap.index, per_gap.values), loglog_slope(per_gap.index, per_gap.values)
    claims.append(Claim("early-projection", f"<w_Delta, o_+> at t = {T_EARLY} increases with the gap, ~ gap^2",
                        "rank correlation 1; exponent 2 +- 0.6 (Lemma 4.1)",
                        f"rho = {rho:.2f}, exponent {expo:.2f} (" + ", ".join(f"{v:.3f}" for v in per_gap.values) + ")",
                        "rho = 1 and exponent in [1.4, 2.6]", bool(rho > 0.999 and 1.4 <= expo <= 2.6), f"N = {ns[-1]}"))
    # 6. the trained gate converges faster than the frozen one at small gaps
    fro = runs[runs["gate_lr"] == 0]
    if len(fro):
        n_f = fro["N"].iloc[0]
        t_f = _median_T(fro)
        t_t = _median_T(main[main["N"] == n_f]).reindex(t_f.index)
        r = (t_f / t_t)
        small = r[r.index <= 0.2 + 1e-9]
        claims.append(Claim("gate-speedup", "a trained gate converges faster than a frozen one (w_Delta = 0) at gap <= 0.2",
                            "ratio T_frozen / T_trained >= 1.5", ", ".join(f"gap {k:g}: {v:.2f}" for k, v in r.items()),
                            ">= 1.5 at gap <= 0.2", bool(len(small) and (small >= 1.5).all()), f"N = {n_f}"))
    return claims


def _loglog(ax) -> None:
    """Log axes when the panel holds finite positive data (a smoke run may have none)."""
    ys = [np.asarray(ln.get_ydata(), float) for ln in ax.get_lines()]
    if any(np.any(np.isfinite(y) & (y > 0)) for y in ys):
        ax.set_xscale("log"), ax.set_yscale("log")


def majority_figures(df: pd.DataFrame, resolved: Resolved) -> dict:
    runs = _runs(df)
    L0 = resolved.base.L
    main = _main(runs, L0)
    ns = sorted(main["N"].unique())
    with paper_style():
        fig, axes = subplots(1, 4, figsize=(19, 4.2), constrained_layout=True)
        ax = axes[0]
        for n, color in zip(ns, ("C0", "C1", "C2", "C4")):
            sub = main[(main["N"] == n) & np.isfinite(main["T"])]
            ax.plot(sub["gap"], sub["T"], ".", alpha=0.4, color=color)
            med = _median_T(main[main["N"] == n])
            med = med[np.isfinite(med)]
            ax.plot(med.index, med.values, "o-", color=color, label=f"N = {n} (median; capped runs left out)")
        fro = runs[runs["gate_lr"] == 0]
        if len(fro):
            med = _median_T(fro)
            med = med[np.isfinite(med)]
            ax.plot(med.index, med.values, "s--", color="gray", label=f"frozen gate, N = {fro['N'].iloc[0]}")
        ref = _median_T(main[main["N"] == ns[-1]])
        if 0.3 in ref.index and np.isfinite(ref[0.3]):
            gg = np.linspace(0.1, 0.5, 50)
            ax.plot(gg, ref[0.3] * (0.3 / gg) ** 2, "k-", lw=2, label=r"theory $\propto$ gap$^{-2}$ (fit at 0.3)")
        _loglog(ax)
        ax.set_xlabel(r"gap $\alpha_r - \alpha_c$"), ax.set_ylabel("steps to training hinge < 1e-3")
        ax.set_title("(Fig. 1) convergence vs signal gap"), ax.legend()
        ax = axes[1]
        sub = df[df["run_id"].isin(main[main["N"] == ns[-1]]["run_id"])]
        for gap in sorted(main["gap"].unique()):
            ids = main[(main["N"] == ns[-1]) & (main["gap"] == gap)]["run_id"]
            s, v = trajectories(sub[sub["run_id"].isin(ids)], "cos_plus", by="run_id")
            line = band(ax, s, v, label=f"gap {gap:g}: cos(w, o+)")
            s, v = trajectories(sub[sub["run_id"].isin(ids)], "cos_irr", by="run_id")
            band(ax, s, v, color=line.get_color())
        ax.set_xscale("symlog", linthresh=20)
        ax.set_xlabel("GD step"), ax.set_ylabel("cosine")
        ax.set_title(f"(Fig. 2) cos(w, o+) rises, cos(w, o_irr) flat (lower lines); N = {ns[-1]}")
        ax.legend(fontsize=7)
        ax = axes[2]
        early = _early(df, main[main["N"] == ns[-1]])
        early = early[early > 0]
        ax.plot(early.index, early.values, "o-", label=f"measured, t = {T_EARLY}")
        if 0.3 in early.index:
            gg = np.linspace(0.1, 0.5, 50)
            ax.plot(gg, early[0.3] * (gg / 0.3) ** 2, "k-", label=r"theory $\propto$ gap$^2$ (fit at 0.3)")
        _loglog(ax)
        ax.set_xlabel("gap"), ax.set_ylabel(r"$\langle w_\Delta, o_+\rangle$")
        ax.set_title("(Lemma 4.1) early gate projection vs gap"), ax.legend()
        ax = axes[3]
        lrun = runs[(runs["gate_lr"] > 0) & (runs["gap"].sub(0.2).abs() < 1e-9)]
        for n in sorted(lrun["N"].unique()):
            tl = lrun[lrun["N"] == n].groupby("L")["T"].median()
            tl = tl[np.isfinite(tl)]
            if len(tl) > 1:
                ax.plot(tl.index, tl.values, "o-", label=f"measured, N = {n}")
                ax.plot(tl.index, tl.iloc[0] * (tl.index / tl.index[0]) ** 2, "k:", label=r"an $L^2$ law")
        _loglog(ax)
        ax.set_xlabel("L (tokens)"), ax.set_ylabel("steps to converge")
        ax.set_title(r"fixed fractions ($\alpha_r, \alpha_c$) = (0.4, 0.2): no $L^2$"), ax.legend()
        fig.suptitle(f"mamba-block/majority ({resolved.preset}): d={resolved.base.d}, L={L0}, m={resolved.base.m}, "
                     f"tau={resolved.base.tau}, eta={resolved.base.lr}; {resolved.seeds} seeds. "
                     "Sizes are calibrated toolkit defaults (pattern-token spec), not the paper's.")
    return {"majority": fig}


MAJORITY = Experiment(
    name="mamba-block/majority",
    summary="Simplified Mamba block on majority-vote tokens: steps to converge vs (alpha_r - alpha_c)^-2, "
            "w_Delta aligning with o+/o-. " + SIZES_NOTE,
    config=Config,
    problem=PROBLEM,
    presets={"smoke": MAJ_SMOKE, "cpu": MAJ_CPU, "paper": MAJ_PAPER},
    claims=majority_claims,
    figures=majority_figures,
)

# ---------------------------------------------------------------------------------------
# mamba-block/locality

ERR_LEVEL = 0.05  # "converged" for locality: test error <= 5 % (toolkit default)


def _loc_cells(dl_pluses=(1, 2, 3)) -> tuple:
    return tuple(dict(label=f"dL+={k},{'trained' if g else 'frozen'}", dl_close=k, gate_lr=g)
                 for k in dl_pluses for g in (0.1, 0.0))


# eta = 4 with the w_Delta step x 0.1: at the full step w_Delta oscillates (toolkit prototype).
LOC_BASE = dict(rule="locality", d=16, L=10, N=256, n_test=256, m=32, tau=0.1, lr=4.0, dl_far=6, steps=6000,
                log_every=100, stop_loss=0.0)
LOC_CPU = Preset(base=LOC_BASE, cells=_loc_cells(), seeds=2,
                 note="L = 10, d = 16, dL- = 6, eta = 4, w_Delta step x 0.1, 6000 steps (calibrated defaults)")
LOC_PAPER = Preset(base=dict(LOC_BASE, d=32, L=20, dl_far=10, m=1024, N=512, steps=20000),
                   cells=_loc_cells((1, 2, 3, 4)), seeds=5,
                   note="sizes unknown: L = 20, dL- = 10, dL+ = 1..4, m = 1024 (toolkit defaults); an accelerator run")
LOC_SMOKE = Preset(base=dict(LOC_BASE, d=8, N=32, n_test=32, m=8, steps=100, log_every=50),
                   cells=_loc_cells((1, 3)), seeds=1, note="seconds; checks the plumbing, not the science",
                   untested={"*": "100 steps: nothing has been learnt yet"})


def _loc_runs(df: pd.DataFrame) -> pd.DataFrame:
    """Final rows with T = the first logged step at test error <= ERR_LEVEL (inf if never)."""
    hit = df[df["test_error"] <= ERR_LEVEL].groupby("run_id")["step"].min()
    fin = final_rows(df)
    return fin.assign(T=fin["run_id"].map(hit).astype(float).fillna(np.inf),
                      g_loc=pt.locality_gap(fin["dl_close"].astype(float), fin["dl_far"].astype(float)))


def locality_claims(df: pd.DataFrame, resolved: Resolved) -> list[Claim]:
    ids = ("distance-slows-frozen", "distance-slows-trained", "irrelevant-gate-negative")
    lost = absent_cells(df, [lab for lab, _ in resolved.cells])
    if lost:
        return [Claim.missing(i, i, f"no results for {len(lost)} cells (e.g. {lost[0]!r})") for i in ids]
    runs = _loc_runs(df)
    out = []
    for gate, sub in runs.groupby(runs["gate_lr"] > 0):
        name = "trained" if gate else "frozen"
        t = sub.groupby("dl_close")["T"].median().sort_index()
        err = sub.groupby("dl_close")["test_error"].mean().sort_index()
        tv = t.values
        mono_t = bool(np.all(tv[1:] >= tv[:-1]))  # inf >= inf: runs that never get there tie
        mono_e = bool(np.all(np.diff(err.values) > 0))
        out.append(Claim(f"distance-slows-{name}", f"{name} gate: a larger dL+ (smaller g_loc) converges later and "
                         f"errs more at the budget", "T(dL+) increasing (Theorem 2: T ~ 1/g_loc); final test error increasing",
                         "T = " + ", ".join(f"{k}: {v:g}" for k, v in t.items()) + "; error = "
                         + ", ".join(f"{k}: {v:.3f}" for k, v in err.items()),
                         f"T non-decreasing (never reaching test error {ERR_LEVEL} counts as inf); error strictly "
                         "increasing", mono_t and mono_e,
                         SIZES_NOTE))
    tr = runs[(runs["gate_lr"] > 0) & (runs["dl_close"] >= 2)]
    w_irr, w_rel = tr["w_irr"].mean(), 0.5 * (tr["w_plus"] + tr["w_minus"]).mean()
    out.append(Claim("irrelevant-gate-negative", "trained gate, dL+ >= 2, end of the budget: w_Delta is pushed "
                     "negative on irrelevant patterns, below the relevant ones", "<w, o_irr> < 0 and < (<w, o+> + <w, o->)/2 "
                     "(Lemma 4.2, Figure 4)", f"<w, o_irr> = {w_irr:.3f}, relevant mean {w_rel:.3f} "
                     f"({len(tr)} runs; per run irr < rel in {int((tr['w_irr'] < 0.5 * (tr['w_plus'] + tr['w_minus'])).sum())})",
                     "sign check on the run means", bool(w_irr < 0 and w_irr < w_rel),
                     "late-time only: with the full step on w_Delta the irrelevant projection first rises (prototype)"))
    return out


def locality_figures(df: pd.DataFrame, resolved: Resolved) -> dict:
    runs = _loc_runs(df)
    with paper_style():
        fig, axes = subplots(1, 3, figsize=(16, 4.2), constrained_layout=True)
        ax = axes[0]
        for trained, colors in ((True, ("C0", "C1", "C2", "C9")), (False, ("C7", "C5", "C3", "C8"))):
            for k, color in zip(sorted(runs["dl_close"].unique()), colors):
                ids = runs[((runs["gate_lr"] > 0) == trained) & (runs["dl_close"] == k)]["run_id"]
                s, v = trajectories(df[df["run_id"].isin(ids)], "test_error", by="run_id")
                band(ax, s, v, label=f"dL+ = {k}, {'trained' if trained else 'frozen'} gate", color=color)
        ax.axhline(ERR_LEVEL, color="k", ls=":", lw=1)
        ax.set_xlabel("GD step"), ax.set_ylabel("test error"), ax.set_ylim(-0.02, 0.6)
        ax.set_title("(Fig. 3) a larger distance dL+ is learnt later"), ax.legend(fontsize=7)
        ax = axes[1]
        tr = runs[runs["gate_lr"] > 0]
        for gate, mark in ((True, "o-"), (False, "s--")):
            sub = runs[(runs["gate_lr"] > 0) == gate]
            e = sub.groupby("dl_close")["test_error"].mean()
            ax.plot(e.index, e.values, mark, label=f"final test error, {'trained' if gate else 'frozen'} gate")
        g = tr.groupby("dl_close")["g_loc"].first()
        ax2 = ax.twinx()
        ax2.plot(g.index, 1 / g.values, "r:", label=r"theory: $T \propto 1/g_{loc}$ (right axis)")
        ax2.set_ylabel(r"$1/g_{loc}$"), ax2.legend(loc="lower right")
        ax.set_xlabel("dL+ (distance of the deciding pair)"), ax.set_ylabel("test error at the budget")
        ax.set_title(f"dL- = {resolved.base.dl_far}"), ax.legend(loc="upper left")
        ax = axes[2]
        sub = df[(df["gate_lr"] > 0) & (df["dl_close"] >= 2)]
        for col, lab in (("w_plus", r"$\langle w, o_+\rangle$"), ("w_minus", r"$\langle w, o_-\rangle$"),
                         ("w_irr", r"mean $\langle w, o_{irr}\rangle$")):
            s, v = trajectories(sub, col, by="run_id")
            band(ax, s, v, label=lab)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xlabel("GD step"), ax.set_ylabel("gate projection")
        ax.set_title("(Fig. 4) trained gate, dL+ >= 2: irrelevant pushed negative"), ax.legend()
        fig.suptitle(f"mamba-block/locality ({resolved.preset}): d={resolved.base.d}, L={resolved.base.L}, "
                     f"N={resolved.base.N}, eta={resolved.base.lr} (w_Delta x0.1), {resolved.seeds} seeds. "
                     "Sizes are calibrated toolkit defaults (pattern-token spec), not the paper's.")
    return {"locality": fig}


LOCALITY = Experiment(
    name="mamba-block/locality",
    summary="Simplified Mamba block on locality tokens: a larger distance of the deciding pair converges later; "
            "the gate is pushed negative on irrelevant patterns. " + SIZES_NOTE,
    config=Config,
    problem=PROBLEM,
    presets={"smoke": LOC_SMOKE, "cpu": LOC_CPU, "paper": LOC_PAPER},
    claims=locality_claims,
    figures=locality_figures,
)

EXPERIMENTS = (MAJORITY, LOCALITY)
