"""Hessian-guided perturbed Wasserstein gradient flows for escaping saddle points (Yamamoto, Kim
& Suzuki, NeurIPS 2025, arXiv:2509.16974), on the fully specified particle testbed of its
follow-up (Kawata, Nitanda & Suzuki, "Finite-sample approximation of Hessian-guided perturbed
Wasserstein gradient flows", App. C).

Particles W in R^{32 x 2}, A = E_mu tanh(W), F(mu) = 1/4 ||A A^T - M*||_F^2 (minimum 0). The
symmetric (+Z, -Z) initial law puts the flow exactly on a saddle (A = 0, F = 0.3125): plain
WGF never moves, PWGF escapes. Perturbations compared: Hessian-guided (the paper's), isotropic
per particle and one common isotropic shift (which of the two the paper's "isotropic" baseline
is, is not known: both are run). The controller (optim/pwgf.py) jumps when the L2 gradient
norm is below eps_g, waits T_wait and stops if the objective fell by less than F_thr.

Experiment:
  pwgf/saddle-escape  F(t) per perturbation and N; escape time (first t with F < 0.05) against
                      N with the linearised escape-time formula; returned objectives

Settings (follow-up App. C): eta_p = 0.2, eps_g = 0.01, T_wait = 10, F_thr = 1e-3, RK4 step
0.05, inspection every 0.1, time cap 100, 3 trials, N in {2048, ..., 32768}; reported: every
run stops before the cap, returned objectives 1.12e-4 - 1.41e-4. The cpu preset integrates by
Euler (step 0.05) at N in {256, 1024, 4096}.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from theorylab.analysis import absent_cells, trajectories
from theorylab.experiment import Claim, ConfigError, Experiment, Preset, Problem, Resolved, param
from theorylab.models import mean_field
from theorylab.optim import pwgf
from theorylab.plots.style import paper_style, subplots
from theorylab.theory import pwgf_saddle as theory

MODES = pwgf.KINDS  # static, hessian, isotropic, isotropic-common


@dataclasses.dataclass(frozen=True)
class Config:
    # shapes and switches (static)
    N: int = param(1024, "particles per system", static=True, lo=2)
    mode: str = param("hessian", "perturbation: static (plain WGF), hessian, isotropic (independent "
                      "N(0, I) per particle), isotropic-common (one N(0, I) shift for all)", static=True,
                      choices=MODES)
    init: str = param("symmetric", "initial law: symmetric (+Z, -Z pairs: A_0 = 0, the saddle) or "
                      "gaussian (i.i.d. N(0, 1) entries)", static=True, choices=("symmetric", "gaussian"))
    integrator: str = param("euler", "time stepping of the flow: euler or rk4", static=True, choices=("euler", "rk4"))
    dt: float = param(0.05, "time step of the flow", static=True, lo=0.0, lo_open=True)
    t_wait: float = param(10.0, "T_wait: waiting time after a jump (a multiple of dt)", static=True, lo=0.0)
    t_insp: float = param(0.1, "Delta_insp: time between controller inspections (a multiple of dt)",
                          static=True, lo=0.0, lo_open=True)
    steps: int = param(2000, "step budget = time cap / dt", static=True, lo=1)
    log_every: int = param(4, "steps between recorded observables (divides steps)", static=True, lo=1)
    # values (dynamic)
    eta_p: float = param(0.2, "jump size eta_p", lo=0.0)
    eps_g: float = param(0.01, "jump when the L2(mu) gradient norm is <= eps_g", lo=0.0)
    f_thr: float = param(1e-3, "stop when a jump's wait lowered F by <= f_thr", lo=0.0)

    def check(self) -> None:
        if self.init == "symmetric" and self.N % 2:
            raise ConfigError(f"Config.N = {self.N} must be even for init = symmetric (+Z, -Z pairs)")
        for name in ("t_wait", "t_insp"):
            k = getattr(self, name) / self.dt
            if abs(k - round(k)) > 1e-6:
                raise ConfigError(f"Config.{name} = {getattr(self, name)} must be a multiple of dt = {self.dt}")

    def time_cap(self) -> float:
        return self.steps * self.dt


# ---------------------------------------------------------------------------------------
# Problem

P = theory.P_ROWS * theory.P_COLS  # 64 coordinates per particle


def phi(w):
    """[64]: tanh of one particle (a 32 x 2 matrix, flattened)."""
    return jnp.tanh(w)


def outer(a):
    """Scalar G(A) = 1/4 ||A A^T - M*||_F^2 for A = a.reshape(32, 2)."""
    A = a.reshape(theory.P_ROWS, theory.P_COLS)
    return 0.25 * jnp.sum((A @ A.T - jnp.asarray(theory.target(), a.dtype)) ** 2)


def objective(x, data=None, cfg=None):
    return mean_field.objective(phi, outer, x)


def velocity(x):
    """[N, 64]: -(1 - tanh^2 W) * [(A A^T - M*) A] per particle (the closed form)."""
    A = mean_field.mean_features(phi, x).reshape(theory.P_ROWS, theory.P_COLS)
    r = (A @ A.T - jnp.asarray(theory.target(), x.dtype)) @ A
    return -(1 - jnp.tanh(x) ** 2) * r.reshape(1, -1)


def hessian_kick(x, g, data=None, cfg=None):
    return mean_field.hessian_kick(phi, outer, x, g)


def setup(key, cfg):
    if cfg.init == "symmetric":  # pairs (z, -z) next to each other: the pair sum of A is exactly 0
        z = jax.random.normal(key, (cfg.N // 2, P))
        x0 = jnp.stack([z, -z], axis=1).reshape(cfg.N, P)
    else:
        x0 = jax.random.normal(key, (cfg.N, P))
    return pwgf.init(x0), {}


def optimizer(cfg):
    return pwgf.pwgf(cfg.dt, cfg.eta_p, cfg.eps_g, cfg.f_thr, wait_steps=round(cfg.t_wait / cfg.dt),
                     insp_every=round(cfg.t_insp / cfg.dt), controlled=cfg.mode != "static",
                     velocity=velocity if cfg.integrator == "rk4" else None)


def loss(params, data, cfg, key):
    return pwgf.pwgf_loss(objective, cfg.mode, hessian_kick)(params, data, cfg, key)


def observe(params, data, cfg):
    """F, the L2 gradient norm, a1 = |u1^T A|, a2 = |u2^T A|, a2_perp = the part of u2^T A [2]
    orthogonal to u1^T A [2] (only it grows into the minimum: the two rows of A^T must end up
    orthogonal), and the controller (times in flow time)."""
    x, c = params["x"], params["ctrl"]
    A = mean_field.mean_features(phi, x).reshape(theory.P_ROWS, theory.P_COLS)
    u1, u2 = (jnp.asarray(u, x.dtype) for u in theory.directions())
    c1, c2 = u1 @ A, u2 @ A  # [2] each
    a1, a2 = jnp.sqrt(jnp.sum(c1**2)), jnp.sqrt(jnp.sum(c2**2))
    dt = cfg.dt
    return dict(
        F=objective(x),
        grad_norm=mean_field.l2_norm(velocity(x)),
        a1=a1,
        a2=a2,
        a2_perp=jnp.where(a1 > 0, jnp.abs(c1[0] * c2[1] - c1[1] * c2[0]) / jnp.where(a1 > 0, a1, 1.0), a2),
        jumps=c["jumps"],
        stopped=(c["mode"] == pwgf.STOPPED).astype(x.dtype),
        t_first_jump=jnp.where(c["t_first_jump"] < 0, -1.0, c["t_first_jump"] * dt),
        t_stop=jnp.where(c["t_stop"] < 0, -1.0, c["t_stop"] * dt),
    )


PROBLEM = Problem(setup=setup, loss=loss, observe=observe, optimizer=optimizer, stop_below=pwgf.stop_below)


# ---------------------------------------------------------------------------------------
# analysis


def escape_times(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: cell, mode, init, N, seed, t_esc (first logged time with F < 0.05; NaN
    if never), a0_perp (a2_perp right after the first jump, or at t = 0 without one, carried back
    to the jump time at the linear rate sbar / 2), t_pred (the linearised escape time from it),
    the returned objective (final F), stopped, jumps, t_stop."""
    rows = []
    rate = theory.growth_rate_u2()
    for run_id, g in df.sort_values("step").groupby("run_id", sort=False):
        t = g["step"].to_numpy() * g["dt"].iloc[0]
        below = np.nonzero(g["F"].to_numpy() < theory.ESCAPE_F)[0]
        last = g.iloc[-1]
        i0 = 0 if last["mode"] == "static" else 1  # the jump happens at step 0, before log point 1
        a0 = float(g["a2_perp"].iloc[i0]) * np.exp(-rate * t[i0])
        rows.append(dict(cell=last["cell"], mode=last["mode"], init=last["init"], N=int(last["N"]),
                         seed=int(last["seed"]), t_esc=float(t[below[0]]) if len(below) else np.nan,
                         a0_perp=a0, t_pred=float(theory.escape_time(a0)) if a0 > 0 else np.nan,
                         F_final=float(last["F"]), stopped=bool(last["stopped"] > 0.5),
                         jumps=int(last["jumps"]), t_stop=float(last["t_stop"]),
                         reason=last["stop_reason"]))
    return pd.DataFrame(rows)


