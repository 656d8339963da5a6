"""Quantifying the Optimization and Generalization Advantages of Graph Neural Networks Over
Multilayer Perceptrons (Huang, Cao, Wang, Cao, Suzuki; AISTATS 2025; earlier "Graph Neural
Networks Provably Benefit from Structural Information: A Feature Learning Perspective",
arXiv:2306.13926).

Node features are signal-noise patches x_i = [y_i mu, xi_i] (xi orthogonal to mu), edges an
SBM on the labels with expected degree D and homophily h (SNM-SBM, ``data/sbm.py``). The
two-layer ReLU^q CNN ("MLP") and the same network on aggregated features x~ = D~^-1 (A + I) x
("GCN", ``models/gcn.py``) are trained by full-batch GD on the logistic loss of n labelled
nodes. The MLP overfits benignly iff n SNR^q >= C (Cao et al. 2022, arXiv:2202.06526); the
GCN's benign region is larger, its threshold |mu|* falling with D (by D^-(q-2)/q in the AISTATS
version, D^-(q-2)/(2q) in arXiv v1-v2).

Only the abstracts and reviews of the paper could be read: every size here is our choice,
calibrated by prototype. Test nodes sit on a FRESH graph with the same (N, D, h): tested
transductively (test nodes in the training graph), the GCN scores ~0.94 even at |mu| = 2 by
propagating the labels through memorised neighbour noise, which hides the feature-learning
effect; ``transductive=True`` offers that split for comparison only.

Experiment:
  gnn-vs-mlp/phase   test accuracy over (n, |mu|) for GCN and MLP at D = 8; the threshold
                     |mu|* against D; signal learning vs noise memorisation, GCN vs MLP
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from theorylab.analysis import absent_cells, final_rows, trajectories
from theorylab.analysis.hitting import loglog_slope
from theorylab.data import sbm, signal_noise
from theorylab.experiment import Claim, ConfigError, Experiment, Preset, Problem, Resolved, cross, param
from theorylab.models import cnn, decomposition
from theorylab.models.decomposition import masked_mean
from theorylab.models.losses import logistic_loss
from theorylab.plots.phase import table_heatmap
from theorylab.plots.style import paper_style, subplots
from theorylab.plots.trajectories import band
from theorylab.theory import gnn_sbm as theory
from theorylab.theory import signal_noise as sn_theory


@dataclasses.dataclass(frozen=True)
class Config:
    # shapes and switches (static)
    d: int = param(800, "patch dimension (x = [y mu, xi] in R^{2 x d})", static=True, lo=2)
    n_graph: int = param(400, "nodes of the training graph (and of the fresh test graph)", static=True, lo=2)
    n_max: int = param(80, "rows reserved for labelled nodes (n <= n_max; one program for every n)",
                       static=True, lo=1)
    n_test: int = param(200, "test nodes", static=True, lo=1)
    m: int = param(10, "filters per output sign j = +-1", static=True, lo=1)
    q: int = param(3, "activation max(0, z)^q (the paper: q > 2)", static=True, choices=cnn.Q_CHOICES)
    norm: str = param("row", "aggregation D~^-1 (A + I) (row) or D~^-1/2 (A + I) D~^-1/2 (sym)", static=True,
                      choices=sbm.NORMS)
    transductive: bool = param(False, "test on unlabelled nodes of the training graph (label propagation: "
                               "hides feature learning; for comparison only)", static=True)
    steps: int = param(300, "GD step budget", static=True, lo=1)
    log_every: int = param(30, "steps between recorded observables (divides steps)", static=True, lo=1)
    # values (dynamic)
    gcn: int = param(1, "1: GCN (aggregated features), 0: MLP (raw features)", lo=0, hi=1)
    n: int = param(40, "labelled training nodes", lo=1)
    mu_norm: float = param(6.0, "signal norm |mu|", lo=0.0, lo_open=True)
    sigma_p: float = param(1.0, "noise std sigma_p (xi ~ N(0, sigma_p^2 (I - mu mu^T / |mu|^2)))", lo=0.0, lo_open=True)
    degree: float = param(8.0, "expected degree D of the SBM", lo=0.0)
    homophily: float = param(0.9, "h: fraction of the expected neighbours in the node's own class", lo=0.0, hi=1.0)
    sigma0: float = param(0.01, "init std of the filters", lo=0.0, lo_open=True)
    lr: float = param(0.1, "GD step size", lo=0.0, lo_open=True)

    def check(self) -> None:
        if self.n > self.n_max:
            raise ConfigError(f"Config.n = {self.n} must be <= n_max = {self.n_max}")
        if self.n_max + 1 > self.d:
            raise ConfigError(f"Config.n_max = {self.n_max} must be < d = {self.d} (gamma/rho decomposition)")
        if self.n_max + (self.n_test if self.transductive else 0) > self.n_graph:
            raise ConfigError(f"Config.n_graph = {self.n_graph} must hold n_max (+ n_test when transductive)")
        if self.n_test > self.n_graph:
            raise ConfigError(f"Config.n_test = {self.n_test} must be <= n_graph = {self.n_graph}")
        if 2 * self.degree * max(self.homophily, 1 - self.homophily) > self.n_graph:
            raise ConfigError(f"Config.degree = {self.degree:g} is too large for n_graph = {self.n_graph} "
                              "(edge probability 2 D h / N > 1)")

    def snr(self) -> float:
        return float(sn_theory.snr(self.mu_norm, self.sigma_p, self.d))


def _graph(key, cfg):
    """(x~ or x [N, 2, d] as the model sees it, y [N]) of one SBM graph."""
    k_x, k_a = jax.random.split(key)
    nodes = signal_noise.sample(k_x, cfg.n_graph, d=cfg.d, mu_norm=cfg.mu_norm,
                                noise_scales=jnp.array([cfg.sigma_p]), signal="antipodal",
                                orthogonal_noise=True, signal_position="first", labels="alternating")
    adj = sbm.sample_sbm(k_a, nodes.y, cfg.degree, cfg.homophily)
    x = jnp.where(cfg.gcn > 0, sbm.aggregate(adj, nodes.x, cfg.norm), nodes.x)
    return x, nodes.y


def setup(key, cfg):
    """W(0) [2, m, d]; data: the labelled rows x [n_max, 2, d], y, mask [n_max] (first n), the
    test nodes, and the gamma/rho basis of span(mu, model-input noise patches of the rows)."""
    k_train, k_test, k_init = jax.random.split(key, 3)
    x, y = _graph(k_train, cfg)
    if cfg.transductive:
        x_test, y_test = x[cfg.n_graph - cfg.n_test:], y[cfg.n_graph - cfg.n_test:]
    else:
        x_test, y_test = _graph(k_test, cfg)
        x_test, y_test = x_test[: cfg.n_test], y_test[: cfg.n_test]
    w0 = cnn.init(k_init, cfg.m, cfg.d, cfg.sigma0)
    mu = signal_noise.signal_vectors(cfg.d, cfg.mu_norm, "antipodal")[0]
    xl = x[: cfg.n_max]
    return w0, dict(x=xl, y=y[: cfg.n_max], mask=jnp.arange(cfg.n_max) < cfg.n, x_test=x_test, y_test=y_test,
                    w0=w0, basis=decomposition.basis(mu, xl[:, 1]))


def loss(w, data, cfg, key):
    del key  # full-batch GD
    return masked_mean(logistic_loss(data["y"] * cnn.apply(w, data["x"], cfg.q)), data["mask"])


def observe(w, data, cfg):
    margin = data["y"] * cnn.apply(w, data["x"], cfg.q)
    gamma, rho = decomposition.decompose(w, data["w0"], data["basis"])  # [2, m], [2, m, n_max]
    return dict(
        train_loss=masked_mean(logistic_loss(margin), data["mask"]),
        train_acc=masked_mean(margin > 0, data["mask"]),
        test_acc=jnp.mean(data["y_test"] * cnn.apply(w, data["x_test"], cfg.q) > 0),
        gamma_max=gamma.max(),  # signal learning max_{j,r} gamma_{j,r}
        rho_mem=masked_mean(rho.max(axis=(0, 1)), data["mask"]),  # mean_i max_{j,r} rho_{j,r,i}
    )


PROBLEM = Problem(setup=setup, loss=loss, observe=observe)


# ---------------------------------------------------------------------------------------
# measurements


ACC_LEVEL = 0.75


def threshold(mus: np.ndarray, acc: np.ndarray, level: float = ACC_LEVEL) -> float:
    """|mu|* where the accuracy curve acc(|mu|) first reaches ``level`` (log-linear interpolation
    in |mu|); nan if it never does, mus[0] if it starts above. A seed mean equal to the level up
    to rounding (0.75 from five accuracies in steps of 1/n_test) reaches it."""
    order = np.argsort(mus)
    mus, acc = np.asarray(mus, float)[order], np.asarray(acc, float)[order]
    hit = np.flatnonzero(acc >= level - 1e-6)  # float32 accuracies: 0.75 is stored as 0.74999998
    if not len(hit):
        return math.nan
    i = hit[0]
    if i == 0:
        return float(mus[0])
    f = (level - acc[i - 1]) / max(acc[i] - acc[i - 1], 1e-12)
    return float(np.exp(np.log(mus[i - 1]) + f * (np.log(mus[i]) - np.log(mus[i - 1]))))


def final_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct config (model, n, D, |mu|): seed-mean final test accuracy, train
    loss, gamma, rho. Cells of different groups with the same config are the same runs."""
    fin = final_rows(df)
    fin = fin.assign(model=np.where(fin["gcn"] > 0, "GCN", "MLP"), degree=fin["degree"].astype(float),
                     mu_norm=fin["mu_norm"].astype(float), n=fin["n"].astype(int))
    return (fin.groupby(["model", "n", "degree", "mu_norm"], as_index=False)
            [["test_acc", "train_loss", "gamma_max", "rho_mem"]].mean())


