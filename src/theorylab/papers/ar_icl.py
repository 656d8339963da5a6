"""How do Transformers perform In-Context Autoregressive Learning? (Sander, Giryes, Suzuki,
Blondel, Peyré; ICML 2024; arXiv:2402.05787).

Trained on sequences s_{t+1} = W s_t with a fresh orthogonal W per sequence, a one-layer linear
transformer with augmented tokens (s_t, s_{t-1}) implements one step of gradient descent on the
in-context objective sum_t |s_t - W' s_{t-1}|^2 (shown for commuting W); the closed-form
population losses of the authors' code have their global minima at a scaled identity (unitary)
or a 2x2 block pattern (orthogonal) with a single positional coefficient; and positional
encodings alone, trained by SGD, reach zero loss with trigonometric profiles. Settings follow the
authors' code (github michaelsdr/ical); the theory variant of the augmented model is [I] (the
paper's text was not available): yhat = V S_tau M e_tau.

Experiments:
  ar-icl/closed-form   Fig. 3: GD on the unitary and orthogonal closed-form losses
  ar-icl/pe-only       Fig. 6: the positional matrix P alone, mu in {50, 100, 200, 300}
  ar-icl/augmented     Fig. 5 (theory variant): trained augmented linear attention against one
                       in-context GD step (best eta) and least squares, Haar and commuting W
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd

from theorylab.analysis import absent_cells, final_rows, stack
from theorylab.data import ar_sequences as ar
from theorylab.experiment import Claim, ConfigError, Experiment, Preset, Problem, Resolved, param
from theorylab.models import ar_linear_attention as ala
from theorylab.plots.style import paper_style, subplots
from theorylab.theory import ar_icl as theory


def _missing(df, resolved, ids):
    lost = absent_cells(df, [lab for lab, _ in resolved.cells])
    if not lost:
        return None
    why = f"no results for {len(lost)} of {len(resolved.cells)} cells (e.g. {lost[0]!r}): their runs failed"
    return [Claim.missing(i, s, why) for i, s in ids]


# =======================================================================================
# ar-icl/closed-form (Fig. 3)


@dataclasses.dataclass(frozen=True)
class ClosedFormConfig:
    family: str = param("unitary", "which closed form: unitary (A, B in R^{d x d}) or orthogonal (R^{H x d})",
                        static=True, choices=("unitary", "orthogonal"))
    d: int = param(10, "state dimension d (even for orthogonal)", static=True, lo=2)
    heads: int = param(8, "rows H of A and B (orthogonal; unitary uses d)", static=True, lo=1)
    T: int = param(20, "positions: P is T x T, rows 0..T-2 enter the loss", static=True, lo=3)
    steps: int = param(100, "GD iterations (code: 100 unitary, 10^5 orthogonal)", static=True, lo=1)
    log_every: int = param(1, "iterations between recorded observables", static=True, lo=1)
    lr: float = param(0.01, "GD step size (code: 0.01 unitary, 10^-3 orthogonal)", lo=0.0, lo_open=True)
    init_scale: float = param(0.1, "A, B, P start at init_scale * N(0, 1) (code: 0.1)", lo=0.0)

    def check(self) -> None:
        if self.family == "orthogonal" and self.d % 2:
            raise ConfigError(f"ClosedFormConfig.d = {self.d} must be even for the orthogonal (2x2 block) loss")


def cf_setup(key, cfg):
    ka, kb, kp = jax.random.split(key, 3)
    h = cfg.d if cfg.family == "unitary" else cfg.heads
    params = dict(A=cfg.init_scale * jax.random.normal(ka, (h, cfg.d)),
                  B=cfg.init_scale * jax.random.normal(kb, (h, cfg.d)),
                  P=cfg.init_scale * jax.random.normal(kp, (cfg.T, cfg.T)))
    return params, {}


def _cf_loss_fn(cfg):
    return theory.unitary_loss if cfg.family == "unitary" else theory.orthogonal_loss


def cf_loss(params, data, cfg, key):
    del data, key
    return _cf_loss_fn(cfg)(params["A"], params["B"], params["P"])


def block_pattern(d: int) -> np.ndarray:
    """blockdiag([[1, 1], [1, 1]], ...) [d, d]."""
    return np.kron(np.eye(d // 2), np.ones((2, 2)))


def cf_observe(params, data, cfg):
    C = params["B"].T @ params["A"]
    c = jnp.mean(jnp.diagonal(C))
    T = cfg.T
    last = params["P"][T - 2, :T]  # the row of the last position, p = P[T-2, :T]
    pattern = jnp.eye(cfg.d) if cfg.family == "unitary" else jnp.asarray(block_pattern(cfg.d))
    cz, pz = C - C.mean(), pattern - pattern.mean()
    return dict(
        loss=_cf_loss_fn(cfg)(params["A"], params["B"], params["P"]),
        c=c,
        offdiag_rel=jnp.max(jnp.abs(C - c * pattern)) / jnp.abs(c),
        pattern_corr=jnp.sign(c) * jnp.sum(cz * pz) / jnp.sqrt(jnp.sum(cz**2) * jnp.sum(pz**2)),
        c_p_last=c * last[T - 1],
        c_p_prev=c * last[T - 2],
        p_other_max=jnp.max(jnp.abs(jnp.where(jnp.arange(T) < T - (1 if cfg.family == "unitary" else 2), last, 0.0))),
        C=C,
        p_last_row=last,
    )


CF_PROBLEM = Problem(setup=cf_setup, loss=cf_loss, observe=cf_observe)

# The authors' code: unitary d = 10, T = 20, GD lr 0.01, 100 iterations; orthogonal d = 10, H = 8,
# T = 20, GD lr 10^-3, 10^5 iterations; init 0.1 N(0, 1).
CF_UNITARY = dict(label="unitary", family="unitary", d=10, T=20, lr=0.01, steps=100, log_every=1)
CF_ORTHO = dict(label="orthogonal", family="orthogonal", d=10, heads=8, T=20, lr=1e-3)
CF_CPU = Preset(base=dict(init_scale=0.1), seeds=8,
                cells=(CF_UNITARY, dict(CF_ORTHO, steps=20000, log_every=100)),
                note="the code's settings; orthogonal with 2 x 10^4 iterations (not 10^5); 8 initialisations")
CF_PAPER = Preset(base=dict(init_scale=0.1), seeds=8,
                  cells=(CF_UNITARY, dict(CF_ORTHO, steps=100000, log_every=500)), note="the code's settings")
CF_SMOKE = Preset(base=dict(init_scale=0.1), seeds=2,
                  cells=(dict(CF_UNITARY, d=4, T=8), dict(CF_ORTHO, d=4, heads=4, T=8, steps=200, log_every=20)),
                  note="seconds", untested={"*": "d = 4, T = 8 with 100 / 200 iterations: not converged"})
# The authors' saved tensors (tensors/*.npy of the code): c and p_T at the optimum they reached.
AUTHORS = {"unitary": dict(c=-1.2018, p_last=-0.8321), "orthogonal": dict(c=-1.2895, p_last=-0.7755, p_prev=0.3877)}


def cf_claims(df: pd.DataFrame, resolved: Resolved) -> list[Claim]:
    ids = [("unitary-optimum", "unitary: where GD reaches ~0, C = cI, c p_T = 1, other p = 0"),
           ("unitary-reach", "unitary: GD reaches loss < 1e-6 from most initialisations"),
           ("orthogonal-optimum", "orthogonal: where GD reaches ~0, C = c blockdiag([[1,1],[1,1]]), c p_T = 1, "
                                  "c p_{T-1} = -1/2"),
           ("orthogonal-reach", "orthogonal: GD reaches loss < 1e-3 from most initialisations")]
    missing = _missing(df, resolved, ids)
    if missing:
        return missing
    fin = final_rows(df)
    out = []
    u = fin[fin["family"] == "unitary"]
    if len(u):
        conv = u[u["loss"] < 1e-6]
        ok = len(conv) > 0 and bool(((conv["offdiag_rel"] < 1e-4) & ((conv["c_p_last"] - 1).abs() < 1e-3)
                                     & (conv["p_other_max"] < 1e-4)).all())
        out.append(Claim(ids[0][0], ids[0][1], "|C - cI|max/|c| < 1e-4, |c p_T - 1| < 1e-3, other |p| < 1e-4 at loss < 1e-6",
                         f"{len(conv)} of {len(u)} inits at loss < 1e-6: offdiag <= {conv['offdiag_rel'].max():.2g}, "
                         f"|c p_T - 1| <= {(conv['c_p_last'] - 1).abs().max():.2g}, other |p| <= "
                         f"{conv['p_other_max'].max():.2g}; |c| = {', '.join(f'{abs(v):.4f}' for v in conv['c'])}"
                         if len(conv) else f"no init reached loss < 1e-6 (min {u['loss'].min():.3g})",
                         "as predicted", ok,
                         f"authors' tensors (one init): c = {AUTHORS['unitary']['c']}, p_T = {AUTHORS['unitary']['p_last']}; "
                         "the sign of c depends on the initialisation"))
        frac = float((u["loss"] < 1e-6).mean())
        out.append(Claim.in_range(
            "unitary-reach", "unitary: GD reaches loss < 1e-6 within the code's iterations from most initialisations",
            frac, 0.5, 1.0, predicted=">= half of the inits (the code shows one init)",
            note=f"final losses {', '.join(f'{v:.2g}' for v in sorted(u['loss']))}: every init first sits on the "
                 "plateau of the saddle at 0 (loss 190); its escape time varies with the init"))
    o = fin[fin["family"] == "orthogonal"]
    if len(o):
        conv = o[o["loss"] < 1e-3]
        ok = len(conv) > 0 and bool(((conv["pattern_corr"] > 0.99) & ((conv["c_p_last"] - 1).abs() <= 0.01)
                                     & ((conv["c_p_prev"] + 0.5).abs() <= 0.01)).all())
        out.append(Claim(ids[2][0], ids[2][1], "corr(C, block pattern) > 0.99, c p_T = 1 +- 0.01, c p_{T-1} = -0.5 +- 0.01 "
                         "at loss < 1e-3",
                         f"{len(conv)} of {len(o)} inits at loss < 1e-3: corr >= {conv['pattern_corr'].min():.4f}, "
                         f"c p_T {', '.join(f'{v:.4f}' for v in conv['c_p_last'])}, c p_(T-1) "
                         f"{', '.join(f'{v:.4f}' for v in conv['c_p_prev'])}; c = {', '.join(f'{v:.4f}' for v in conv['c'])}"
                         if len(conv) else f"no init reached loss < 1e-3 (min {o['loss'].min():.3g})",
                         "as predicted", ok,
                         f"{int(o['steps'].iloc[0])} GD iterations; authors' tensors (one init): c = "
                         f"{AUTHORS['orthogonal']['c']}, p_T = {AUTHORS['orthogonal']['p_last']}, "
                         f"p_(T-1) = {AUTHORS['orthogonal']['p_prev']}"))
        frac = float((o["loss"] < 1e-3).mean())
        out.append(Claim.in_range(
            "orthogonal-reach", "orthogonal: GD from 0.1 N(0, 1) reaches loss < 1e-3 from most initialisations", frac,
            0.5, 1.0, predicted=">= half of the inits (the code shows one init)",
            note=f"final losses {', '.join(f'{v:.2g}' for v in sorted(o['loss']))}: the others stall at a loss of ~1-2, "
                 "also in float64, at 10^5 iterations and at half the step size (a non-global stationary region); "
                 "the spec states the claim for the code's single init"))
    return out


def cf_figures(df: pd.DataFrame, resolved: Resolved) -> dict:
    fin = final_rows(df)
    fams = [f for f in ("unitary", "orthogonal") if f in set(fin["family"])]
    with paper_style():
        fig, axes = subplots(len(fams), 3, figsize=(14, 4 * len(fams)), constrained_layout=True, squeeze=False)
        for i, fam in enumerate(fams):
            sub = df[df["family"] == fam]
            ax = axes[i, 0]
            for seed, g in sub.groupby("seed"):
                g = g.sort_values("step")
                ax.semilogy(g["step"], np.maximum(np.abs(g["loss"]), 1e-16), label=f"init {seed}")
            ax.set_xlabel("GD iteration")
            ax.set_ylabel("|closed-form loss|")
            ax.set_title(f"{fam}: loss (global minimum 0)" + ("" if fam == "unitary" else
                         "; below ~1e-4 float32 round-off of the literal form"))
            ax.legend()
            row = fin[fin["family"] == fam].iloc[0]
            d = int(row["d"])
            C = np.asarray(row["C"], float).reshape(d, d)
            lim = np.abs(C).max()
            im = axes[i, 1].imshow(C, cmap="RdBu_r", vmin=-lim, vmax=lim)
            fig.colorbar(im, ax=axes[i, 1], fraction=0.046)
            axes[i, 1].set_title(f"{fam}: C = B^T A (theory: c {'I' if fam == 'unitary' else 'blockdiag([[1,1],[1,1]])'}, "
                                 f"c = {row['c']:.3f})", fontsize=8)
            ax = axes[i, 2]
            T = int(row["T"])
            p = np.asarray(row["p_last_row"], float)
            ax.bar(np.arange(1, T + 1), p, color="C0", label="trained P[T-2, :T]")
            theo = np.zeros(T)
            theo[-1] = 1 / row["c"]
            if fam == "orthogonal":
                theo[-2] = -0.5 / row["c"]
            ax.plot(np.arange(1, T + 1), theo, "r_", ms=14, mew=2, label="theory (1/c; -1/(2c))")
            ax.set_xlabel("position k")
            ax.set_title(f"{fam}: last row of P")
            ax.legend()
        fig.suptitle(f"ar-icl/closed-form ({resolved.preset}): GD on the closed-form population losses")
    return {"closed_form": fig}


CLOSED_FORM = Experiment(
    name="ar-icl/closed-form",
    summary="Fig. 3: GD on the unitary and orthogonal closed-form losses reaches their identity / block optima",
    config=ClosedFormConfig, problem=CF_PROBLEM,
    presets={"smoke": CF_SMOKE, "cpu": CF_CPU, "paper": CF_PAPER},
    claims=cf_claims, figures=cf_figures,
)


# =======================================================================================
# ar-icl/pe-only (Fig. 6)


@dataclasses.dataclass(frozen=True)
class PEConfig:
    T: int = param(30, "inputs s_0..s_{T-1}; targets s_2..s_T", static=True, lo=3)
    batch: int = param(1000, "fixed training sequences (full batch; code: 1000)", static=True, lo=1)
    steps: int = param(5000, "SGD step budget (code: 10^5, stopping at loss 10^-3)", static=True, lo=1)
    log_every: int = param(50, "steps between recorded observables", static=True, lo=1)
    mu: float = param(100.0, "lambda = exp(i theta / mu), theta ~ U[0, 2 pi)", lo=0.0, lo_open=True)
    lr: float = param(0.5, "SGD step size (code: 0.5)", lo=0.0, lo_open=True)
    stop_loss: float = param(1e-3, "stop once the training loss is below this (code: 10^-3)", lo=0.0)


def pe_setup(key, cfg):
    s = ar.sample_scalar_complex(key, cfg.batch, n=cfg.T, mu=cfg.mu)
    return dict(P=jnp.zeros((cfg.T, cfg.T))), dict(s=s)


def _pe_loss(P, s):
    pred = ala.pe_only_predict(P, s[:, :-1])
    return jnp.mean(jnp.abs(pred - s[:, 2:]) ** 2)


def pe_loss(params, data, cfg, key):
    del cfg, key
    return _pe_loss(params["P"], data["s"])


def pe_observe(params, data, cfg):
    P = params["P"]
    T = cfg.T
    masked = P * jnp.tril(jnp.ones((T, T)))  # what the code saves: P with the k = q + 1 entries masked
    return dict(loss=_pe_loss(P, data["s"]), last_row=masked[T - 2, :T - 1], P=masked)


PE_PROBLEM = Problem(setup=pe_setup, loss=pe_loss, observe=pe_observe, stop_below=lambda cfg: cfg.stop_loss)

# The last row P[T-2, :T-1] that the authors' code saved (results/noisy_pe/pe_eps_mu_<mu>.npy),
# 6 decimals; T = 30.
AUTHORS_LAST_ROW = {
    50: [0.056198, 0.018277, -0.01019, -0.028765, -0.037719, -0.03798, -0.031047, -0.018861, -0.003643, 0.012282,
         0.026669, 0.037538, 0.043336, 0.04308, 0.03645, 0.023856, 0.006436, -0.01398, -0.034967, -0.05364,
         -0.066833, -0.071296, -0.063919, -0.041954, -0.003221, 0.053699, 0.129318, 0.223135, 0.333585],
    100: [0.016989, 0.020652, 0.022026, 0.021286, 0.018653, 0.014388, 0.008787, 0.002178, -0.005084, -0.012623,
          -0.020048, -0.02696, -0.032955, -0.037633, -0.040606, -0.041501, -0.039967, -0.035684, -0.028364, -0.01776,
          -0.003667, 0.014067, 0.035548, 0.060824, 0.089886, 0.122668, 0.159049, 0.198844, 0.241816],
    200: [0.027252, 0.016141, 0.006094, -0.002843, -0.010629, -0.017227, -0.022603, -0.026726, -0.029572, -0.031118,
          -0.031348, -0.030247, -0.027808, -0.024027, -0.018903, -0.012442, -0.004652, 0.004452, 0.014853, 0.026528,
          0.03945, 0.053589, 0.068909, 0.085371, 0.102931, 0.121544, 0.141157, 0.161718, 0.183168],
    300: [-0.039957, -0.037917, -0.035544, -0.032835, -0.029794, -0.02642, -0.022717, -0.018686, -0.01433, -0.009652,
          -0.004657, 0.000652, 0.006269, 0.012189, 0.018408, 0.024917, 0.031712, 0.038784, 0.046127, 0.053732,
          0.061592, 0.069696, 0.078038, 0.086606, 0.095391, 0.104383, 0.113572, 0.122945, 0.132494],
}


def sign_changes(v) -> int:
    s = np.sign(np.asarray(v, float))
    s = s[s != 0]
    return int(np.sum(s[1:] != s[:-1]))


PE_CELLS = tuple(dict(label=f"mu{m}", mu=float(m)) for m in (50, 100, 200, 300))
PE_CPU = Preset(base=dict(T=30, batch=1000, lr=0.5, stop_loss=1e-3, steps=5000, log_every=50), cells=PE_CELLS,
                note="the code's setting, budget 5000 steps (it stops below 10^-3 within ~900)")
PE_PAPER = Preset(base=dict(T=30, batch=1000, lr=0.5, stop_loss=1e-3, steps=100000, log_every=100), cells=PE_CELLS,
                  note="the code's setting")
PE_SMOKE = Preset(base=dict(T=10, batch=200, lr=0.5, stop_loss=1e-3, steps=200, log_every=20),
                  cells=(dict(label="mu100", mu=100.0), dict(label="mu300", mu=300.0)), note="seconds",
                  untested={"*": "T = 10 and 200 steps: not the code's setting"})


def pe_claims(df: pd.DataFrame, resolved: Resolved) -> list[Claim]:
    ids = [("reaches-1e-3", "SGD on P alone reaches loss 10^-3 for every mu"),
           ("last-row-profile", "the last row of P matches the authors' saved profile"),
           ("sign-changes", "the last row's sign changes decrease with mu (4, 2, 2, 1)")]
    missing = _missing(df, resolved, ids)
    if missing:
        return missing
    fin = final_rows(df).sort_values("mu")
    conv = fin["stop_reason"] == "converged"
    out = [Claim(ids[0][0], ids[0][1], "stop below 10^-3",
                 "; ".join(f"mu {m:g}: step {s}, loss {v:.2g}" for m, s, v in zip(fin["mu"], fin["stop_step"], fin["loss"])),
                 "converged in budget", bool(conv.all()),
                 "the spec's prototype stopped at 885 / 764 / 659 / 470 for mu = 50 / 100 / 200 / 300")]
    corrs, changes, ref_changes = [], [], []
    for _, row in fin.iterrows():
        mine = np.asarray(row["last_row"], float)
        changes.append(sign_changes(mine))
        ref = AUTHORS_LAST_ROW.get(int(row["mu"]))
        if ref is not None and len(ref) == len(mine):
            corrs.append((row["mu"], float(np.corrcoef(mine, ref)[0, 1]), mine.sum(), float(np.sum(ref))))
            ref_changes.append(sign_changes(ref))
    if corrs:
        out.append(Claim(ids[1][0], ids[1][1], "corr >= 0.99 per mu",
                         "; ".join(f"mu {m:g}: corr {c:.4f}, row sum {s:.3f} vs {r:.3f}" for m, c, s, r in corrs),
                         ">= 0.99", bool(min(c for _, c, _, _ in corrs) >= 0.99),
                         "the authors' training sequences were drawn unseeded; ours are another draw"))
    else:
        out.append(Claim(ids[1][0], ids[1][1], "corr >= 0.99", "no reference for this T / mu", "", None))
    out.append(Claim(ids[2][0], ids[2][1], "as in the authors' rows: " + ", ".join(map(str, ref_changes)) if ref_changes
                     else "non-increasing in mu", ", ".join(map(str, changes)), "equal" if ref_changes else "",
                     bool(changes == ref_changes) if ref_changes else bool(all(a >= b for a, b in zip(changes, changes[1:])))))
    return out


def pe_figures(df: pd.DataFrame, resolved: Resolved) -> dict:
    fin = final_rows(df).sort_values("mu")
    n = len(fin)
    T = int(fin["T"].iloc[0])
    with paper_style():
        fig, axes = subplots(2, n + 1, figsize=(3.4 * (n + 1), 6.5), constrained_layout=True, squeeze=False)
        for j, (_, row) in enumerate(fin.iterrows()):
            P = np.asarray(row["P"], float).reshape(T, T)[:-1, :-1]
            axes[0, j].imshow(P, cmap="viridis")
            axes[0, j].set_title(f"P (masked), mu = {row['mu']:g}")
            axes[0, j].axis("off")
            ax = axes[1, j]
            mine = np.asarray(row["last_row"], float)
            ax.plot(mine, "C0-", lw=2, label="trained")
            ref = AUTHORS_LAST_ROW.get(int(row["mu"]))
            if ref is not None and len(ref) == len(mine):
                ax.plot(ref, "k--", lw=1, label="authors' saved row")
            ax.axhline(0, color="gray", lw=0.5)
            ax.set_xlabel("t")
            ax.set_title(f"last row P[T-2, :T-1], mu = {row['mu']:g}")
            ax.legend()
        ax = axes[0, n]
        for mu, g in df.groupby("mu"):
            g = g.sort_values("step")
            ax.semilogy(g["step"], g["loss"], label=f"mu = {mu:g}")
        ax.axhline(resolved.base.stop_loss, color="k", ls=":", lw=1)
        ax.set_xlabel("SGD step")
        ax.set_title("training loss")
        ax.legend()
        axes[1, n].axis("off")
        fig.suptitle(f"ar-icl/pe-only ({resolved.preset}): positional encodings alone, T = {T}")
    return {"pe_only": fig}


PE_ONLY = Experiment(
    name="ar-icl/pe-only",
    summary="Fig. 6: SGD on the positional matrix alone reaches zero loss with trigonometric profiles",
    config=PEConfig, problem=PE_PROBLEM,
    presets={"smoke": PE_SMOKE, "cpu": PE_CPU, "paper": PE_PAPER},
    claims=pe_claims, figures=pe_figures,
)


# =======================================================================================
# ar-icl/augmented (Fig. 5, theory variant)


@dataclasses.dataclass(frozen=True)
class AugConfig:
    family: str = param("haar", "W per sequence: Haar-orthogonal or commuting 2x2 rotations", static=True,
                        choices=ar.FAMILIES)
    d: int = param(5, "state dimension (even for rotations)", static=True, lo=1)
    n: int = param(50, "positions: inputs s_0..s_{n-1}, targets s_1..s_n", static=True, lo=2)
    batch: int = param(256, "fresh training sequences per Adam step", static=True, lo=1)
    n_test: int = param(1024, "fixed test sequences", static=True, lo=1)
    steps: int = param(800, "Adam steps", static=True, lo=1)
    log_every: int = param(100, "steps between recorded observables", static=True, lo=1)
    lr: float = param(1e-2, "Adam step size (code: 10^-2)", lo=0.0, lo_open=True)
    init_scale: float = param(0.01, "V, M start at init_scale * N(0, 1) [I]", lo=0.0)
    ridge: float = param(1e-4, "ridge of the least-squares baseline", lo=0.0, lo_open=True)

    def check(self) -> None:
        if self.family == "rotations" and self.d % 2:
            raise ConfigError(f"AugConfig.d = {self.d} must be even for family 'rotations'")


def aug_setup(key, cfg):
    k_init, k_test = jax.random.split(key)
    test = ar.sample(k_test, cfg.n_test, d=cfg.d, n=cfg.n, family=cfg.family)
    return ala.init_aug(k_init, cfg.d, cfg.init_scale), dict(test=test)


def _per_position(pred, target):
    """[n]: 1/2 |pred - target|^2 summed over coordinates, mean over sequences."""
    return 0.5 * jnp.mean(jnp.sum((pred - target) ** 2, -1), 0)


def aug_loss(params, data, cfg, key):
    del data
    s = ar.sample(key, cfg.batch, d=cfg.d, n=cfg.n, family=cfg.family)
    return jnp.mean(_per_position(ala.apply_aug(params, s[:, :-1]), s[:, 1:]))


def gd_block_fraction(params: ala.AugParams, d: int) -> jax.Array:
    """|V_1| |M_21| / sum_{a, b, c} |V_a| |M_bc| (Frobenius norms of the d x d blocks; V_1 reads
    s_t, M_21 scores key s_{t-1} against query s_tau): the share of the one-GD-step block."""
    v = jnp.stack([jnp.linalg.norm(params.v[:, a * d:(a + 1) * d]) for a in range(2)])
    m = jnp.stack([jnp.linalg.norm(params.m[b * d:(b + 1) * d, c * d:(c + 1) * d]) for b in range(2) for c in range(2)])
    return v[0] * m[2] / (jnp.sum(v) * jnp.sum(m))


def aug_observe(params, data, cfg):
    s = data["test"]
    x, y = s[:, :-1], s[:, 1:]
    g = ala.one_step_gd(x)
    eta = theory.one_step_gd_best_eta(g, y)
    return dict(
        test_loss=jnp.mean(_per_position(ala.apply_aug(params, x), y)),
        loss_by_pos=_per_position(ala.apply_aug(params, x), y),
        gd_loss_by_pos=_per_position(eta * g, y),
        ls_loss_by_pos=_per_position(ala.least_squares(x, cfg.ridge), y),
        gd_eta=eta,
        gd_block=gd_block_fraction(params, cfg.d),
        V=params.v,
        M=params.m,
    )


AUG_PROBLEM = Problem(setup=aug_setup, loss=aug_loss, observe=aug_observe, optimizer=lambda cfg: optax.adam(cfg.lr))

AUG_CELLS = (dict(label="haar", family="haar", d=5), dict(label="rotations", family="rotations", d=4))
AUG_CPU = Preset(base=dict(n=50, batch=256, n_test=1024, steps=800, log_every=100, lr=1e-2), cells=AUG_CELLS, seeds=2,
                 note="theory variant V S M e, d = 5 (Haar) / 4 (rotations), n = 50, 800 Adam steps, fresh batches of 256")
AUG_PAPER = Preset(base=dict(n=50, batch=1024, n_test=1024, steps=3200, log_every=200, lr=1e-2), cells=AUG_CELLS,
                   seeds=3, note="the code's step count (200 epochs of 2^14 sequences, batch 1024), fresh sequences")
AUG_SMOKE = Preset(base=dict(n=20, batch=64, n_test=128, steps=100, log_every=50, lr=1e-2),
                   cells=(dict(label="haar", family="haar", d=3), dict(label="rotations", family="rotations", d=4)),
                   seeds=2, note="seconds", untested={"*": "100 steps at n = 20: not converged"})


def _curves(fin, col):
    return np.mean(stack(fin, col), axis=0)


def aug_claims(df: pd.DataFrame, resolved: Resolved) -> list[Claim]:
    ids = [("commuting-one-gd-step", "commuting W: the trained model is one GD step (loss within 10% at tau >= 10)"),
           ("commuting-gd-block", "commuting W: the GD block of (V, M) dominates (>= 60%)"),
           ("haar-beats-gd", "Haar W: trained loss <= one GD step with the best eta; GD block >= 70%"),
           ("haar-above-ls", "Haar W: trained loss stays well above least squares (~0 for tau >= d)")]
    missing = _missing(df, resolved, ids)
    if missing:
        return missing
    fin = final_rows(df)
    out = []
    rot = fin[fin["family"] == "rotations"]
    if len(rot):
        tr, gd = _curves(rot, "loss_by_pos"), _curves(rot, "gd_loss_by_pos")
        ratio = float(tr[10:].mean() / gd[10:].mean())
        out.append(Claim.in_range(ids[0][0], ids[0][1], ratio, 0.9, 1.1,
                                  predicted="trained / one-step GD (best eta) in [0.9, 1.1]",
                                  note=f"mean over tau >= 10; best eta {rot['gd_eta'].mean():.3f} (d = "
                                       f"{int(rot['d'].iloc[0])}; theory: eta -> d as tau grows)"))
        block = float(rot["gd_block"].min())
        out.append(Claim(
            ids[1][0], ids[1][1], ">= 0.6", f"{block:.4g}", "[0.6, 1]", True if block >= 0.6 else None,
            ("" if block >= 0.6 else "DOES NOT REPRODUCE, record only. ")
            + f"min over seeds ({', '.join(f'{v:.2g}' for v in rot['gd_block'])}) of |V_1||M_21| / sum of block-norm "
                 "products. Measured: at the loss of one GD step the trained weights use other blocks (e.g. value "
                 "s_{t-1} with a per-plane 2x2 map and key s_t against query s_tau with a reflection): with commuting "
                 "rotations and the fixed s_0 = 1/sqrt(d), per-plane rotations and reflections give other weights that "
                 "reach the loss of one GD step, so the weights need not sit in the GD block; the spec's prototype checked "
                 "the loss, not the blocks, for this family; the tolerance is unchanged"))
    haar = fin[fin["family"] == "haar"]
    if len(haar):
        tr, gd, ls = (_curves(haar, c) for c in ("loss_by_pos", "gd_loss_by_pos", "ls_loss_by_pos"))
        d = int(haar["d"].iloc[0])
        ok = tr.mean() <= gd.mean() and haar["gd_block"].min() >= 0.7
        out.append(Claim(ids[2][0], ids[2][1], "trained <= GD; GD block >= 0.7",
                         f"trained {tr.mean():.4f} vs GD {gd.mean():.4f} (eta {haar['gd_eta'].mean():.3f}); GD block "
                         f"{', '.join(f'{v:.2f}' for v in haar['gd_block'])}", "as predicted", bool(ok),
                         "the spec's prototype: 0.1248 vs 0.149, GD block 87%"))
        ratio = float(tr[d:].mean() / max(ls[d:].mean(), 1e-12))
        out.append(Claim(ids[3][0], ids[3][1], "trained / LS >= 10 for tau >= d",
                         f"trained {tr[d:].mean():.4f} vs LS {ls[d:].mean():.2g} (ratio {ratio:.3g})", ">= 10",
                         bool(ratio >= 10)))
    return out


def aug_figures(df: pd.DataFrame, resolved: Resolved) -> dict:
    fin = final_rows(df)
    fams = [f for f in ("haar", "rotations") if f in set(fin["family"])]
    with paper_style():
        fig, axes = subplots(len(fams), 3, figsize=(15, 4.2 * len(fams)), constrained_layout=True, squeeze=False)
        for i, fam in enumerate(fams):
            sub = fin[fin["family"] == fam]
            d = int(sub["d"].iloc[0])
            ax = axes[i, 0]
            tau = np.arange(1, int(sub["n"].iloc[0]) + 1)
            for col, lab, sty in (("loss_by_pos", "trained", "C0-"),
                                  ("gd_loss_by_pos", f"one GD step (best eta = {sub['gd_eta'].mean():.2f})", "r--"),
                                  ("ls_loss_by_pos", "least squares", "k:")):
                ax.semilogy(tau, np.maximum(_curves(sub, col), 1e-8), sty, label=lab)
            ax.axhline(0.5, color="gray", lw=0.5, label="zero predictor")
            ax.set_xlabel("position tau (context length)")
            ax.set_ylabel("test loss 1/2 |yhat - s_{tau+1}|^2")
            ax.set_title(f"{fam} W (d = {d})")
            ax.legend()
            row = sub.iloc[0]
            V = np.asarray(row["V"], float).reshape(d, 2 * d)
            M = np.asarray(row["M"], float).reshape(2 * d, 2 * d)
            for ax, mat, title in ((axes[i, 1], V, "V (columns: s_t | s_{t-1}); GD: [I 0]"),
                                   (axes[i, 2], M, f"M (rows key, columns query); GD: M_21 = eta I; "
                                                   f"GD block {row['gd_block']:.2f}")):
                lim = np.abs(mat).max()
                im = ax.imshow(mat, cmap="RdBu_r", vmin=-lim, vmax=lim)
                ax.axvline(d - 0.5, color="k", lw=0.5)
                if mat.shape[0] == 2 * d:
                    ax.axhline(d - 0.5, color="k", lw=0.5)
                fig.colorbar(im, ax=ax, fraction=0.046)
                ax.set_title(title, fontsize=8)
        fig.suptitle(f"ar-icl/augmented ({resolved.preset}): trained augmented linear attention against one "
                     "in-context GD step")
    return {"augmented": fig}


AUGMENTED = Experiment(
    name="ar-icl/augmented",
    summary="Fig. 5 (theory variant): augmented linear attention against one GD step and least squares",
    config=AugConfig, problem=AUG_PROBLEM,
    presets={"smoke": AUG_SMOKE, "cpu": AUG_CPU, "paper": AUG_PAPER},
    claims=aug_claims, figures=aug_figures,
)

EXPERIMENTS = (CLOSED_FORM, PE_ONLY, AUGMENTED)