def typical_a0(mode: str, init: str, n, eta_p: float):
    """The typical |u2^T A| right after the perturbation of (mode, init) at N = n, or None."""
    if mode == "hessian":
        return theory.a0_hessian(eta_p) + 0 * np.asarray(n, float)
    if mode == "isotropic":
        return theory.a0_isotropic(eta_p, n)
    if mode == "static" and init == "gaussian":
        return theory.a0_random_init(n)
    return None


def formula(mode: str, init: str, n, eta_p: float):
    """The linearised escape time ln(0.21 / a0) / (sbar / 2) at the typical a0, or None."""
    a0 = typical_a0(mode, init, n, eta_p)
    return None if a0 is None else theory.escape_time(a0)


def _label(mode: str, init: str) -> str:
    return f"{mode} (random init)" if init == "gaussian" else mode


def _censored(cens: pd.DataFrame, ended) -> str:
    """'; k never escaped (N, seed: final F, ended at t, t_pred)' or ''."""
    if not len(cens):
        return ""
    return f"; {len(cens)} never escaped (" + ", ".join(
        f"N={r.N} seed {r.seed}: F = {r.F_final:.4f} at t = {t:.1f}, t_pred {r.t_pred:.1f}"
        for r, t in zip(cens.itertuples(), ended)) + ")"