def _group(resolved: Resolved, prefix: str) -> list:
    return [cfg for label, cfg in resolved.cells if label.startswith(prefix)]


def heat_table(tab: pd.DataFrame, resolved: Resolved) -> pd.DataFrame:
    """The rows of the (n, |mu|) heatmap grid (both models at the heatmap's D)."""
    cfgs = _group(resolved, "heat:")
    if not cfgs:
        return tab.iloc[:0]
    ns, mus = {c.n for c in cfgs}, {float(c.mu_norm) for c in cfgs}
    return tab[tab["n"].isin(ns) & tab["mu_norm"].isin(mus) & (tab["degree"] == float(cfgs[0].degree))]


def degree_table(tab: pd.DataFrame, resolved: Resolved) -> pd.DataFrame:
    """The rows of the D-sweep: GCN at every swept D, MLP (D plays no role), at its n."""
    cfgs = _group(resolved, "deg:")
    if not cfgs:
        return tab.iloc[:0]
    n, degrees = cfgs[0].n, {float(c.degree) for c in cfgs if c.gcn}
    sub = tab[tab["n"] == n]
    return sub[((sub["model"] == "GCN") & sub["degree"].isin(degrees)) | (sub["model"] == "MLP")]


def thresholds(sub: pd.DataFrame, by: str) -> pd.DataFrame:
    """|mu|* per (model, by); for the MLP ``by`` is ignored when it is the degree."""
    rows = []
    for (model, v), grp in sub.groupby(["model", by]):
        rows.append(dict(model=model, **{by: v}, mu_star=threshold(grp["mu_norm"].to_numpy(), grp["test_acc"].to_numpy())))
    return pd.DataFrame(rows)


