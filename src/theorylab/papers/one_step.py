"""High-dimensional Asymptotics of Feature Learning: How One Gradient Step Improves the
Representation (Ba, Erdogdu, Suzuki, Wang, Wu, Yang; NeurIPS 2022; arXiv:2205.01445).

A two-layer network f(x) = (1/sqrt(N)) a^T sigma(W^T x) at its mean-field initialisation takes
ONE full-batch gradient step on the first layer (a frozen), W_1 = W_0 + eta sqrt(N) G_0, on n
samples of a single-index teacher y = sigma*(<beta, x>) + eps; then a ridge readout is fitted on
a fresh sample of the same size. In the proportional limit n / d = psi_1, N / d = psi_2:

* the first gradient is a rank-one spike mu_1 X^T y a^T / (n sqrt(N)) aligned with beta
  (Proposition 2; Figure 1's inset);
* with a small step (eta = Theta(1)) the conjugate kernel improves on random features
  (Theorem 5: R_0 - R_1 -> delta > 0) but stays above the kernel lower bound mu_2*^2 and is
  described by a Gaussian-equivalent model (Theorem 3);
* with a large step (eta = Theta(sqrt(N))) it beats every rotation-invariant kernel, and for
  sigma = sigma* = erf the risk decays like d / n (Theorem 6, Figure 3(c));
* the improvement delta shrinks as the width grows (Figure 3(b)).

One run = one data draw: step 0 of a run is the random-features model (eta = 0) on exactly the
data of its step 1 (paired). The step is ``optim.one_step.one_large_step``; the readout
``models.ridge``; the theory ``theory.one_step_ridge``. Teachers with mu_0* != 0 (softplus,
relu) are centred: y = sigma*(z) - E sigma*(z) + eps.

Experiment one-step/feature-learning: risk against psi_1 for eta in {0 (RF), 1, N^1/4, N^1/2,
2 N^1/2} (Fig. 3(c) setting), the spike's statistics, and the width panel (Fig. 3(b) setting).
Beside them, a rotation-invariant kernel ridge baseline (``krr_degree`` > 0): the polynomial
kernel (1 + <x, x'>/d)^p of ``models.prompt_krr`` fitted on the run's own ridge sample, with an
oracle penalty from a grid of 5, scored on the run's test set. It costs an n x n solve per run,
so the presets fit it only in the runs of eta = 1 (whose step 0 is the random-features model on
the same data).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

import theorylab as tl
from theorylab.analysis.hitting import loglog_slope
from theorylab.store.shards import final_rows
from theorylab.data import gaussian_single_index as gsi
from theorylab.data import hermite_expansion as hermite
from theorylab.models import prompt_krr, ridge, two_layer
from theorylab.optim.one_step import one_large_step
from theorylab.plots.style import paper_style, subplots
from theorylab.theory import one_step_ridge as theory

SMOOTH = ("erf", "tanh", "softplus", "h1", "h2", "h3")  # activations with a derivative everywhere


@dataclasses.dataclass(frozen=True)
class Config:
    d: int = tl.param(256, "input dimension", static=True, lo=8)
    psi1: float = tl.param(4.0, "samples per dimension n / d (first step and ridge, each)", static=True, lo=0.0,
                           lo_open=True)
    psi2: float = tl.param(2.0, "width per dimension N / d", static=True, lo=0.0, lo_open=True)
    n_test: int = tl.param(4000, "test samples for the risk", static=True, lo=1)
    act: str = tl.param("erf", "student activation sigma (odd, smooth: erf, tanh)", static=True, choices=SMOOTH)
    teacher: str = tl.param("erf", "teacher link sigma* (centred if E sigma*(z) != 0)", static=True,
                            choices=hermite.LINKS)
    power_iters: int = tl.param(200, "power iterations for singular values (spike statistics)", static=True, lo=1)
    steps: int = tl.param(1, "gradient steps on W: exactly one", static=True, choices=(1,))
    log_every: int = tl.param(1, "log interval: step 0 (random features) and step 1", static=True, choices=(1,))
    eta: float = tl.param(1.0, "step size prefactor: eta_total = eta N^alpha", lo=0.0)
    alpha: float = tl.param(0.0, "step size exponent (0: eta = Theta(1); 1/2: Theta(sqrt N))", lo=0.0, hi=1.0)
    lam: float = tl.param(1e-3, "ridge penalty lambda (the objective has (lambda / N) |a|^2)", lo=0.0, lo_open=True)
    noise: float = tl.param(0.1, "label noise std sigma_eps", lo=0.0)
    krr_degree: int = tl.param(0, "degree p of the kernel ridge baseline's kernel (1 + <x, x'> / d)^p, fitted on "
                               "the ridge sample (0: no kernel baseline; its n x n solve is the costliest part)",
                               static=True, lo=0)

    @property
    def n(self) -> int:
        return int(round(self.psi1 * self.d))

    @property
    def width(self) -> int:
        return int(round(self.psi2 * self.d))

    def step(self) -> float:
        """eta_total = eta N^alpha (the update is W_1 = W_0 + eta_total sqrt(N) G_0)."""
        return self.eta * self.width**self.alpha

    def check(self) -> None:
        for name, v in (("psi1", self.psi1), ("psi2", self.psi2)):
            if abs(v * self.d - round(v * self.d)) > 1e-6 or round(v * self.d) < 2:
                raise tl.ConfigError(f"Config.{name} = {v:g}: {name} * d = {v * self.d:g} must be an integer >= 2")


def setup(key, cfg):
    """-> (W_0 [d, N], data): a [N] frozen, beta [d], the step's (x [n, d], y [n]), the ridge's
    fresh (x_ridge, y_ridge), the test inputs x_test [n_test, d] and noise-free f_test."""
    kb, kinit, k1, k2, k3 = jax.random.split(key, 5)
    beta = gsi.unit_vector(kb, cfg.d)
    w0, a = two_layer.init(kinit, cfg.d, cfg.width)
    offset = hermite.gaussian_moments(cfg.teacher)[0]  # centre the teacher (a Python constant)
    x, y = gsi.single_index_batch(k1, cfg.n, beta, cfg.teacher, cfg.noise, offset)
    xr, yr = gsi.single_index_batch(k2, cfg.n, beta, cfg.teacher, cfg.noise, offset)
    xt = gsi.gaussian_inputs(k3, cfg.n_test, cfg.d)
    ft = hermite.link(cfg.teacher)(xt @ beta) - offset
    krr = kernel_baseline(xr, yr, xt, ft, cfg.krr_degree)
    return w0, dict(w0=w0, a=a, beta=beta, x=x, y=y, x_ridge=xr, y_ridge=yr, x_test=xt, f_test=ft, **krr)


# Kernel ridge baseline (Section 3 of arXiv:2205.01445: every rotation-invariant kernel's ridge
# risk stays >= mu_2*^2 when n ~ d). Relative penalties lam * mean diag K; the oracle picks the
# grid value with the smallest test risk (optimistic, so a lower-bound claim on it is conservative).
KRR_LAMS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
KRR_ITERS = 64  # CG steps: the kernel's non-linear part acts as a ridge and keeps K well conditioned;
# converged to 5 digits of the risk after 16 (d = 256); tests/test_one_step_blocks.py checks a direct solve


def kernel_baseline(xr, yr, xt, ft, degree: int) -> dict:
    """{krr_risk, krr_se, krr_lam}: oracle-penalty kernel ridge with the polynomial kernel
    (1 + <x, x'> / d)^degree fitted on (xr [n, d], yr [n]), its test risk against f_test [n_test]
    on x_test [n_test, d], the risk's standard error over the test set, and the chosen relative
    penalty; NaN when degree = 0 (no baseline)."""
    if degree == 0:
        nan = jnp.full((), jnp.nan, xr.dtype)
        return dict(krr_risk=nan, krr_se=nan, krr_lam=nan)
    lams = jnp.asarray(KRR_LAMS, xr.dtype)
    err2 = (prompt_krr.fit_predict(xr, yr, xt, lams, degree, KRR_ITERS) - ft) ** 2  # [L, n_test]
    risks = jnp.mean(err2, axis=1)
    best = jnp.argmin(risks)
    return dict(krr_risk=risks[best], krr_se=jnp.std(err2[best]) / math.sqrt(xt.shape[0]), krr_lam=lams[best])


def loss(w, data, cfg, key):
    del key
    return two_layer.half_mse(w, data["a"], data["x"], data["y"], cfg.act)


def optimizer(cfg):
    return one_large_step(cfg.step() * math.sqrt(cfg.width))


def _top_singular(m: jax.Array, iters: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(s_1, u_1 [d], v_1 [N]) of m [d, N] by power iteration from a fixed start."""
    v = jax.random.normal(jax.random.PRNGKey(7), (m.shape[1],), m.dtype)

    def body(_, v):
        v = m.T @ (m @ v)
        return v / (jnp.linalg.norm(v) + 1e-30)

    v = jax.lax.fori_loop(0, iters, body, v / jnp.linalg.norm(v))
    mv = m @ v
    s = jnp.linalg.norm(mv)
    return s, mv / (s + 1e-30), v


def observe(w, data, cfg):
    """risk: ridge test risk on the features of w; the spike of w - w_0 (zero at step 0):
    s1_over_s2, cos2_beta = <u_1, beta>^2, and g0_rank1_err = |G_0 - A| / |G_0| (operator norms)
    with A = mu_1 X^T y a^T / (n sqrt(N)); krr_risk / krr_se / krr_lam: the kernel baseline of
    ``setup`` (the same at every step; NaN without one)."""
    width = cfg.width
    phi = two_layer.features(w, data["x_ridge"], cfg.act)
    phi_t = two_layer.features(w, data["x_test"], cfg.act)
    risk = ridge.ridge_risk(phi, data["y_ridge"], cfg.lam / width, phi_t, data["f_test"])
    dw = w - data["w0"]
    s1, u1, v1 = _top_singular(dw, cfg.power_iters)
    s2, _, _ = _top_singular(dw - s1 * jnp.outer(u1, v1), cfg.power_iters)
    moved = s1 > 0
    g0 = dw / (cfg.step() * math.sqrt(width) + 1e-30)
    mu1 = hermite.gaussian_moments(cfg.act)[1]
    a_rank1 = mu1 * jnp.outer(data["x"].T @ data["y"], data["a"]) / (cfg.n * math.sqrt(width))
    err, _, _ = _top_singular(g0 - a_rank1, cfg.power_iters)
    return dict(
        risk=risk,
        krr_risk=data["krr_risk"], krr_se=data["krr_se"], krr_lam=data["krr_lam"],
        s1_over_s2=jnp.where(moved, s1 / (s2 + 1e-30), 0.0),
        cos2_beta=jnp.where(moved, (u1 @ data["beta"]) ** 2, 0.0),
        g0_rank1_err=jnp.where(moved, err / (s1 / (cfg.step() * math.sqrt(width)) + 1e-30), 0.0),
    )


PROBLEM = tl.Problem(setup=setup, loss=loss, observe=observe, optimizer=optimizer)


# ---------------------------------------------------------------------------------------
# the Gaussian-equivalent prediction for a run's setting: numpy, on an independent draw


@functools.lru_cache(maxsize=None)
def ge_prediction(cfg: Config, draws: int = 1) -> tuple[float, float]:
    """(R_GE at eta = 0, R_GE after the step) for cfg, averaged over ``draws`` independent draws
    of (W_0, X, y): the step is taken with jax outside any compiled program, the GE risk
    (``theory.one_step_ridge.ge_risk``) in numpy float64."""
    r0, r1 = [], []
    cfg = dataclasses.replace(cfg, krr_degree=0)  # the kernel baseline plays no part in the GE model
    for i in range(draws):
        w0, data = setup(jax.random.PRNGKey(10_000 + i), cfg)
        g = jax.grad(loss)(w0, data, cfg, None)
        w1 = np.asarray(w0 - cfg.step() * math.sqrt(cfg.width) * g, np.float64)
        beta = np.asarray(data["beta"], np.float64)
        args = (cfg.act, cfg.teacher, cfg.lam, cfg.n, cfg.noise)
        r0.append(theory.ge_risk(np.asarray(w0, np.float64), beta, *args))
        r1.append(theory.ge_risk(w1, beta, *args))
    return float(np.mean(r0)), float(np.mean(r1))


# ---------------------------------------------------------------------------------------
# analysis: one row per run with its step-0 (random features) and step-1 observables

SETTING = ["d", "psi2", "act", "teacher", "lam", "noise"]


def eta_label(eta: float, alpha: float) -> str:
    if alpha == 0:
        return f"eta={eta:g}"
    pre = "" if eta == 1 else f"{eta:g}"
    return f"eta={pre}N^{alpha:g}"


def run_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: config, rf_risk (step 0), risk / spike statistics (step 1), eta label."""
    first = df[df["step"] == 0].set_index("run_id")["risk"].rename("rf_risk")
    last = final_rows(df).set_index("run_id")
    out = last.join(first)
    out["label"] = [eta_label(e, a) for e, a in zip(out["eta"], out["alpha"])]
    out["eta_total"] = out["eta"] * (out["psi2"] * out["d"]).round() ** out["alpha"]
    return out.reset_index()


def _resolved_cfg(resolved, row) -> Config:
    keys = ("d", "psi1", "psi2", "eta", "alpha", "act", "teacher", "lam", "noise")
    for _, c in resolved.cells:
        if all(getattr(c, k) == row[k] for k in keys):
            return c
    raise KeyError(row)


def _psi1_groups(runs: pd.DataFrame):
    """Settings (fixed everything but psi1 and eta) with >= 2 values of psi1."""
    for key, g in runs.groupby(SETTING):
        if g["psi1"].nunique() >= 2:
            yield dict(zip(SETTING, key)), g


def _psi2_groups(runs: pd.DataFrame):
    """Settings with >= 2 values of psi2 at one psi1 and one eta (the width panel)."""
    keys = ["d", "psi1", "act", "teacher", "lam", "noise", "eta", "alpha"]
    for key, g in runs.groupby(keys):
        if g["psi2"].nunique() >= 2:
            yield dict(zip(keys, key)), g


DEFAULTS_ONLY = ("A1", "A2", "A6", "A7")  # stated by the spec for its erf/erf defaults only


def claims(df: pd.DataFrame, resolved) -> list[tl.Claim]:
    runs = run_table(df)
    out: list[tl.Claim] = []
    for setting, g in _psi1_groups(runs):
        found = _psi1_claims(setting, g, resolved)
        if (setting["act"], setting["teacher"]) != ("erf", "erf"):
            found = [dataclasses.replace(c, holds=None, note=c.note + "; shown, not asserted: the claim is stated for "
                                         "the erf/erf defaults (Fig. 3(c) setting)")
                     if c.id.startswith(DEFAULTS_ONLY) else c for c in found]
        out += found
    for setting, g in _psi2_groups(runs):
        out += _width_claims(setting, g)
    if not out:
        out.append(tl.Claim("grid", "a grid with >= 2 values of psi1 or of psi2", "", "", "", None,
                            "this grid has a single psi1 and a single psi2"))
    return out


def _se(values: pd.Series) -> float:
    """Standard error of the mean over runs (0 for a single run)."""
    return float(values.std() / math.sqrt(len(values))) if len(values) > 1 else 0.0


def _near_peak(psi1: float, setting: dict) -> bool:
    """Within a factor 2 of the interpolation peak n = N with a small ridge (lambda <= 1e-4), where
    the spec saw the GE model off by up to 13% and the risk non-monotone in eta (Fig. 3(a))."""
    return setting["lam"] <= 1e-4 and 0.5 <= psi1 / setting["psi2"] <= 2


def _ge_tolerance(psi1: float, setting: dict) -> float:
    return 0.15 if _near_peak(psi1, setting) else 0.07


def _psi1_claims(setting: dict, g: pd.DataFrame, resolved) -> list[tl.Claim]:
    out = []
    sfx = f" [{setting['act']}/{setting['teacher']}, psi2={setting['psi2']:g}]"
    teacher, noise = setting["teacher"], setting["noise"]
    floor = theory.kernel_lower_bound(teacher)
    psis = sorted(float(p) for p in g["psi1"].unique())
    per_psi = g.groupby("psi1")
    # A1: the spike
    ratio = per_psi["s1_over_s2"].min()
    cos2 = per_psi["cos2_beta"].mean()
    pred = np.array([theory.spike_alignment(teacher, p, noise) for p in psis])
    dev = np.abs(cos2.to_numpy() - pred)
    out.append(tl.Claim(
        "A1-spike" + sfx, "W_1 - W_0 is a spike aligned with beta: s1/s2 >= 10 in every run, and cos^2(u_1, beta) "
        "matches mu_1*^2 / (mu_1*^2 + (E f*^2 + sigma_eps^2) / psi_1) within 0.03 (mean over runs), every psi_1",
        "s1/s2 >= 10; cos^2 = " + ", ".join(f"{p:.3f}" for p in pred),
        "min s1/s2 " + ", ".join(f"{r:.1f}" for r in ratio) + "; cos^2 " + ", ".join(f"{c:.3f}" for c in cos2),
        "0.03 absolute", bool(ratio.min() >= 10 and dev.max() <= 0.03),
        f"psi_1 = {psis}; max |cos^2 - prediction| = {dev.max():.3f}; s2 by deflated power iteration"))
    # A2: rank-one approximation of the first gradient
    err = per_psi["g0_rank1_err"].mean().to_numpy()
    mono = bool(np.all(np.diff(err) <= 0.005))
    out.append(tl.Claim(
        "A2-rank-one" + sfx, "the first gradient is close to the rank-one A = mu_1 X^T y a^T / (n sqrt N): "
        "|G_0 - A| / |G_0| < 0.1 and non-increasing in psi_1 (Proposition 2)", "< 0.1, non-increasing",
        ", ".join(f"{e:.3f}" for e in err), "< 0.1; increases up to 0.005 tolerated as noise",
        bool(err.max() < 0.1 and mono), f"psi_1 = {psis}; operator norms by power iteration; mean over runs"))
    # A3..A5: small steps
    small = {lab: sub for lab, sub in g.groupby("label") if sub["alpha"].iloc[0] <= 0.25}
    ge_err, below = [], []
    for lab, sub in small.items():
        for psi, s in sub.groupby("psi1"):
            r0, r1 = ge_prediction(_resolved_cfg(resolved, s.iloc[0]))
            ge_err.append((lab, psi, s["risk"].mean(), r1, _se(s["risk"])))
            below.append(s["risk"].mean() < floor)
        if lab == sorted(small)[0]:
            for psi, s in sub.groupby("psi1"):
                r0, _ = ge_prediction(_resolved_cfg(resolved, s.iloc[0]))
                ge_err.append(("RF", psi, s["rf_risk"].mean(), r0, _se(s["rf_risk"])))
    if ge_err:
        lam = setting["lam"]
        tols = [_ge_tolerance(psi, setting) for _, psi, _, _, _ in ge_err]
        rel = [abs(m - p) / p for _, _, m, p, _ in ge_err]
        # allowed: the relative tolerance plus 3 standard errors of the mean over runs (at psi_1 = 1 the
        # run-to-run sd of R is ~ 15%: with 5 runs one SE exceeds 0.07 R_GE)
        excess = [abs(m - p) / (t * p + 3 * se) for (_, _, m, p, se), t in zip(ge_err, tols)]
        worst = ge_err[int(np.argmax(excess))]
        out.append(tl.Claim(
            "A3-gaussian-equivalence" + sfx, "for eta in {0, Theta(1), N^1/4} the conjugate-kernel ridge risk equals "
            "the Gaussian-equivalent model's (Theorem 3) at every psi_1", "|R - R_GE| / R_GE <= 0.07",
            f"max {max(rel):.3f}; worst against its tolerance: {worst[0]}, psi_1 = {worst[1]:g} "
            f"({worst[2]:.4f} +- {worst[4]:.4f} vs {worst[3]:.4f}; {max(excess):.2f} of the allowance)",
            "0.07 R_GE + 3 SE of the mean over runs (0.15 R_GE within a factor 2 of the interpolation peak psi_1 = "
            "psi_2 when lambda <= 1e-4)",
            bool(max(excess) <= 1), f"lambda = {lam:g}; R: mean over runs; R_GE: the GE model on an independent draw "
                                    "of (W_0, X, y); the spec measured <= 4% (13% at the peak with lambda = 1e-4)"))
        out.append(tl.Claim(
            "A4-linear-barrier" + sfx, "with eta <= N^1/4 the risk stays above the kernel lower bound mu_2*^2",
            f">= {floor:.4f}", f"min {min(m for _, _, m, _, _ in ge_err):.4f}", "strict", bool(not any(below)),
            "mean over runs per (eta, psi_1)"))
    if small:
        order = sorted(small, key=lambda lab: small[lab]["eta_total"].iloc[0])
        by = {lab: small[lab].groupby("psi1")["risk"].mean() for lab in order}
        gain = {lab: (small[lab]["risk"] - small[lab]["rf_risk"]).groupby(small[lab]["psi1"]).mean() for lab in order}
        keep = [p for p in psis if not (setting["lam"] <= 1e-4 and p == setting["psi2"])]  # the peak itself
        paired_ok = all(bool((gain[lab].loc[keep] < 0).all()) for lab in order)
        dec = all(bool((by[a].loc[keep] > by[b].loc[keep]).all()) for a, b in zip(order, order[1:]))
        out.append(tl.Claim(
            "A5-improvement" + sfx, "one small step improves on random features: the paired mean R(eta) - R(RF) "
            "(same data, step 1 vs step 0) is negative at every psi_1, and the risk decreases along " + str(order),
            "R(eta) - R(RF) < 0; " + " > ".join(order),
            "; ".join(f"psi={p:g}: " + " / ".join(f"{gain[lab].loc[p]:+.4f}" for lab in order) + " | "
                      + " / ".join(f"{by[lab].loc[p]:.4f}" for lab in order) for p in psis),
            "strict, every psi_1 (but the interpolation peak psi_1 = psi_2 when lambda <= 1e-4)", bool(paired_ok and dec),
            "per psi_1: paired gains R(eta) - R(RF) for " + " / ".join(order) + " | mean risks"
            + ("" if len(keep) == len(psis) else f"; psi_1 = {setting['psi2']:g} (the peak) not asserted, as in the "
               "spec's Fig. 3(a) measurement")))
    # A9, A10: the kernel ridge baseline (runs with krr_degree > 0) against the lower bound
    large = {lab: sub for lab, sub in g.groupby("label") if sub["alpha"].iloc[0] >= 0.5}
    out += _kernel_claims(g, floor, large, sfx)
    # A6, A7: large steps
    for lab, sub in sorted(large.items()):
        hi_psi = sub[sub["psi1"] >= 8]
        if len(hi_psi):
            vals = []
            for psi, s in hi_psi.groupby("psi1"):
                _, r_ge = ge_prediction(_resolved_cfg(resolved, s.iloc[0]))
                vals.append((psi, s["risk"].mean(), r_ge))
            ok = all(m < floor and m < 0.7 * p for _, m, p in vals)
            out.append(tl.Claim(
                f"A6-beats-kernels [{lab}]" + sfx, "a large step beats every rotation-invariant kernel: for psi_1 >= 8 "
                "R < mu_2*^2 and R < 0.7 R_GE (the GE model no longer describes it)",
                f"< {floor:.4f} and < 0.7 R_GE", "; ".join(f"psi={p:g}: {m:.4f} (R_GE {q:.4f})" for p, m, q in vals),
                "strict", bool(ok), "mean over runs"))
        if sub["eta"].iloc[0] == 2 and set([8.0, 16.0, 32.0]) <= set(sub["psi1"]):
            m = sub[sub["psi1"].isin([8.0, 16.0, 32.0])].groupby("psi1")["risk"].mean()
            out.append(tl.Claim.in_range(
                f"A7-rate [{lab}]" + sfx, "with eta = 2 sqrt(N) the risk decays like d / n: slope of log R on log psi_1 "
                "over {8, 16, 32}", loglog_slope(m.index, m.to_numpy()), -1.2, -0.8, predicted="-1 (Theorem 6)",
                note="the spec measured -0.99; eta = N^1/2 is still pre-asymptotic (-0.54)"))
    return out


def krr_table(g: pd.DataFrame) -> pd.DataFrame:
    """Per psi_1, over the runs that fitted the kernel baseline: mean, sd and standard error of the
    KRR risk (the SE is sd / sqrt(runs); with one run, that run's test-set SE), the RF risk of
    the same runs (paired), and the chosen relative penalties."""
    k = g[np.isfinite(g["krr_risk"])] if "krr_risk" in g else g.iloc[:0]
    rows = []
    for psi, s in k.groupby("psi1"):
        runs = len(s)
        se = s["krr_risk"].std() / math.sqrt(runs) if runs > 1 else float(s["krr_se"].iloc[0])
        rows.append(dict(psi1=psi, runs=runs, degree=int(s["krr_degree"].iloc[0]), krr=s["krr_risk"].mean(),
                         sd=s["krr_risk"].std() if runs > 1 else 0.0, se=se, rf=s["rf_risk"].mean(),
                         lams="/".join(f"{v:g}" for v in sorted(s["krr_lam"].unique()))))
    return pd.DataFrame(rows)


def _kernel_claims(g: pd.DataFrame, floor: float, large: dict, sfx: str) -> list[tl.Claim]:
    kt = krr_table(g)
    if kt.empty:
        return []
    deg = int(kt["degree"].iloc[0])
    allow = 3 * kt["se"]
    ok = bool(np.all(kt["krr"] >= floor - allow))
    out = [tl.Claim(
        "A9-kernel-barrier" + sfx,
        f"kernel ridge with the rotation-invariant kernel (1 + <x, x'>/d)^{deg}, fitted on each run's ridge sample with "
        "an oracle penalty (the best of 5 on the run's test set), stays above the kernel lower bound mu_2*^2 at every "
        "psi_1 (Section 3: no rotation-invariant kernel beats the best linear predictor when n ~ d)",
        f">= {floor:.4f}",
        "; ".join(f"psi={r.psi1:g}: {r.krr:.4f} +- {r.se:.4f} (RF {r.rf:.4f})" for r in kt.itertuples()),
        "mean over runs >= mu_2*^2 - 3 SE (SE = sd over runs / sqrt(runs))", ok,
        f"{int(kt['runs'].min())}-{int(kt['runs'].max())} runs per psi_1; the oracle penalty (relative to mean diag K) "
        f"chosen: " + ", ".join(f"psi={r.psi1:g}: {r.lams}" for r in kt.itertuples())
        + "; oracle selection on the test set biases the risk down, so the claim is conservative")]
    for lab, sub in sorted(large.items()):
        both = [(p, sub[sub["psi1"] == p]["risk"].mean(), r.krr, r.se) for r in kt.itertuples()
                for p in [r.psi1] if p >= 8 and (sub["psi1"] == p).any()]
        if both:
            out.append(tl.Claim(
                f"A10-step-beats-kernel-ridge [{lab}]" + sfx,
                "a large step beats the kernel ridge baseline: for psi_1 >= 8 the mean conjugate-kernel risk after the "
                "step is below the mean kernel ridge risk minus 3 SE", "R_CK < R_KRR",
                "; ".join(f"psi={p:g}: {m:.4f} vs {k:.4f}" for p, m, k, _ in both), "strict, minus 3 SE of the KRR mean",
                bool(all(m < k - 3 * se for _, m, k, se in both)),
                "different data draws for the two (the baseline is fitted in the runs of its own cell): means compared"))
    return out


def _width_claims(setting: dict, g: pd.DataFrame) -> list[tl.Claim]:
    delta = (g["rf_risk"] - g["risk"]).groupby(g["psi2"]).mean()
    ok = bool(np.all(np.diff(delta.to_numpy()) < 0))
    lab = eta_label(setting["eta"], setting["alpha"])
    return [tl.Claim(
        f"A8-width [{setting['act']}/{setting['teacher']}, psi1={setting['psi1']:g}, {lab}]",
        "the gain of one step, delta = R(RF) - R(eta), shrinks as the width N / d grows (Theorem 5: delta -> 0 as "
        "psi_2 -> infinity)", "delta strictly decreasing in psi_2",
        ", ".join(f"psi2={p:g}: {v:.4f}" for p, v in delta.items()), "strict", ok,
        "paired per run (step 0 vs step 1), mean over runs")]


# ---------------------------------------------------------------------------------------
# figures


def figures(df: pd.DataFrame, resolved) -> dict:
    runs = run_table(df)
    out = {}
    for i, (setting, g) in enumerate(_psi1_groups(runs)):
        sfx = "" if i == 0 else f"-{i}"
        out["risk" + sfx] = _risk_figure(setting, g, resolved)
        out["spike" + sfx] = _spike_figure(setting, g)
    for i, (setting, g) in enumerate(_psi2_groups(runs)):
        out["width" + ("" if i == 0 else f"-{i}")] = _width_figure(setting, g, resolved)
    return out


def _risk_figure(setting, g, resolved):
    floor = theory.kernel_lower_bound(setting["teacher"])
    psis = np.array(sorted(g["psi1"].unique()))
    with paper_style():
        fig, ax = subplots(1, 1, figsize=(6.4, 4.6), constrained_layout=True)
        rf = g.groupby("psi1")["rf_risk"].agg(["mean", "std"])
        ax.errorbar(rf.index, rf["mean"], yerr=rf["std"], fmt="o", color="k", capsize=2, label="RF (eta = 0)")
        labels = sorted(g["label"].unique(), key=lambda lab: g.loc[g["label"] == lab, "eta_total"].iloc[0])
        ge_rf = [ge_prediction(_resolved_cfg(resolved, g[(g["psi1"] == p)].iloc[0]))[0] for p in psis]
        ax.plot(psis, ge_rf, "k-", lw=1, label="GE model (eta = 0)")
        for j, lab in enumerate(labels):
            sub = g[g["label"] == lab]
            st = sub.groupby("psi1")["risk"].agg(["mean", "std"])
            color = f"C{j}"
            ax.errorbar(st.index, st["mean"], yerr=st["std"], fmt="s", ms=4, color=color, capsize=2, label=lab)
            ge = [ge_prediction(_resolved_cfg(resolved, sub[sub["psi1"] == p].iloc[0]))[1] for p in st.index]
            style = "-" if sub["alpha"].iloc[0] <= 0.25 else ":"
            ax.plot(st.index, ge, style, color=color, lw=1,
                    label=f"GE model, {lab}" + (" (not valid)" if style == ":" else ""))
        ax.axhline(floor, color="grey", ls="--", lw=1, label=f"kernel lower bound $\\mu_2^{{*2}}$ = {floor:.4f}")
        kt = krr_table(g)
        if len(kt):
            ax.errorbar(kt["psi1"], kt["krr"], yerr=kt["sd"], fmt="D", mfc="none", color="k", ms=6, capsize=2,
                        label=f"kernel ridge, $(1 + x^\\top x'/d)^{{{int(kt['degree'].iloc[0])}}}$, oracle $\\lambda$")
        big = g[g["alpha"] >= 0.5]
        if len(big):
            top = big[big["eta_total"] == big["eta_total"].max()].groupby("psi1")["risk"].mean()
            anchor = top.iloc[-1] * top.index[-1]
            ax.plot(psis, anchor / psis, "r-", lw=0.8, alpha=0.7, label="$\\Theta(d/n)$")
        ax.set(xscale="log", yscale="log", xlabel="$\\psi_1 = n/d$", ylabel="test risk (noise-free target)",
               title=f"{setting['act']} student, {setting['teacher']} teacher, d = {setting['d']}, "
                     f"$\\psi_2$ = {setting['psi2']:g}, $\\lambda$ = {setting['lam']:g}, $\\sigma_\\epsilon$ = "
                     f"{setting['noise']:g}\nmean $\\pm$ sd over {resolved.seeds} runs; markers: simulation, lines: theory")
        ax.legend(fontsize=6.5, ncol=2)
    return fig


def _spike_figure(setting, g):
    psis = np.array(sorted(g["psi1"].unique()))
    grid = np.geomspace(psis.min() / 1.3, psis.max() * 1.3, 60)
    with paper_style():
        fig, axes = subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
        st = g.groupby("psi1")[["s1_over_s2", "cos2_beta", "g0_rank1_err"]].agg(["mean", "std"])
        for ax, col, title in zip(axes, ("s1_over_s2", "cos2_beta", "g0_rank1_err"),
                                  ("$s_1/s_2$ of $W_1 - W_0$", "cos$^2$(top left singular vector, $\\beta$)",
                                   "$\\|G_0 - A\\| / \\|G_0\\|$")):
            ax.errorbar(st.index, st[(col, "mean")], yerr=st[(col, "std")], fmt="o", capsize=2, label="measured")
            ax.set(xscale="log", xlabel="$\\psi_1 = n/d$", title=title)
        axes[0].axhline(10, color="grey", ls="--", lw=1, label="claim: >= 10")
        axes[1].plot(grid, [theory.spike_alignment(setting["teacher"], p, setting["noise"]) for p in grid], "k-",
                     lw=1, label="$\\mu_1^{*2} / (\\mu_1^{*2} + (E f^{*2} + \\sigma_\\epsilon^2)/\\psi_1)$")
        axes[2].axhline(0.1, color="grey", ls="--", lw=1, label="claim: < 0.1")
        for ax in axes:
            ax.legend(fontsize=7)
        fig.suptitle(f"one-step/feature-learning: the first gradient step is a spike along $\\beta$ "
                     f"({setting['act']}/{setting['teacher']}, d = {setting['d']}, $\\psi_2$ = {setting['psi2']:g})")
    return fig


def _width_figure(setting, g, resolved):
    with paper_style():
        fig, ax = subplots(1, 1, figsize=(5.4, 3.8), constrained_layout=True)
        dd = (g["rf_risk"] - g["risk"]).groupby(g["psi2"]).agg(["mean", "std"])
        ax.errorbar(dd.index, dd["mean"], yerr=dd["std"], fmt="o", capsize=2, label="$\\delta = R_{RF} - R_1$ (paired)")
        ge = [ge_prediction(_resolved_cfg(resolved, g[g["psi2"] == p].iloc[0])) for p in dd.index]
        ax.plot(dd.index, [r0 - r1 for r0, r1 in ge], "k-", lw=1, label="GE model: $R_{GE}(W_0) - R_{GE}(W_1)$")
        ax.axhline(0, color="grey", lw=0.6)
        ax.set(xscale="log", xlabel="$\\psi_2 = N/d$", ylabel="$\\delta$",
               title=f"gain of one step vs width; theory: $\\delta \\to 0$ as $\\psi_2 \\to \\infty$\n"
                     f"({setting['act']}/{setting['teacher']}, $\\psi_1$ = {setting['psi1']:g}, "
                     f"{eta_label(setting['eta'], setting['alpha'])}, $\\lambda$ = {setting['lam']:g}, d = {setting['d']})")
        ax.legend()
    return fig


# ---------------------------------------------------------------------------------------
# presets

KRR_DEGREE = 3  # the kernel baseline's (1 + <x, x'>/d)^3: could fit erf's cubic Hermite part, given n >> d^3
ETAS = (dict(eta=1.0, alpha=0.0, krr_degree=KRR_DEGREE), dict(eta=1.0, alpha=0.25), dict(eta=1.0, alpha=0.5), dict(eta=2.0, alpha=0.5))
FIG3C = dict(act="erf", teacher="erf", psi2=2.0, lam=1e-3, noise=0.1)  # Fig. 3(c) (spec A, claims' defaults)
FIG3B = dict(act="tanh", teacher="relu", psi1=5.0, lam=1e-2, noise=0.1, eta=4.0, alpha=0.0)  # Fig. 3(b)
FIG3A = dict(act="tanh", teacher="softplus", psi2=2.0, lam=1e-4, noise=0.25)  # Fig. 3(a)


def _cells(psis, etas, **fixed):
    return tuple(dict(fixed, psi1=p, **e) for p in psis for e in etas)


SMOKE = tl.Preset(base=dict(FIG3C, d=64, n_test=500, power_iters=50),
                  cells=_cells((2.0, 8.0), (dict(eta=1.0, alpha=0.5, krr_degree=KRR_DEGREE),)), seeds=1,
                  note="d = 64, psi_1 in {2, 8}, eta in {0, sqrt N}, kernel ridge beside: seconds", untested={"*": "one run at d = 64"})
CPU = tl.Preset(
    base=dict(FIG3C, d=256),
    cells=_cells((1.0, 2.0, 4.0, 8.0, 16.0, 32.0), ETAS)
    + tuple(dict(FIG3B, psi2=p) for p in (0.5, 1.0, 2.0, 4.0)),
    seeds=5,
    note="Fig. 3(c) at d = 256 (psi_1 = 1..32, eta in {0, 1, N^1/4, N^1/2, 2 N^1/2}) and Fig. 3(b)'s width panel "
         "(psi_2 = 0.5..4), 5 paired runs; kernel ridge (degree 3, oracle penalty) in the runs of eta = 1")
PAPER = tl.Preset(
    base=dict(FIG3C, d=512),
    cells=_cells((0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0),
                 (dict(eta=1.0, alpha=0.0, krr_degree=KRR_DEGREE),)
                 + tuple(dict(eta=1.0, alpha=a) for a in (0.1, 0.2, 0.3, 0.4, 0.5)) + (dict(eta=2.0, alpha=0.5),))
    + tuple(dict(FIG3B, psi2=p) for p in (0.5, 1.0, 2.0, 4.0, 8.0))
    + _cells((0.5, 1.0, 2.0, 4.0, 8.0, 16.0), tuple(dict(eta=e, alpha=0.0) for e in (1.0, 2.0, 4.0)), **FIG3A),
    seeds=50,
    note="Fig. 3 at d = 512, 50 runs: (c) eta = N^alpha, alpha in {0, .1, ..., .5} (+ 2 N^1/2), psi_1 = 0.5..32; "
         "(b) psi_2 = 0.5..8; (a) tanh/softplus, eta in {1, 2, 4}. The psi_1 grid is ours (the paper's is not given). "
         "Kernel ridge (degree 3, oracle penalty) in the runs of (c)'s eta = 1")

EXPERIMENT = tl.Experiment(
    name="one-step/feature-learning",
    summary="Ba et al. 2022 (arXiv:2205.01445): one large gradient step on the first layer beats random features "
            "and, at eta ~ sqrt(N), every kernel",
    config=Config, problem=PROBLEM, presets={"smoke": SMOKE, "cpu": CPU, "paper": PAPER},
    claims=claims, figures=figures)

EXPERIMENTS = (EXPERIMENT,)