def _left_out(sub: pd.DataFrame) -> str:
    """The note of a mean escape time: runs that never reached F < 0.05 are left out of it."""
    n = int(sub["t_esc"].isna().sum())
    return "" if not n else (f"; {n} run(s) never escaped (final F " + ", ".join(
        f"{v:.4f}" for v in sub.loc[sub["t_esc"].isna(), "F_final"]) + ") and are left out of the means, which "
        "understates that mode's escape time")


def claims(df: pd.DataFrame, resolved: Resolved) -> list[Claim]:
    cells = dict(resolved.cells)
    missing = absent_cells(df, cells)
    if missing:
        return [Claim.missing("cells", "every cell of the grid has results", f"no rows for {missing}")]
    e = escape_times(df)
    sym = e[e["init"] == "symmetric"]
    ns = sorted(int(n) for n in sym["N"].unique())
    cap = resolved.base.time_cap()
    eta_p = resolved.base.eta_p
    out = []

    st = df[(df["mode"] == "static") & (df["init"] == "symmetric")]
    if len(st):
        dev = float(st.groupby("run_id")["F"].apply(lambda f: np.max(np.abs(f - f.iloc[0]))).max())
        f0 = float(st["F"].iloc[0])
        out.append(Claim(
            "static-stuck", f"plain WGF from the symmetric law (A_0 = 0) stays on the saddle to t = {cap:g}",
            "max_t |F(t) - F(0)| <= 1e-9, F(0) = 0.3125", f"max deviation {dev:.2g}; F(0) = {f0:.7f}",
            "1e-9 (float32 F(0) within 1e-6)", bool(dev <= 1e-9 and abs(f0 - theory.F_SADDLE) < 1e-6),
            f"{st['run_id'].nunique()} runs, N in {ns}"))

    h = sym[sym["mode"] == "hessian"]
    iso = sym[sym["mode"] == "isotropic"]
    if len(h):
        worst = float(h["t_esc"].max()) if h["t_esc"].notna().all() else np.nan
        out.append(Claim(
            "hessian-escapes", "Hessian-guided PWGF escapes (F < 0.05) by t = 16 in every run",
            "max t_esc <= 16 (spec prototype: 8.1 - 14.6 over 7 runs)",
            f"max t_esc {worst:.3g} over {len(h)} runs; " + ", ".join(
                f"N={n}: " + "/".join(f"{v:.1f}" for v in sorted(g["t_esc"])) for n, g in h.groupby("N")),
            "hard threshold", bool(np.isfinite(worst) and worst <= 16),
            "single runs scatter: the escape is driven by a random projection of the kick (see per-run-formula)"))
        means = h.groupby("N")["t_esc"].mean()
        if len(means) > 1:
            ratio = float(means.iloc[-1] / means.iloc[0])
            out.append(Claim(
                "hessian-N-free", "the mean escape time of Hessian-guided PWGF does not grow with N",
                f"mean t_esc(N={ns[-1]}) / mean t_esc(N={ns[0]}) <= 1.3 (spec prototype 0.89)",
                "mean per N " + ", ".join(f"{n}: {v:.2f}" for n, v in means.items()) + f"; ratio {ratio:.2f}"
                + _left_out(h),
                "1.3", bool(np.isfinite(ratio) and ratio <= 1.3)))
    if len(h) and len(iso):
        mh, mi = h.groupby("N")["t_esc"].mean(), iso.groupby("N")["t_esc"].mean()
        common = [n for n in mh.index if n in mi.index]
        diff = {n: float(mi[n] - mh[n]) for n in common}
        ok = bool(common and all(np.isfinite(d) and d > 0 for d in diff.values()) and diff[common[-1]] >= 4)
        out.append(Claim(
            "hessian-beats-isotropic", "mean escape time: Hessian-guided < independent isotropic at every N, by "
            f">= 4 at the largest N ({common[-1] if common else '?'})",
            "isotropic - Hessian > 0 at every N, >= 4 at the largest (spec prototype +10.5 at N = 4096)",
            ", ".join(f"N={n}: {d:+.2f}" for n, d in diff.items()) + _left_out(iso) + _left_out(h), "as stated", ok))
    if len(iso) and len(ns) > 1:
        mi = iso.groupby("N")["t_esc"].mean()
        slope = float(np.polyfit(np.log(mi.index.to_numpy(float)), mi.to_numpy(), 1)[0])
        pred = 1 / (2 * theory.growth_rate_u2())
        seeds = int(iso.groupby("N").size().min())
        ok = bool(np.isfinite(slope) and mi.iloc[-1] >= mi.iloc[0])
        out.append(Claim(
            "isotropic-grows-with-N", "the independent isotropic perturbation escapes no faster at larger N "
            "(its kick on A shrinks like 1/sqrt(N))",
            f"mean t_esc(N={ns[-1]}) >= mean t_esc(N={ns[0]}); theory slope d t_esc / d ln N = {pred:.2f}",
            f"{mi.iloc[0]:.2f} -> {mi.iloc[-1]:.2f}; fitted slope {slope:.2f}" + _left_out(iso), "ordering of the two ends",
            ok if seeds >= 5 else None,
            f"{seeds} seeds per N" + ("" if seeds >= 5 else ": the spec needs >= 5 seeds to see the trend")))
    for mode, init in (("hessian", "symmetric"), ("isotropic", "symmetric"), ("static", "gaussian")):
        sub = e[(e["mode"] == mode) & (e["init"] == init)]
        if not len(sub):
            continue
        med = sub.groupby("N")["t_esc"].median()
        pred = {n: float(formula(mode, init, n, eta_p)) for n in med.index}
        rel = {n: (med[n] - pred[n]) / pred[n] for n in med.index}
        seeds = int(sub.groupby("N").size().min())
        ok = bool(all(np.isfinite(r) and abs(r) <= 0.5 for r in rel.values()))
        out.append(Claim(
            f"formula[{_label(mode, init)}]", f"median escape time of {_label(mode, init)} within 50% of the "
            "linearised formula t_esc = ln(0.21 / a0) / (sbar / 2)",
            ", ".join(f"N={n}: {pred[n]:.2f}" for n in med.index),
            ", ".join(f"N={n}: {med[n]:.2f} ({100 * rel[n]:+.0f}%)" for n in med.index), "50% relative",
            ok if seeds >= 5 else None, f"{seeds} seeds per N" + ("" if seeds >= 5 else ": the spec asks >= 5 seeds "
                                                                  "(a0 is a random projection)")
            + "; the formula takes the typical size of the whole u2-part of A as a0, but only its part orthogonal "
            "to the u1-part grows into the minimum (a random angle), which delays the escape by ~ ln 2 / (sbar/2) "
            "~ 3 on average: the per-run form with the measured a0_perp is the sharper check"))
    for mode, init in (("hessian", "symmetric"), ("isotropic", "symmetric"), ("static", "gaussian")):
        sub = e[(e["mode"] == mode) & (e["init"] == init)]
        if not len(sub):
            continue
        esc, cens = sub[sub["t_esc"].notna()], sub[sub["t_esc"].isna()]
        rel = (esc["t_esc"] - esc["t_pred"]) / esc["t_pred"]
        # a run that never escaped is censored at the time it ended (its controller's stop, else the
        # cap): consistent with the formula only if it ended before its predicted escape time
        ended = np.where(cens["t_stop"] > 0, cens["t_stop"], cap)
        late = int(np.sum(~(ended < cens["t_pred"].to_numpy())))
        med = float(np.median(np.abs(rel))) if len(rel) and rel.notna().all() else np.nan
        out.append(Claim(
            f"per-run-formula[{_label(mode, init)}]", f"{_label(mode, init)}: each run's escape time follows the "
            "linearised formula evaluated at the run's own measured a0_perp (the part of u2^T A orthogonal to "
            "u1^T A right after the jump)", "median |t_esc / t_pred - 1| <= 25% over the runs that escaped; a run "
            "that never escaped ended before its t_pred",
            f"median {100 * med:.0f}%, range {100 * rel.min():+.0f}% .. {100 * rel.max():+.0f}% over {len(esc)} "
            f"escaped runs" + _censored(cens, ended), "25% (set before measuring)",
            bool(np.isfinite(med) and med <= 0.25 and late == 0),
            "not a claim of the papers: the typical-a0 formula above ignores that only the part of the u2-mode "
            "orthogonal to the u1-mode grows (a random angle), which this per-run form measures"))
    if len(h):
        lo, hi = float(h["F_final"].min()), float(h["F_final"].max())
        out.append(Claim.in_range(
            "returned-objective", "Hessian-guided PWGF returns an objective in [0.5, 3] x 1e-4 (reported "
            "1.12e-4 - 1.41e-4)", hi if lo >= 0.5e-4 else lo, 0.5e-4, 3e-4,
            predicted="every run in [5e-05, 0.0003]", note=f"range over {len(h)} runs: {lo:.3g} - {hi:.3g}"))
        n_stop = int(h["stopped"].sum())
        out.append(Claim(
            "controller-stops", f"the controller stops before the time cap (t = {cap:g}) in every Hessian run",
            "every run", f"{n_stop} / {len(h)}; stop times {h['t_stop'].min():.1f} - {h['t_stop'].max():.1f}",
            "all", bool(n_stop == len(h))))
    return out