S_G1 = ("at equal (n, |mu|) the GCN is never worse than the MLP by more than 0.02, and there is a band of "
        "cells where the GCN is benign and the MLP is not (D = 8)")
S_G2 = "the MLP threshold follows n SNR^q = C: slope of log |mu|* on log n = -1/q"
S_G3 = "the GCN threshold |mu|* falls with the degree D (slope in log-log, MLP/GCN ratio at D = 16)"
S_G4 = "mechanism: the GCN learns more signal per unit of memorised noise than the MLP (gamma / rho ratio)"


def claims(df: pd.DataFrame, resolved: Resolved) -> list[Claim]:
    cells = dict(resolved.cells)
    lost = absent_cells(df, list(cells))
    if lost:
        why = f"no results for {len(lost)} cell(s), e.g. {lost[0]}"
        return [Claim.missing(c, s, why) for c, s in (("G1-gcn-benign-band", S_G1), ("G2-mlp-threshold", S_G2),
                                                      ("G3-degree-effect", S_G3), ("G4-mechanism", S_G4))]
    tab = final_table(df)
    q = resolved.base.q
    out = []
    heat = heat_table(tab, resolved)
    if len(heat):
        piv = heat.pivot_table(index=["n", "mu_norm"], columns="model", values="test_acc")
        diff = piv["MLP"] - piv["GCN"]
        worse = float(diff.max())
        n_wo, mu_wo = diff.idxmax()
        # the spec's 0.02 is below the resolution of the measurement: at chance level the
        # difference of two accuracies over n_test x seeds test nodes has sd sqrt(2 * 0.25 / (n_test seeds))
        se = math.sqrt(2 * 0.25 / (resolved.base.n_test * resolved.seeds))
        tol = max(0.02, 2 * se)
        band_cells = piv[(piv["GCN"] >= 0.85) & (piv["MLP"] <= 0.6)]
        ok = worse <= tol and len(band_cells) >= 2
        out.append(Claim("G1-gcn-benign-band", S_G1,
                         "max(MLP - GCN) <= 0.02 (or the sampling resolution); >= 2 cells with GCN >= 0.85 and MLP <= 0.6",
                         f"max(MLP - GCN) = {worse:+.3f} at (n={n_wo:g}, |mu|={mu_wo:g}: MLP {piv['MLP'][(n_wo, mu_wo)]:.2f}, "
                         f"GCN {piv['GCN'][(n_wo, mu_wo)]:.2f}); band: "
                         + ", ".join(f"(n={n:g}, |mu|={mu:g})" for n, mu in band_cells.index),
                         f"max(MLP - GCN) <= max(0.02, 2 sd) = {tol:.3f}", bool(ok),
                         f"sd = sqrt(0.5 / (n_test x seeds)) = {se:.3f}: the binomial sd of the difference of two "
                         "chance-level accuracies; the spec's 0.02 alone cannot be resolved at this test-set size"))
        th = thresholds(heat, "n")
        mlp = th[th["model"] == "MLP"].sort_values("n")
        slope = loglog_slope(mlp["n"], mlp["mu_star"])
        out.append(Claim("G2-mlp-threshold", S_G2, f"{-1 / q:.3f} +- 0.12",
                         f"slope {slope:.3f}; |mu|* = " + ", ".join(f"{m:.3g} (n={n:g})" for n, m in zip(mlp["n"], mlp["mu_star"]))
                         + "; C = 1 curve: " + ", ".join(f"{theory.mlp_threshold(n, resolved.base.d, resolved.base.sigma_p, q):.3g}"
                                                         for n in mlp["n"]),
                         "+- 0.12", bool(math.isfinite(slope) and abs(slope + 1 / q) <= 0.12),
                         f"|mu|* = first |mu| with test accuracy >= {ACC_LEVEL} (log-linear interpolation)"))
    deg = degree_table(tab, resolved)
    if len(deg):
        th = thresholds(deg, "degree")
        g = th[th["model"] == "GCN"].sort_values("degree")
        mlp_star = threshold(*_mlp_curve(deg))
        slope = loglog_slope(g["degree"], g["mu_star"])
        at16 = g.loc[g["degree"] == 16, "mu_star"]
        ratio = mlp_star / float(at16.iloc[0]) if len(at16) else math.nan
        falls = bool(np.all(np.diff(g["mu_star"].to_numpy()) <= 0.05 * g["mu_star"].to_numpy()[:-1]))
        ok = math.isfinite(slope) and -0.45 <= slope <= -0.15 and 1.8 <= ratio <= 4 and falls
        out.append(Claim(
            "G3-degree-effect", S_G3, "slope in [-0.45, -0.15], MLP/GCN at D = 16 in [1.8, 4], |mu|* non-increasing in D",
            f"slope {slope:.3f}; ratio {ratio:.2f}; GCN |mu|* = " + ", ".join(f"{m:.3g} (D={D:g})" for D, m in zip(g["degree"], g["mu_star"]))
            + f"; MLP {mlp_star:.3g}", "as stated", bool(ok),
            f"finding: fitted slope {slope:.3f} vs theory {theory.gcn_slope(q):.3f} (AISTATS D^(q-2)) or "
            f"{theory.gcn_slope(q, 'arxiv'):.3f} (arXiv sqrt(D)^(q-2)); naive 1/(h_eff sqrt(D+1)) at D = 16: "
            f"{theory.naive_ratio(16, resolved.base.homophily):.2f} of the MLP threshold"))
    c = _mech_cell(resolved)
    if c is not None:
        sel = tab[(tab["n"] == c.n) & (tab["mu_norm"] == float(c.mu_norm)) & (tab["degree"] == float(c.degree))]
        r = {row.model: row.gamma_max / max(row.rho_mem, 1e-12) for row in sel.itertuples()}
        if len(r) == 2:
            ratio = r["GCN"] / r["MLP"]
            out.append(Claim("G4-mechanism", S_G4, "(max gamma / mean max rho)_GCN >= 3 x that of the MLP",
                             f"GCN {r['GCN']:.3g}, MLP {r['MLP']:.3g}: x{ratio:.3g}", ">= 3 (a guess: not prototyped)",
                             bool(ratio >= 3), f"at the end of training, n = {c.n}, |mu| = {c.mu_norm:g}, D = {c.degree:g}"))
    return out


