"""On the Comparison between Multi-modal and Single-modal Contrastive Learning (Huang, Han, Chen,
Cao, Xu, Suzuki; NeurIPS 2024; arXiv:2411.02837).

Two-patch signal-noise data x = [y mu, xi] (modality 1, |mu| = 5, xi ~ N(0, I_d)) and
x~ = [y mu~, xi~] (modality 2, the same labels, |mu~| = C_mu |mu| = 15). One-layer ReLU
encoders (width m = 50, shared over patches, ``models/relu_encoder.py``) are trained by
full-batch GD on InfoNCE (``models/infonce.py``; patch-wise similarities with stop-gradient on
the second argument, negatives = the opposite-label samples):

  single-modal  one encoder h; the positive of x_i is an augmentation [y mu, xi + eps]
                (eps ~ N(0, 0.01 I), drawn once); the noise is memorised, the signal barely
                learned: out-of-distribution downstream accuracy ~0.5 (Theorem 4.2);
  multi-modal   encoders h and g, the positive of x_i is x~_i (both directions); the strong
                signal of modality 2 drives signal learning in h: accuracy ~1 (Theorem 4.3).

Downstream (Sec. 6; partly ambiguous, ours: "transfer"): a logistic-regression head fitted on
the training embeddings h(x_i) with labels y_i (no intercept, one global feature scale,
L2 = 1e-3), applied to OOD test data [y nu, zeta], |nu| = 2, zeta ~ N(0, I). Also logged:
"transfer_std" (per-feature standardisation + intercept) and "probe" (fitted on 200 OOD
samples, tested on 1000 fresh ones). tau = 0.1 and sigma0 = 0.001 are not given by the paper
(our calibration).

Experiment:
  contrastive/multimodal  loss, OOD accuracy, signal learning and noise memorisation against t,
                          single vs multi; the switch-on of the multi-modal accuracy in C_mu
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from theorylab.analysis import absent_cells, trajectories
from theorylab.data import signal_noise
from theorylab.experiment import Claim, ConfigError, Experiment, Preset, Problem, Resolved, param
from theorylab.models import linear_probe, relu_encoder
from theorylab.models.infonce import info_nce, similarity
from theorylab.plots.style import paper_style, subplots
from theorylab.plots.trajectories import band
from theorylab.theory import contrastive as theory


@dataclasses.dataclass(frozen=True)
class Config:
    d: int = param(2000, "patch dimension (x = [y mu, xi] in R^{2 x d})", static=True, lo=2)
    n: int = param(100, "training pairs (balanced labels)", static=True, lo=2)
    m: int = param(50, "encoder width = embedding dimension", static=True, lo=1)
    n_test: int = param(200, "OOD test samples [y nu, zeta]", static=True, lo=1)
    n_probe: int = param(200, "OOD samples the 'probe' head is fitted on (tested on 5 n_probe fresh ones)",
                         static=True, lo=2)
    multi: bool = param(False, "multi-modal (two encoders, positives across modalities) or single-modal", static=True)
    steps: int = param(200, "GD step budget (the paper: 200 epochs of full-batch GD)", static=True, lo=1)
    log_every: int = param(10, "steps between recorded observables (divides steps)", static=True, lo=1)
    mu_norm: float = param(5.0, "modality-1 signal norm |mu|", lo=0.0, lo_open=True)
    c_mu: float = param(3.0, "C_mu = |mu~| / |mu| (modality-2 signal norm over modality 1's)", lo=0.0, lo_open=True)
    sigma_xi: float = param(1.0, "modality-1 noise std (modality 2: 1)", lo=0.0, lo_open=True)
    sigma_eps: float = param(0.1, "std of the single-modal augmentation eps added to the noise patch", lo=0.0)
    nu_norm: float = param(2.0, "OOD test signal norm |nu|", lo=0.0, lo_open=True)
    tau: float = param(0.1, "InfoNCE temperature (not given by the paper; ours)", lo=0.0, lo_open=True)
    sigma0: float = param(0.001, "init std of the encoders (not given by the paper; ours)", lo=0.0, lo_open=True)
    lr: float = param(0.01, "GD step size", lo=0.0, lo_open=True)
    l2: float = param(1e-3, "L2 penalty of the downstream logistic heads", lo=0.0, lo_open=True)

    def check(self) -> None:
        if self.n % 2:
            raise ConfigError(f"Config.n = {self.n} must be even (balanced labels; negatives = opposite label)")


def _patches(key, n, d, mu_norm, sigma, to_e2=False):
    """[n, 2, d] samples [y mu, xi] (balanced y: +1, -1, ...), mu on e_1 (e_2 with to_e2), xi isotropic."""
    s = signal_noise.sample(key, n, d=d, mu_norm=mu_norm, noise_scales=jnp.array([sigma]), signal="antipodal",
                            orthogonal_noise=False, signal_position="first", labels="alternating")
    return (jnp.roll(s.x, 1, axis=-1) if to_e2 else s.x), s.y


def setup(key, cfg):
    """params {"h": [m, d]} (+ {"g": [m, d]} multi-modal); data: x, x_pos (augmentation),
    x2 (modality 2) [n, 2, d], y [n], OOD test / probe sets, w0."""
    k = jax.random.split(key, 8)
    x, y = _patches(k[0], cfg.n, cfg.d, cfg.mu_norm, cfg.sigma_xi)
    x_pos = x.at[:, 1].add(cfg.sigma_eps * jax.random.normal(k[1], (cfg.n, cfg.d)))
    x2, _ = _patches(k[2], cfg.n, cfg.d, cfg.c_mu * cfg.mu_norm, 1.0, to_e2=True)
    x_test, y_test = _patches(k[3], cfg.n_test, cfg.d, cfg.nu_norm, 1.0)
    x_pr, y_pr = _patches(k[4], cfg.n_probe, cfg.d, cfg.nu_norm, 1.0)
    x_pt, y_pt = _patches(k[5], 5 * cfg.n_probe, cfg.d, cfg.nu_norm, 1.0)
    params = {"h": relu_encoder.init(k[6], cfg.m, cfg.d, cfg.sigma0)}
    if cfg.multi:
        params["g"] = relu_encoder.init(k[7], cfg.m, cfg.d, cfg.sigma0)
    return params, dict(x=x, x_pos=x_pos, x2=x2, y=y, x_test=x_test, y_test=y_test, x_probe=x_pr, y_probe=y_pr,
                        x_probe_test=x_pt, y_probe_test=y_pt, w0=params)


def _diag_sim(a, b):
    """[n]: Sim(x_i, x'_i) = (1/m) sum_{r,p} a[i] * sg(b[i])."""
    return jnp.einsum("imp,imp->i", a, jax.lax.stop_gradient(b)) / a.shape[1]


def loss(params, data, cfg, key):
    del key  # full-batch GD on fixed pairs
    neg = data["y"][:, None] != data["y"][None, :]  # Neg(i) = {j : y_j != y_i}
    a = relu_encoder.activations(params["h"], data["x"])
    if not cfg.multi:
        a_pos = relu_encoder.activations(params["h"], data["x_pos"])
        return info_nce(_diag_sim(a, a_pos), similarity(a, a), neg, cfg.tau)
    b = relu_encoder.activations(params["g"], data["x2"])
    return (info_nce(_diag_sim(a, b), similarity(a, b), neg, cfg.tau)
            + info_nce(_diag_sim(b, a), similarity(b, a), neg, cfg.tau))


def _learning(dw, signal_axis, noise):
    """(signal learning max_r |<dw_r, e>|, raw noise memorisation mean_i max_r |<dw_r, xi_i>|,
    normalised mean_i max_r |<dw_r, xi_i>| / |xi_i|) for dw [m, d], noise xi [n, d]."""
    sig = jnp.max(jnp.abs(dw[:, signal_axis]))
    proj = jnp.abs(noise @ dw.T)  # [n, m]
    raw = proj.max(axis=1)
    return sig, raw.mean(), jnp.mean(raw / jnp.linalg.norm(noise, axis=1))


def _heads(params, data, cfg):
    """OOD accuracies of the three downstream heads."""
    F = relu_encoder.embed(params["h"], data["x"])  # [n, m]
    scale = jnp.sqrt(jnp.mean(jnp.sum(F * F, axis=1))) + 1e-30
    Ft = relu_encoder.embed(params["h"], data["x_test"])
    beta = linear_probe.fit_logistic(F / scale, data["y"], cfg.l2)
    transfer = linear_probe.accuracy(Ft / scale, data["y_test"], beta)
    mean, sd = F.mean(axis=0), F.std(axis=0) + 1e-6 * scale / math.sqrt(cfg.m)
    Fs = linear_probe.with_intercept((F - mean) / sd)
    beta_s = linear_probe.fit_logistic(Fs, data["y"], cfg.l2)
    transfer_std = linear_probe.accuracy(linear_probe.with_intercept((Ft - mean) / sd), data["y_test"], beta_s)
    P = relu_encoder.embed(params["h"], data["x_probe"])
    ps = jnp.sqrt(jnp.mean(jnp.sum(P * P, axis=1))) + 1e-30
    beta_p = linear_probe.fit_logistic(P / ps, data["y_probe"], cfg.l2)
    probe = linear_probe.accuracy(relu_encoder.embed(params["h"], data["x_probe_test"]) / ps, data["y_probe_test"], beta_p)
    return transfer, transfer_std, probe


def observe(params, data, cfg):
    dw = params["h"] - data["w0"]["h"]
    sig, rho_raw, rho = _learning(dw, 0, data["x"][:, 1])
    transfer, transfer_std, probe = _heads(params, data, cfg)
    out = dict(train_loss=loss(params, data, cfg, None), transfer_acc=transfer, transfer_std_acc=transfer_std,
               probe_acc=probe, signal=sig, noise=rho, gamma_raw=sig * cfg.mu_norm, rho_raw=rho_raw)
    if cfg.multi:
        sig2, rho2_raw, rho2 = _learning(params["g"] - data["w0"]["g"], 1, data["x2"][:, 1])
        out.update(signal2=sig2, noise2=rho2)
    else:
        out.update(signal2=jnp.zeros(()), noise2=jnp.zeros(()))
    return out


PROBLEM = Problem(setup=setup, loss=loss, observe=observe)


# ---------------------------------------------------------------------------------------
# claims


def _final(df, cell, col):
    return float(trajectories(df, col, cell=cell)[1][:, -1].mean())


S_C1 = "both losses fall to ~0 by the end; at init the loss is log(1 + M) per direction"
S_C2 = "out-of-distribution accuracy (transfer head): multi-modal ~1, single-modal ~0.5"
S_C3 = "signal learning: multi-modal >> single-modal"
S_C4 = "noise memorisation: single-modal >> multi-modal"
S_C5 = "the loss collapses before the stage-1 times T1 of Lemmas 5.2 / 5.4"
S_C6 = "the multi-modal accuracy switches on with C_mu = |mu~| / |mu| (the theory needs C_mu >= 2.66)"


def claims(df: pd.DataFrame, resolved: Resolved) -> list[Claim]:
    cells = dict(resolved.cells)
    lost = set(absent_cells(df, list(cells)))
    out = []
    if {"single", "multi"} - set(cells) or {"single", "multi"} & lost:
        why = "the cells 'single' and 'multi' are needed"
        return [Claim.missing(c, s, why) for c, s in (("C1-loss", S_C1), ("C2-ood-accuracy", S_C2),
                                                      ("C3-signal", S_C3), ("C4-noise", S_C4), ("C5-t1", S_C5))]
    b_s, b_m = cells["single"], cells["multi"]
    M = b_s.n // 2
    init = {c: float(trajectories(df, "train_loss", cell=c)[1][:, 0].mean()) for c in ("single", "multi")}
    fin = {c: _final(df, c, "train_loss") for c in ("single", "multi")}
    pred = {"single": theory.initial_loss(M, 1), "multi": theory.initial_loss(M, 2)}
    ok1 = all(fin[c] <= 0.05 and abs(init[c] - pred[c]) <= 0.05 * pred[c] for c in fin)
    out.append(Claim("C1-loss", S_C1, f"final <= 0.05; initial {pred['single']:.3f} (single), {pred['multi']:.3f} (multi) +- 5 %",
                     f"single {init['single']:.3f} -> {fin['single']:.4f}; multi {init['multi']:.3f} -> {fin['multi']:.4f}",
                     "as stated, seed means", bool(ok1), f"M = {M} negatives (every opposite-label sample)"))
    acc = {c: _final(df, c, "transfer_acc") for c in ("single", "multi")}
    ok2 = acc["multi"] >= 0.9 and acc["single"] <= 0.65 and acc["multi"] - acc["single"] >= 0.3
    other = {c: (_final(df, c, "transfer_std_acc"), _final(df, c, "probe_acc")) for c in ("single", "multi")}
    larger = [(cfg.mu_norm, c) for c, cfg in cells.items() if not cfg.multi and c != "single" and c not in lost]
    finding = "; ".join(f"single-modal |mu|={mu:g}: transfer {_final(df, c, 'transfer_acc'):.2f}, probe "
                        f"{_final(df, c, 'probe_acc'):.2f}, signal {_final(df, c, 'signal'):.3g}, noise {_final(df, c, 'noise'):.3g}"
                        for mu, c in sorted(larger))
    out.append(Claim("C2-ood-accuracy", S_C2, "multi >= 0.9, single <= 0.65, gap >= 0.3 (paper: ~1.0 vs ~0.5)",
                     f"multi {acc['multi']:.3f}, single {acc['single']:.3f}", "as stated, seed means", bool(ok2),
                     f"other heads (single / multi): transfer+intercept+std {other['single'][0]:.2f} / {other['multi'][0]:.2f}; "
                     f"probe {other['single'][1]:.2f} / {other['multi'][1]:.2f}" + (f". Finding: {finding}" if finding else "")))
    sig = {c: _final(df, c, "signal") for c in ("single", "multi")}
    r3 = sig["multi"] / max(sig["single"], 1e-12)
    out.append(Claim("C3-signal", S_C3, "multi / single >= 4", f"{sig['multi']:.3g} / {sig['single']:.3g} = {r3:.2f}",
                     ">= 4", bool(r3 >= 4), "signal learning max_r |<w_r(t) - w_r(0), mu>| / |mu|"))
    noi = {c: _final(df, c, "noise") for c in ("single", "multi")}
    r4 = noi["single"] / max(noi["multi"], 1e-12)
    out.append(Claim("C4-noise", S_C4, "single / multi >= 2", f"{noi['single']:.3g} / {noi['multi']:.3g} = {r4:.2f}",
                     ">= 2", bool(r4 >= 2), "noise memorisation mean_i max_r |<w_r(t) - w_r(0), xi_i>| / |xi_i|"))
    t_half, t1 = {}, {}
    for c, cfg in (("single", b_s), ("multi", b_m)):
        steps, v = trajectories(df, "train_loss", cell=c)
        v = v.mean(axis=0)
        below = np.flatnonzero(v < 0.5 * v[0])
        t_half[c] = float(steps[below[0]]) if len(below) else math.inf
        t1[c] = (theory.t1_multi(cfg.sigma0, cfg.mu_norm, cfg.c_mu, cfg.lr, cfg.m, cfg.tau) if cfg.multi else
                 theory.t1_single(cfg.sigma0, cfg.sigma_xi, cfg.d, cfg.lr, cfg.n, cfg.m, cfg.tau))
    out.append(Claim("C5-t1", S_C5, f"t(loss < half its initial value) <= T1 = {t1['single']:.0f} (single), {t1['multi']:.0f} (multi)",
                     f"single {t_half['single']:.0f}, multi {t_half['multi']:.0f}", "first log point",
                     bool(all(t_half[c] <= t1[c] for c in t1))))
    sweep = sorted((cfg.c_mu, c) for c, cfg in cells.items() if cfg.multi and c not in lost
                   and cfg.mu_norm == b_m.mu_norm)
    if len(sweep) >= 3:
        accs = [(cm, _final(df, c, "transfer_std_acc")) for cm, c in sweep]
        low = [a for cm, a in accs if cm <= 1]
        high = [a for cm, a in accs if cm >= 3]
        ok6 = bool(low and high and max(low) <= 0.6 and min(high) >= 0.85)
        out.append(Claim("C6-c-mu-switch", S_C6, "accuracy <= 0.6 at C_mu <= 1 and >= 0.85 at C_mu >= 3",
                         ", ".join(f"C_mu={cm:g}: {a:.2f}" for cm, a in accs), "transfer + intercept + std head, seed means",
                         ok6, "the spec calibrates this claim with the standardised head"))
    return out


# ---------------------------------------------------------------------------------------
# figures


def figures(df: pd.DataFrame, resolved: Resolved) -> dict:
    cells = dict(resolved.cells)
    have = set(df["cell"])
    figs = {}
    with paper_style():
        main = [c for c in ("single", "multi") if c in have]
        if main:
            fig, axes = subplots(1, 4, figsize=(19, 3.9), constrained_layout=True)
            panels = (("train_loss", "training loss"), ("transfer_acc", "OOD test accuracy (transfer head)"),
                      ("signal", r"signal learning $\max_r|\langle\Delta w_r,\mu\rangle|/\|\mu\|$"),
                      ("noise", r"noise memorisation mean$_i\max_r|\langle\Delta w_r,\xi_i\rangle|/\|\xi_i\|$"))
            for j, c in enumerate(main):
                cfg = cells[c]
                for ax, (col, title) in zip(axes, panels):
                    steps, v = trajectories(df, col, cell=c)
                    band(ax, steps, v, label=f"{c}-modal", color=f"C{j}", k=1.0)
                    ax.set_title(title)
                t1 = (theory.t1_multi(cfg.sigma0, cfg.mu_norm, cfg.c_mu, cfg.lr, cfg.m, cfg.tau) if cfg.multi else
                      theory.t1_single(cfg.sigma0, cfg.sigma_xi, cfg.d, cfg.lr, cfg.n, cfg.m, cfg.tau))
                axes[0].axvline(t1, color=f"C{j}", ls=":", lw=1, label=f"T1 ({c}, Lemma {'5.4' if cfg.multi else '5.2'})")
                axes[0].axhline(theory.initial_loss(cfg.n // 2, 2 if cfg.multi else 1), color=f"C{j}", ls="--", lw=0.8,
                                label=f"log(1+M) x {2 if cfg.multi else 1}")
            axes[1].set_ylim(0.4, 1.02)
            axes[1].axhline(0.5, color="grey", lw=0.8)
            for ax in axes:
                ax.set_xlabel("GD step (epoch)")
                ax.legend(fontsize=7)
            b = cells[main[0]]
            fig.suptitle(f"contrastive/multimodal ({resolved.preset}), Fig. 1: d={b.d}, n={b.n}, m={b.m}, |mu|={b.mu_norm:g}, "
                         f"C_mu={b.c_mu:g}, tau={b.tau:g}, sigma0={b.sigma0:g}, eta={b.lr:g}; mean +- 1 sd over seeds")
            figs["dynamics"] = fig
        sweep = sorted((cfg.c_mu, c) for c, cfg in cells.items() if cfg.multi and c in have
                       and "single" in cells and cfg.mu_norm == cells.get("multi", cfg).mu_norm)
        if len(sweep) >= 3:
            fig, ax = subplots(1, 1, figsize=(5.5, 3.8), constrained_layout=True)
            for col, lab in (("transfer_std_acc", "transfer + intercept + std"), ("transfer_acc", "transfer"),
                             ("probe_acc", "probe")):
                cm = [s[0] for s in sweep]
                vals = [trajectories(df, col, cell=c)[1][:, -1] for _, c in sweep]
                ax.errorbar(cm, [v.mean() for v in vals], yerr=[v.std() for v in vals], marker="o", capsize=3, label=lab)
            ax.axvline(2.66, color="k", ls="--", lw=1, label="theory: C_mu >= 2.66 (Assumption 4.1)")
            ax.set_xlabel(r"$C_\mu=\|\tilde\mu\|/\|\mu\|$")
            ax.set_ylabel("multi-modal OOD accuracy")
            ax.set_ylim(0.4, 1.02)
            ax.legend(fontsize=7)
            ax.set_title("switch-on in C_mu (multi-modal)")
            figs["c_mu"] = fig
    return figs


# ---------------------------------------------------------------------------------------
# presets

def _cells(c_mus, single_mus):
    cells = [dict(label="single", multi=False), dict(label="multi", multi=True)]
    cells += [dict(label=f"multi C_mu={c:g}", multi=True, c_mu=float(c)) for c in c_mus]
    cells += [dict(label=f"single |mu|={mu:g}", multi=False, mu_norm=float(mu)) for mu in single_mus]
    return tuple(cells)


CPU = Preset(base=dict(), cells=_cells((0.5, 1.0, 2.0, 4.0), (10.0, 20.0)), seeds=3,
             note="the paper's sizes (d = 2000, n = 100, m = 50, 200 steps), 3 seeds; tau = 0.1, sigma0 = 0.001 ours")
PAPER = Preset(base=dict(), cells=_cells((0.5, 1.0, 2.0, 4.0), (10.0, 20.0)), seeds=10,
               note="the paper's sizes, 10 seeds")
SMOKE = Preset(base=dict(d=500, n=50, m=20, steps=100, log_every=10, mu_norm=3.54, c_mu=15 / 3.54),
               cells=(dict(label="single", multi=False), dict(label="multi", multi=True)), seeds=2,
               note="seconds; n SNR^2 = 1.25 as in the paper, |mu~| = 15",
               untested={"*": "d = 500, 100 steps: plumbing only"})

MULTIMODAL = Experiment(
    name="contrastive/multimodal",
    summary="InfoNCE on signal-noise pairs: multi-modal learns the signal (OOD acc ~1), single-modal memorises noise (~0.5)",
    config=Config,
    problem=PROBLEM,
    presets={"smoke": SMOKE, "cpu": CPU, "paper": PAPER},
    claims=claims,
    figures=figures,
)

EXPERIMENTS = (MULTIMODAL,)