# ---------------------------------------------------------------------------------------
# figures

COLORS = {"static": "0.4", "hessian": "C3", "isotropic": "C0", "isotropic-common": "C2"}


def figures(df: pd.DataFrame, resolved: Resolved) -> dict:
    e = escape_times(df)
    ns = sorted(e["N"].unique())
    eta_p = resolved.base.eta_p
    kinds = sorted({(c.mode, c.init) for _, c in resolved.cells}, key=lambda k: (MODES.index(k[0]), k[1]))
    with paper_style():
        cols = max(len(ns), 3)
        fig, grid = subplots(2, cols, figsize=(4.6 * cols, 8), constrained_layout=True, squeeze=False)
        for ax in grid[0, len(ns):]:
            ax.axis("off")
        for ax in grid[1, 3:]:
            ax.axis("off")
        axes = list(grid[0, :len(ns)]) + list(grid[1, :3])
        for ax, n in zip(axes, ns):
            for mode, init in kinds:
                cells = [lab for lab, c in resolved.cells if c.N == n and c.mode == mode and c.init == init]
                for lab in cells:
                    steps, vals = trajectories(df, "F", cell=lab)
                    t = steps * resolved.base.dt
                    color = COLORS[mode]
                    ls = ":" if init == "gaussian" else "-"
                    for i, v in enumerate(vals):
                        ax.plot(t, v, color=color, ls=ls, lw=1, alpha=0.8, label=_label(mode, init) if i == 0 else None)
            ax.axhline(theory.ESCAPE_F, color="k", lw=0.7, ls="--", label="escape: F = 0.05")
            ax.set_yscale("log")
            ax.set_xlabel("flow time t")
            ax.set_ylabel("F")
            ax.set_title(f"F(t), N = {n} (one line per seed)")
        axes[0].legend(fontsize=7)
        ax = axes[len(ns)]
        n_grid = np.geomspace(min(ns) / 1.5, max(ns) * 1.5, 50)
        for k, (mode, init) in enumerate(kinds):
            sub = e[(e["mode"] == mode) & (e["init"] == init)]
            color = COLORS[mode]
            jitter = 1 + 0.04 * (k - len(kinds) / 2)
            ok = sub[sub["t_esc"].notna()]
            if not len(ok):  # static from the saddle: never escapes
                continue
            ax.scatter(ok["N"] * jitter, ok["t_esc"], color=color, s=12, alpha=0.6)
            med = ok.groupby("N")["t_esc"].median()
            ax.plot(med.index * jitter, med.to_numpy(), color=color, marker="o", lw=1.5,
                    ls=":" if init == "gaussian" else "-", label=f"{_label(mode, init)} (median)")
            a0 = typical_a0(mode, init, n_grid, eta_p)
            if a0 is not None:
                ax.plot(n_grid, theory.escape_time(a0), color=color, lw=1, ls="--")
                ax.plot(n_grid, theory.median_escape_time(a0), color=color, lw=1, ls="-.")
        ax.plot([], [], color="k", ls="--", lw=1, label="theory: ln(0.21/a0) / (sbar/2), typical a0")
        ax.plot([], [], color="k", ls="-.", lw=1, label="median with the random angle (a0_perp = 0.674 a0)")
        _n_axis(ax, ns)
        ax.set_xlabel("N (particles)")
        ax.set_ylabel("escape time (first t with F < 0.05)")
        ax.set_title("escape time vs N (static from A0 = 0: never)")
        ax.legend(fontsize=7)
        ax = axes[len(ns) + 1]
        for mode, init in kinds:
            sub = e[(e["mode"] == mode) & (e["init"] == init) & e["t_pred"].notna()]
            if mode == "isotropic-common" or not len(sub):  # its second jump restarts the escape
                continue
            ax.scatter(sub["t_pred"], sub["t_esc"], color=COLORS[mode], s=14,
                       marker="^" if init == "gaussian" else "o", label=_label(mode, init))
            cens = sub[sub["t_esc"].isna() & (sub["t_stop"] > 0)]  # stopped without escaping: drawn where it ended
            if len(cens):
                ax.scatter(cens["t_pred"], cens["t_stop"], facecolors="none", edgecolors=COLORS[mode], s=40,
                           marker="v", label=f"{_label(mode, init)}: never escaped (drawn at its stop time)")
        stuck = e["t_esc"].isna() & e["t_pred"].notna() & (e["t_stop"] > 0) & (e["mode"] != "isotropic-common")
        ends = np.r_[e[["t_esc", "t_pred"]].to_numpy(float).ravel(), e.loc[stuck, "t_stop"].to_numpy(float)]
        lim = [0, float(np.nanmax(ends, initial=1.0)) * 1.05]
        ax.plot(lim, lim, color="k", lw=0.8, ls="--", label="t_esc = ln(0.21/a0_perp) / (sbar/2)")
        ax.set_xlabel("linearised prediction from the run's own a0_perp")
        ax.set_ylabel("measured escape time")
        ax.set_title("per run: measured vs linearised escape time")
        ax.legend(fontsize=7)
        ax = axes[len(ns) + 2]
        ctrl = [(m, i) for m, i in kinds if m != "static"]
        for k, (mode, init) in enumerate(ctrl):
            sub = e[(e["mode"] == mode) & (e["init"] == init)]
            ax.scatter(sub["N"] * (1 + 0.05 * (k - 1)), sub["F_final"], color=COLORS[mode], s=14,
                       label=_label(mode, init))
        ax.axhspan(1.12e-4, 1.41e-4, color="C3", alpha=0.15, label="reported range (Hessian)")
        _n_axis(ax, ns)
        ax.set_yscale("log")
        ax.set_xlabel("N (particles)")
        ax.set_ylabel("returned objective")
        ax.set_title("returned objective (final F)")
        ax.legend(fontsize=7)
        b = resolved.base
        fig.suptitle(f"pwgf/saddle-escape ({resolved.preset}): eta_p={b.eta_p:g}, eps_g={b.eps_g:g}, "
                     f"T_wait={b.t_wait:g}, F_thr={b.f_thr:g}, {b.integrator} dt={b.dt:g}, cap t={b.time_cap():g}; "
                     f"{resolved.seeds} seeds")
    return {"saddle_escape": fig}