# The cell of the mechanism claim G4 and figure (iii): benign for the GCN, harmful for the MLP
# (one of the heatmap cells).
MECH = {"smoke": (20, 5.0, 8.0), "cpu": (40, 6.0, 8.0), "paper": (20, 8.0, 8.0)}  # (n, |mu|, D)


def _mech_cell(resolved: Resolved):
    if resolved.preset not in MECH:
        return None
    n, mu, D = MECH[resolved.preset]
    return dataclasses.replace(resolved.base, n=n, mu_norm=mu, degree=D)


def _mlp_curve(deg: pd.DataFrame):
    """(|mu| [k], accuracy [k]) of the MLP in the D-sweep (D plays no role: averaged over it)."""
    m = deg[deg["model"] == "MLP"].groupby("mu_norm", as_index=False)["test_acc"].mean()
    return m["mu_norm"].to_numpy(), m["test_acc"].to_numpy()


# ---------------------------------------------------------------------------------------
# figures


def figures(df: pd.DataFrame, resolved: Resolved) -> dict:
    tab = final_table(df)
    b = resolved.base
    figs = {}
    with paper_style():
        heat = heat_table(tab, resolved)
        if len(heat):
            fig, axes = subplots(1, 2, figsize=(13, 4.5), constrained_layout=True)
            D = float(heat["degree"].iloc[0])
            s = b.sigma_p * math.sqrt(b.d)
            for ax, model in zip(axes, ("MLP", "GCN")):
                sub = heat[heat["model"] == model].assign(log_mu=lambda t: np.log2(t["mu_norm"]), log_n=lambda t: np.log2(t["n"]))
                curve = (lambda lm: np.log2(s ** b.q / (2.0 ** lm) ** b.q)) if model == "MLP" else \
                    (lambda lm: np.log2(s ** b.q / (2.0 ** lm) ** b.q * D ** (-(b.q - 2))))
                table_heatmap(ax, sub, x="log_mu", y="log_n", value="test_acc", vmin=0.5, vmax=1.0, label="test accuracy",
                              curve=curve, curve_label=("n SNR^q = 1" if model == "MLP" else f"n D^(q-2) SNR^q = 1 (D={D:g})"))
                if model == "GCN":
                    xs = np.linspace(sub["log_mu"].min() - 0.3, sub["log_mu"].max() + 0.3, 200)
                    ys = np.log2(s ** b.q / (2.0 ** xs) ** b.q * D ** (-(b.q - 2) / 2))
                    ok = (ys >= sub["log_n"].min() - 0.5) & (ys <= sub["log_n"].max() + 0.5)
                    ax.plot(xs[ok], ys[ok], color="orange", lw=1.5, ls="--", label="arXiv: n sqrt(D)^(q-2) SNR^q = 1")
                    ax.legend(loc="upper right", frameon=True, fontsize=7)
                for (n, mu), row in sub.set_index(["n", "mu_norm"]).iterrows():
                    ax.text(np.log2(mu), np.log2(n), f"{row['test_acc']:.2f}", ha="center", va="center", fontsize=6)
                ax.set_xticks(sorted(sub["log_mu"].unique()), [f"{v:g}" for v in sorted(sub["mu_norm"].unique())])
                ax.set_yticks(sorted(sub["log_n"].unique()), [f"{v:g}" for v in sorted(sub["n"].unique())])
                ax.set_xlabel(r"$\|\mu\|$ (log scale)")
                ax.set_ylabel("labelled nodes n (log scale)")
                ax.set_title(f"{model}: test accuracy on a fresh graph")
            fig.suptitle(f"gnn-vs-mlp/phase ({resolved.preset}): d={b.d}, sigma_p={b.sigma_p:g}, q={b.q}, m={b.m}, "
                         f"N={b.n_graph}, h={b.homophily:g}, D={D:g}, T={b.steps}; seed means")
            figs["heatmaps"] = fig
        deg = degree_table(tab, resolved)
        if len(deg):
            th = thresholds(deg, "degree")
            g = th[th["model"] == "GCN"].sort_values("degree")
            mlp_star = threshold(*_mlp_curve(deg))
            fig, axes = subplots(1, 2, figsize=(12, 4.2), constrained_layout=True)
            ax = axes[0]
            ax.plot(g["degree"], g["mu_star"], "o-", label=r"GCN $\|\mu\|^*$ (measured)")
            ax.axhline(mlp_star, color="grey", ls="--", label=rf"MLP $\|\mu\|^*$ = {mlp_star:.3g}")
            Ds = np.geomspace(g["degree"].min(), g["degree"].max(), 50)
            for version, ls in (("aistats", "-"), ("arxiv", ":")):
                ax.plot(Ds, mlp_star * np.array([theory.gcn_ratio(x, b.q, version) for x in Ds]), "k", ls=ls, lw=1,
                        label=f"{version}: slope {theory.gcn_slope(b.q, version):.2f}")
            ax.plot(Ds, mlp_star * np.array([theory.naive_ratio(x, b.homophily) for x in Ds]), "r--", lw=1,
                    label="naive 1/(h_eff sqrt(D+1))")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("expected degree D")
            ax.set_ylabel(rf"$\|\mu\|^*$ (test acc = {ACC_LEVEL})")
            ax.set_title(f"threshold against D (n = {int(deg['n'].iloc[0])}); slope {loglog_slope(g['degree'], g['mu_star']):.2f}")
            ax.legend(fontsize=7)
            ax = axes[1]
            for j, (D, sub) in enumerate(deg[deg["model"] == "GCN"].groupby("degree")):
                sub = sub.sort_values("mu_norm")
                ax.plot(sub["mu_norm"], sub["test_acc"], "o-", ms=3, color=f"C{j}", label=f"GCN D={D:g}")
            ax.plot(*_mlp_curve(deg), "s--", color="k", ms=3, label="MLP")
            ax.axhline(ACC_LEVEL, color="grey", lw=0.8)
            ax.set_xscale("log")
            ax.set_xlabel(r"$\|\mu\|$")
            ax.set_ylabel("test accuracy")
            ax.set_title("test accuracy against signal norm")
            ax.legend(fontsize=7)
            figs["degree"] = fig
        c = _mech_cell(resolved)
        if c is not None and len(df[(df["n"] == c.n) & (df["mu_norm"] == c.mu_norm) & (df["degree"] == c.degree)]):
            fig, axes = subplots(1, 3, figsize=(15, 3.8), constrained_layout=True)
            for j, g in enumerate((0, 1)):
                rows = df[(df["gcn"] == g) & (df["n"] == c.n) & (df["mu_norm"] == c.mu_norm) & (df["degree"] == c.degree)]
                if not len(rows):
                    continue
                cell = rows["cell"].iloc[0]  # the same config may sit in several groups: one cell of it
                for ax, col in zip(axes, ("gamma_max", "rho_mem", "test_acc")):
                    steps, v = trajectories(df, col, cell=cell)
                    band(ax, steps, v, label="GCN" if g else "MLP", color=f"C{j}")
            for ax, t in zip(axes, (r"signal learning max $\gamma$", r"noise memorisation mean$_i$ max $\rho_i$",
                                    "test accuracy")):
                ax.set_title(t)
                ax.set_xlabel("GD step")
                ax.legend(fontsize=7)
            axes[0].set_yscale("log")
            axes[1].set_yscale("log")
            fig.suptitle(f"mechanism at n = {c.n}, |mu| = {c.mu_norm:g}, D = {c.degree:g}: GCN vs MLP, mean +- 2 sd over seeds")
            figs["mechanism"] = fig
    return figs