def _n_axis(ax, ns) -> None:
    ax.set_xscale("log")
    ax.set_xticks(ns, [str(n) for n in ns])
    ax.minorticks_off()


# ---------------------------------------------------------------------------------------
# presets

SETTINGS = dict(eta_p=0.2, eps_g=0.01, t_wait=10.0, f_thr=1e-3, t_insp=0.1, dt=0.05)  # follow-up App. C


def _cells(ns, modes=MODES, random_init_static=True):
    out = [dict(label=f"{m} N={n}", N=n, mode=m, init="symmetric") for n in ns for m in modes]
    if random_init_static:
        out += [dict(label=f"static random-init N={n}", N=n, mode="static", init="gaussian") for n in ns]
    return tuple(out)


SMOKE = Preset(base=dict(SETTINGS, steps=600, log_every=10),
               cells=_cells((64,), modes=("static", "hessian", "isotropic-common"), random_init_static=False),
               seeds=1, note="seconds: N = 64, time cap 30, three modes", untested={"*": "one seed at N = 64, cap 30"})
# Three claims as the prototype stated them do not reproduce at 6 seeds per N. They are still
# measured and shown; this preset reports them as not tested, with the measurement and the reason.
_FORMULA_GAP = ("the linearised formula starts from all of A's u2-part, but only its part orthogonal to the "
                "u1-part grows into the minimum, at a random angle; the per-run prediction from the measured "
                "orthogonal part holds (claim per-run-formula)")