# ---------------------------------------------------------------------------------------
# presets

def _cells(ns, mus, D, deg_mus, mlp_mus, degrees, n_deg):
    heat = tuple(dict(label=f"heat:{'GCN' if g else 'MLP'},n={n},mu={mu:g}", gcn=g, n=n, mu_norm=float(mu), degree=float(D))
                 for g in (0, 1) for n in ns for mu in mus)
    deg = tuple(dict(label=f"deg:GCN,D={D_:g},mu={mu:g}", gcn=1, n=n_deg, mu_norm=float(mu), degree=float(D_))
                for D_ in degrees for mu in deg_mus)
    deg += tuple(dict(label=f"deg:MLP,mu={mu:g}", gcn=0, n=n_deg, mu_norm=float(mu), degree=float(D)) for mu in mlp_mus)
    return heat + deg


BASE = dict(d=800, sigma_p=1.0, q=3, m=10, sigma0=0.01, lr=0.1, steps=300, log_every=30, n_graph=400, n_max=80,
            n_test=200, homophily=0.9)
CPU = Preset(
    base=BASE,
    cells=_cells(ns=(10, 20, 40, 80), mus=(2, 3, 4, 6, 8, 11, 16, 22), D=8.0,
                 deg_mus=(2.5, 3, 3.5, 4.2, 5, 6, 7.5, 9), mlp_mus=(6, 7.5, 9, 11, 13.5, 16), degrees=(1, 2, 4, 8, 16, 32),
                 n_deg=40),
    seeds=2,
    note="our calibration (the paper's sizes are not available): d = 800, q = 3, m = 10, N = 400, h = 0.9, T = 300")