NOT_REPRODUCED = {
    "hessian-escapes": "does not reproduce: max escape time 18.0 > 16 over 18 runs (the threshold came from 7 "
                       "prototype runs); single runs scatter with the random angle of the kick",
    "formula[hessian]": "does not reproduce: +48 / +80 / +25 % against +-50 %; " + _FORMULA_GAP,
    "formula[static (random init)]": "does not reproduce: +43 / +30 / +65 % against +-50 %; " + _FORMULA_GAP,
}
CPU = Preset(base=dict(SETTINGS, integrator="euler", steps=2000, log_every=4), cells=_cells((256, 1024, 4096)),
             seeds=6, note="Euler step 0.05, time cap 100, N in {256, 1024, 4096}, 6 seeds",
             untested=NOT_REPRODUCED)
PAPER = Preset(base=dict(SETTINGS, integrator="rk4", steps=2000, log_every=4),
               cells=_cells((2048, 4096, 8192, 16384, 32768), random_init_static=False), seeds=3,
               note="App. C of the follow-up: RK4 step 0.05, cap 100, N = 2048 ... 32768, 3 trials",
               untested={"isotropic-grows-with-N": "3 trials (the spec needs >= 5 seeds)",
                         "hessian-escapes": "does not reproduce: max escape time 16.4 > 16 over 15 runs (N = 2048: "
                                            "13.6 / 14.0 / 16.4; the threshold came from 7 prototype runs); single "
                                            "runs scatter with the random angle of the kick"})

SADDLE_ESCAPE = Experiment(
    name="pwgf/saddle-escape",
    summary="plain WGF stuck at an exact saddle; Hessian-guided and isotropic PWGF escape; escape time vs N "
            "with the linearised formula; returned objectives (arXiv:2509.16974, follow-up App. C)",
    config=Config,
    problem=PROBLEM,
    presets={"smoke": SMOKE, "cpu": CPU, "paper": PAPER},
    claims=claims,
    figures=figures,
)

EXPERIMENTS = (SADDLE_ESCAPE,)