PAPER = Preset(
    base=dict(BASE, d=2000, m=20, steps=1000, log_every=50, n_graph=1000, n_max=100, n=20),
    cells=_cells(ns=(10, 20, 40, 70, 100), mus=(3, 4, 6, 8, 11, 16, 22, 30), D=8.0,
                 deg_mus=(3, 3.5, 4.2, 5, 6, 7.5, 9, 11, 13.5, 16.5, 20), mlp_mus=(8, 9, 11, 13.5, 16, 20, 25),
                 degrees=(1, 2, 4, 8, 16, 32), n_deg=20),
    seeds=5,
    # deg_mus reach 20: in the first paper run (2026-12-01) the D = 1 GCN reached test accuracy
    # 0.750 at the grid's last |mu| = 13.5 (a hair below the 0.75 level in floating point, which
    # left its threshold undefined; threshold() now allows the rounding): a wider grid places it
    note="toolkit default (sizes not published): d = 2000, m = 20, T = 1000, N = 1000, 5 seeds; "
         "q = 4 by --set q=4")
SMOKE = Preset(
    base=dict(BASE, d=200, m=5, n_graph=100, n_max=20, n=20, n_test=50, steps=150, log_every=30),
    cells=_cells(ns=(10, 20), mus=(3, 5, 8), D=8.0, deg_mus=(3, 5), mlp_mus=(5, 8), degrees=(4, 16), n_deg=20),
    seeds=2,
    note="seconds; plumbing only",
    untested={"*": "d = 200, 100 nodes, 2 x 3 grid: too coarse for thresholds and slopes"})

PHASE = Experiment(
    name="gnn-vs-mlp/phase",
    summary="SNM-SBM: the GCN's benign region (test on a fresh graph) is larger than the MLP's and grows with D",
    config=Config,
    problem=PROBLEM,
    presets={"smoke": SMOKE, "cpu": CPU, "paper": PAPER},
    claims=claims,
    figures=figures,
)

EXPERIMENTS = (PHASE,)
