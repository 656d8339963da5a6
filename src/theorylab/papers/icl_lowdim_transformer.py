"""Pretrained transformer efficiently learns low-dimensional target functions in-context
(Oko, Song, Suzuki, Wu; NeurIPS 2024; arXiv:2411.02544).

Prompts of a single-index task y = sigma*(<beta, x>) + noise whose direction beta lives in an
r-dim subspace S of R^d (data/icl_single_index.py). The model (models/mlp_attention.py)

    f(X, y, x_q) = relu(W x_q + b)^T Gamma (1/N) sum_i y_i relu(W x_i + b)

is pretrained by the paper's Algorithm 1 (optim/two_stage.py):
  Stage I   one correlational gradient step on W from unit-norm rows, over T_1 fresh prompts of
            length N_1 (weight decay 1/eta_1: the init cancels), rows rescaled so that the
            median |w_j| = 1;
  Stage II  biases re-drawn from U[-log d, log d], dual ridge on Gamma over T_2 prompts of
            length N_2, the penalty chosen on n_val validation prompts.
Both stages are closed forms inside ``setup`` (vmapped over the runs of a chunk; Stage I is a
lax.scan over chunks of fresh prompts); the engine's single step is a no-op (steps = 1).

The pretrained model is then tested at several test-prompt lengths N*, next to kernel ridge on
the same test prompts, on the raw inputs (polynomial kernel, degree krr_degree, oracle penalty)
and on the intrinsic features P_S x, and next to a two-layer ReLU net trained by Adam on each test
prompt alone (models/prompt_mlp.py: width 256, 500 full-batch steps, the iterate with the lowest
error on 20 % of the prompt held out; the paper's Fig. 1 draws it). The paper's headline (Theorem 1): the ICL risk at N*
depends on r and the link, not on d, while prompt-only kernel methods need N* ~ d^Q.

Observables (all computed in setup, repeated at both log points): risk_tf [P] (MSE against
f*(x_q), relative to Var f*), abs_tf [P] (E|f - y| - tau, the paper's eq. (2.1)), risk_krr_raw
and risk_krr_s [P_krr] (best penalty), risk_mlp and mlp_step [P_mlp] (the prompt-trained net's risk
and the median early-stopping step), align [m] (|P_S w_j| / |w_j| after Stage I), align0
(median at init), the Lemma-21 check (lemma_cos [m], lemma_ratio [m], lemma_pred [m],
lemma_off [m]: cosine and norm ratio of the measured first gradient to the closed form, and its
off-S / in-S norm), ridge_val [L].
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
from theorylab.analysis import absent_cells, final_rows, mean_sd, stack
from theorylab.data import icl_single_index as dsi
from theorylab.models import mlp_attention as mlpa
from theorylab.models import prompt_krr, prompt_mlp
from theorylab.optim.two_stage import correlational_gradient, normalise_rows, ridge_dual
from theorylab.plots.style import paper_style, subplots
from theorylab.theory import icl_lowdim as theory

# links in the orthonormal h_k = He_k / sqrt(k!) basis: {degree: c_k}
LINKS = {
    "h2": {2: 1.0},  # He_2 / sqrt 2: the cpu prototype and Fig. 3 (arXiv:2411.02544, Sec. 5)
    "h2h3": {2: 1 / math.sqrt(2), 3: 1 / math.sqrt(2)},  # Q = 2, P = 3 (App. F; c_2 = c_3 is our choice)
    "h3": {3: 1.0},
    "h2h4": {2: 0.3, 4: 0.954},
}
RIDGE_LAMS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)  # Stage-II penalties relative to mean diag K
KRR_LAMS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # kernel-ridge penalties relative to mean diag K (oracle min)


def coeffs(link: str) -> np.ndarray:
    """[K+1]: the h_k coefficients of a named link."""
    c = np.zeros(max(LINKS[link]) + 1)
    for k, v in LINKS[link].items():
        c[k] = v
    return c


def info_exponent(link: str) -> int:
    return min(LINKS[link])


def degree(link: str) -> int:
    return max(LINKS[link])


@dataclasses.dataclass(frozen=True)
class Config:
    d: int = tl.param(16, "input dimension d", static=True, lo=2)
    r: int = tl.param(2, "task-subspace dimension r", static=True, lo=1)
    m: int = tl.param(400, "MLP width m (neurons)", static=True, lo=2)
    link: str = tl.param("h2", "link sigma* (h-basis): h2 = He_2/sqrt2, h2h3, h3, h2h4", static=True,
                         choices=tuple(LINKS))
    subspace: str = tl.param("coordinate", "task subspace: span(e_1..e_r) or a random rotation", static=True,
                             choices=("coordinate", "rotated"))
    n1: int = tl.param(200, "Stage I: prompt length N_1", static=True, lo=1)
    t1_chunk: int = tl.param(50, "Stage I: prompts per chunk (memory)", static=True, lo=1)
    t1_chunks: int = tl.param(400, "Stage I: chunks; T_1 = t1_chunk * t1_chunks prompts", static=True, lo=1)
    t2: int = tl.param(2000, "Stage II: ridge prompts T_2", static=True, lo=2)
    n2: int = tl.param(256, "Stage II: prompt length N_2", static=True, lo=1)
    n_val: int = tl.param(300, "Stage II: validation prompts for the penalty", static=True, lo=1)
    n_test: int = tl.param(200, "test prompts (the same prompts for the model and the baselines)", static=True,
                           lo=25)
    n_star_min: int = tl.param(16, "shortest test-prompt length N* (power of 2)", static=True, lo=1)
    n_star_max: int = tl.param(1024, "longest test-prompt length N* (power of 2)", static=True, lo=1)
    krr_max: int = tl.param(512, "kernel ridge baselines at N* <= krr_max (0: none)", static=True, lo=0)
    krr_prompts: int = tl.param(100, "test prompts the kernel baselines use (the first ones)", static=True, lo=25)
    krr_degree: int = tl.param(4, "degree p of the kernel (1 + <x, x'>/dim)^p", static=True, lo=1)
    mlp_max: int = tl.param(512, "prompt-trained two-layer net at N* <= mlp_max (0: none)", static=True, lo=0)
    mlp_prompts: int = tl.param(100, "test prompts the prompt-trained net uses (the first ones)", static=True, lo=25)
    mlp_width: int = tl.param(256, "prompt-trained net: width", static=True, lo=1)
    mlp_steps: int = tl.param(500, "prompt-trained net: full-batch Adam steps", static=True, lo=1)
    mlp_lr: float = tl.param(1e-3, "prompt-trained net: Adam learning rate", lo=0.0, lo_open=True)
    mlp_holdout: float = tl.param(0.2, "prompt-trained net: share of the prompt held out for early stopping",
                                  static=True, lo=0.0, lo_open=True)
    cg_iters: int = tl.param(256, "CG iterations of every ridge solve", static=True, lo=1)
    steps: int = tl.param(1, "engine steps: both stages are closed forms in setup", static=True, choices=(1,))
    log_every: int = tl.param(1, "log interval", static=True, choices=(1,))
    tau: float = tl.param(0.0, "label noise: y = f* + tau * Unif{-1, +1}", lo=0.0)

    def check(self) -> None:
        for name in ("n_star_min", "n_star_max"):
            v = getattr(self, name)
            if v & (v - 1):
                raise tl.ConfigError(f"Config.{name} = {v} must be a power of 2")
        if self.n_star_min > self.n_star_max:
            raise tl.ConfigError(f"Config.n_star_min = {self.n_star_min} must be <= n_star_max = {self.n_star_max}")
        if self.r > self.d:
            raise tl.ConfigError(f"Config.r = {self.r} must be <= d = {self.d}")
        if self.n_test % 25 or self.krr_prompts % 25 or self.krr_prompts > self.n_test:
            raise tl.ConfigError("Config.n_test and krr_prompts must be multiples of 25 with krr_prompts <= n_test")
        if self.mlp_prompts % 25 or self.mlp_prompts > self.n_test:
            raise tl.ConfigError(f"Config.mlp_prompts = {self.mlp_prompts} must be a multiple of 25 and <= n_test")
        if self.mlp_holdout >= 1:
            raise tl.ConfigError(f"Config.mlp_holdout = {self.mlp_holdout} must be in (0, 1)")
        if self.mlp_max and self.n_star_min < 2:
            raise tl.ConfigError("Config.n_star_min must be >= 2 for the prompt-trained net (it holds examples out)")
        if self.t2 % 100 or self.n_val % 50:
            raise tl.ConfigError(f"Config.t2 = {self.t2} must be a multiple of 100 and n_val = {self.n_val} of 50")

    @property
    def t1(self) -> int:
        return self.t1_chunk * self.t1_chunks


def n_stars(cfg) -> tuple[int, ...]:
    out, n = [], cfg.n_star_min
    while n <= cfg.n_star_max:
        out.append(n)
        n *= 2
    return tuple(out)


def krr_stars(cfg) -> tuple[int, ...]:
    return tuple(n for n in n_stars(cfg) if n <= cfg.krr_max)


def mlp_stars(cfg) -> tuple[int, ...]:
    return tuple(n for n in n_stars(cfg) if n <= cfg.mlp_max)


# ---------------------------------------------------------------------------------------
# Problem


def _basis(key, cfg):
    return dsi.coordinate_basis(cfg.d, cfg.r) if cfg.subspace == "coordinate" else dsi.rotated_basis(key, cfg.d, cfg.r)


def _contexts(w, b, x, y, batch):
    """[T, m]: h of prompts x [T, N, d], y [T, N], ``batch`` prompts at a time."""
    t = x.shape[0]
    out = jax.lax.map(lambda a: mlpa.context(w, b, a[0], a[1]),
                      (x.reshape(t // batch, batch, *x.shape[1:]), y.reshape(t // batch, batch, y.shape[1])))
    return out.reshape(t, -1)


def _lemma_check(g, w0, b, basis, cfg):
    """Per neuron: cos(g_j, formula_j), |g_j| / |formula_j|, |formula_j|, |(I - P_S) g_j| / |P_S g_j|."""
    q = info_exponent(cfg.link)
    pred = theory.lemma21_gradient_jnp(w0, b, basis, q, float(coeffs(cfg.link)[q]))
    pn, gn = jnp.linalg.norm(pred, axis=-1), jnp.linalg.norm(g, axis=-1)
    g_s = (g @ basis) @ basis.T
    return dict(lemma_cos=jnp.sum(g * pred, -1) / (gn * pn + 1e-30), lemma_ratio=gn / (pn + 1e-30),
                lemma_pred=pn, lemma_off=jnp.linalg.norm(g - g_s, axis=-1) / (jnp.linalg.norm(g_s, axis=-1) + 1e-30))


def setup(key, cfg):
    ks = jax.random.split(key, 9)
    basis = _basis(ks[0], cfg)
    c = jnp.asarray(coeffs(cfg.link), jnp.float32)
    w0 = jax.random.normal(ks[1], (cfg.m, cfg.d))
    w0 = w0 / jnp.linalg.norm(w0, axis=-1, keepdims=True)  # w_j ~ Unif(S^{d-1})
    b1 = jax.random.uniform(ks[2], (cfg.m,), minval=-1.0, maxval=1.0)
    sign = jax.random.rademacher(ks[3], (cfg.m,), jnp.float32)  # Gamma^(0) = diag(+-gamma), gamma -> 0

    # Stage I: E_t[y_q^t grad_W f_t] with Gamma^(0) = diag(sign): row j is sign_j g_j (Lemma 21's g_j)
    def corr(w, k):
        p = dsi.sample(k, cfg.t1_chunk, cfg.n1, basis, c, cfg.tau)
        x, y, xq, yq, _ = dsi.prefix(p, cfg.n1)
        f = jnp.einsum("nm,m,nm->n", mlpa.embed(w, b1, xq), sign, mlpa.context(w, b1, x, y))
        return jnp.mean(yq * f)

    g = correlational_gradient(corr, w0, ks[4], cfg.t1_chunks)
    w1, _ = normalise_rows(g)
    obs = _lemma_check(g * sign[:, None], w0, b1, basis, cfg)
    norm_s = lambda w: jnp.linalg.norm(w @ basis, axis=-1) / jnp.linalg.norm(w, axis=-1)
    obs["align"], obs["align0"] = norm_s(w1), jnp.median(norm_s(w0))

    # Stage II: new biases, dual ridge on Gamma over T_2 prompts, penalty on n_val prompts
    b2 = jax.random.uniform(ks[5], (cfg.m,), minval=-math.log(cfg.d), maxval=math.log(cfg.d))
    p2 = dsi.sample(ks[6], cfg.t2 + cfg.n_val, cfg.n2, basis, c, cfg.tau)
    x2, y2, xq2, yq2, _ = dsi.prefix(p2, cfg.n2)
    h2 = _contexts(w1, b2, x2, y2, 50)
    phi2 = mlpa.embed(w1, b2, xq2)
    tr, va = slice(0, cfg.t2), slice(cfg.t2, None)
    kmat = mlpa.dual_kernel(phi2[tr], h2[tr], phi2[tr], h2[tr])
    kval = mlpa.dual_kernel(phi2[va], h2[va], phi2[tr], h2[tr])
    alpha, obs["ridge_val"] = ridge_dual(kmat, yq2[tr], kval, yq2[va], jnp.asarray(RIDGE_LAMS), cfg.cg_iters)
    gamma = mlpa.gamma_from_dual(alpha, phi2[tr], h2[tr])

    # Test prompts: the model at every N*, the kernel baselines at N* <= krr_max (same prompts)
    pt = dsi.sample(ks[7], cfg.n_test, cfg.n_star_max, basis, c, cfg.tau)
    x, y, xq, yq, fq = dsi.prefix(pt, cfg.n_star_max)
    stars = n_stars(cfg)
    nb = cfg.n_test // 25
    ht = jax.lax.map(lambda a: mlpa.context_prefixes(w1, b2, a[0], a[1], stars),
                     (x.reshape(nb, 25, *x.shape[1:]), y.reshape(nb, 25, -1))).reshape(cfg.n_test, len(stars), -1)
    pred = jnp.einsum("nm,mk,npk->pn", mlpa.embed(w1, b2, xq), gamma, ht)  # [P, n]
    var_f = float(np.sum(coeffs(cfg.link)[1:] ** 2))
    obs["risk_tf"] = jnp.mean((pred - fq) ** 2, axis=-1) / var_f
    obs["abs_tf"] = jnp.mean(jnp.abs(pred - yq), axis=-1) - cfg.tau
    n_k = cfg.krr_prompts
    raw, intr = [], []
    for n in krr_stars(cfg):
        for feats, out in ((lambda a: a, raw), (lambda a: a @ basis, intr)):
            pk = prompt_krr.predict(feats(x[:n_k, :n]), y[:n_k, :n], feats(xq[:n_k]), jnp.asarray(KRR_LAMS),
                                    cfg.krr_degree, cfg.cg_iters)
            out.append(jnp.min(jnp.mean((pk - fq[:n_k]) ** 2, axis=-1)) / var_f)
    obs["risk_krr_raw"] = jnp.stack(raw) if raw else jnp.zeros((0,))
    obs["risk_krr_s"] = jnp.stack(intr) if intr else jnp.zeros((0,))
    # the prompt-trained two-layer net (arXiv:2411.02544, Fig. 1) on the first mlp_prompts test prompts
    n_m, mlp, steps = cfg.mlp_prompts, [], []
    for n in mlp_stars(cfg):
        pm, st = prompt_mlp.predict(jax.random.fold_in(ks[8], n), x[:n_m, :n], y[:n_m, :n], xq[:n_m], cfg.mlp_width,
                                    cfg.mlp_lr, cfg.mlp_steps, cfg.mlp_holdout)
        mlp.append(jnp.mean((pm - fq[:n_m]) ** 2) / var_f)
        steps.append(jnp.median(st))
    obs["risk_mlp"] = jnp.stack(mlp) if mlp else jnp.zeros((0,))
    obs["mlp_step"] = jnp.stack(steps) if steps else jnp.zeros((0,))
    return {"gamma": gamma}, obs


def loss(params, data, cfg, key):
    """Nothing is trained by the engine (both stages are closed forms in setup): 0."""
    del data, cfg, key
    return 0.0 * jnp.sum(params["gamma"])


def observe(params, data, cfg):
    del params, cfg
    return dict(data)


PROBLEM = tl.Problem(setup=setup, loss=loss, observe=observe, optimizer=lambda cfg: optax.set_to_zero())


# ---------------------------------------------------------------------------------------
# analysis: one row per run; cells differ by d


def per_d(df: pd.DataFrame) -> dict[int, pd.DataFrame]:
    runs = final_rows(df)
    return {int(d): g for d, g in sorted(runs.groupby("d"))}


def curve(g: pd.DataFrame, col: str) -> tuple[np.ndarray, np.ndarray]:
    """(mean [P], sd [P]) over the seeds of one cell of an array observable."""
    return mean_sd(stack(g, col))


def _slope(ns, vals) -> float:
    ok = np.isfinite(vals) & (vals > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(np.asarray(ns)[ok]), np.log(vals[ok]), 1)[0])


STATEMENTS = {
    "A1": "the Stage-I gradient follows Lemma 21 (median over the top half of neurons by predicted norm)",
    "A2": "features align with S: median |P_S w|/|w| >= 2 sqrt(r/d)",
    "A3": "ICL risk does not depend on d; raw-input kernel ridge degrades with d",
    "A4": "the pretrained model beats prompt-only kernel ridge at large d",
    "A5": "the ICL risk falls with N* (log-log slope over N* in [32, 256])",
    "A6": "the pretrained model needs fewer in-context examples than a two-layer net trained on the prompt alone",
}
MLP_LEVEL = 0.25  # A6: risk level (MSE / Var f*) at which the sample sizes are compared
MLP_FACTOR = 2.0  # A6: the net needs >= this many times the pretrained model's N* (one doubling)


def n_at_level(ns, vals, level: float) -> float:
    """The smallest N at which a risk curve [P] over ns [P] first reaches ``level`` (log-log
    interpolation between the bracketing points; ns[0] if it starts below; inf if never)."""
    ns, vals = np.asarray(ns, float), np.asarray(vals, float)
    below = np.flatnonzero(np.isfinite(vals) & (vals <= level))
    if not below.size:
        return math.inf
    i = int(below[0])
    if i == 0:
        return float(ns[0])
    lo, hi = vals[i - 1], vals[i]
    if not (np.isfinite(lo) and lo > 0 and hi > 0):
        return float(ns[i])
    t = (math.log(lo) - math.log(level)) / (math.log(lo) - math.log(hi))
    return float(math.exp(math.log(ns[i - 1]) + t * (math.log(ns[i]) - math.log(ns[i - 1]))))


def claims(df: pd.DataFrame, resolved) -> list[tl.Claim]:
    cells = [c for _, c in resolved.cells]
    lost = absent_cells(df, [lab for lab, _ in resolved.cells])
    if lost:
        return [tl.Claim.missing(k, s, f"cells without results: {', '.join(lost)}") for k, s in STATEMENTS.items()]
    groups = per_d(df)
    cfg = cells[0]
    stars = np.array(n_stars(cfg))
    kst = np.array(krr_stars(cfg))
    out: list[tl.Claim] = []
    # A1 at the smallest d (largest signal-to-noise per token; the spec's check is at d = 8)
    d0 = min(groups)
    g = groups[d0]
    pred = stack(g, "lemma_pred")
    top = pred >= np.median(pred, axis=1, keepdims=True)
    cos = float(np.median(stack(g, "lemma_cos")[top]))
    ratio = float(np.median(stack(g, "lemma_ratio")[top]))
    off = float(np.median(stack(g, "lemma_off")[top]))
    ok = cos >= 0.9 and 0.7 <= ratio <= 1.1
    out.append(tl.Claim("A1", STATEMENTS["A1"] + f" [d={d0}]", "cos >= 0.9, |g|/|formula| in [0.7, 1.1]",
                        f"cos {cos:.3f}, ratio {ratio:.3f} (off-S/in-S norm {off:.2f})",
                        "cos >= 0.9; ratio in [0.7, 1.1]", bool(ok),
                        f"T_1 N_1 = {g['t1_chunk'].iloc[0] * g['t1_chunks'].iloc[0] * g['n1'].iloc[0]:.3g}; the "
                        "formula is the population leading order, the measured norm also carries the Lemma-27 noise"))
    # A2 per d where the bound is below 1
    for d, g in groups.items():
        lo = 2 * theory.random_alignment(d, cfg.r)
        if lo >= 1:
            continue
        med = float(np.median(stack(g, "align")))
        t1, n1 = int(g["t1_chunk"].iloc[0] * g["t1_chunks"].iloc[0]), int(g["n1"].iloc[0])
        q = info_exponent(cfg.link)
        need_t1, need_tn = d ** (q + 1) * cfg.r**q, d ** (2 * q + 1) * cfg.r  # Theorem 1 without polylogs
        # the theorem's sizes are orders (up to constants and polylogs): flag a budget under half of them
        short = ("" if 2 * t1 >= need_t1 and 2 * t1 * n1 >= need_tn
                 else "; Stage I under half of Theorem 1's sizes: expect weaker alignment at this d")
        out.append(tl.Claim.in_range(f"A2@d={d}", STATEMENTS["A2"], med, lo, 1.0,
                                     note=f"random level sqrt(r/d) = {lo / 2:.3f}; at init {g['align0'].mean():.3f}; "
                                          f"T_1 = {t1:.3g}, T_1 N_1 = {t1 * n1:.3g} (Theorem 1, Q = {q}, without "
                                          f"polylogs: {need_t1:.3g}, {need_tn:.3g}){short}"))
    big = [d for d in groups if d >= 16]
    if len(big) < 2:
        out.append(tl.Claim("A3", STATEMENTS["A3"], "", "", "", None, "needs two values of d >= 16"))
    else:
        dl, dh = big[-2], big[-1]
        tf = curve(groups[dh], "risk_tf")[0] / curve(groups[dl], "risk_tf")[0]
        sel = stars >= 32
        kr = curve(groups[dh], "risk_krr_raw")[0] / curve(groups[dl], "risk_krr_raw")[0]
        ksel = np.isin(kst, (256, 512))
        ok = bool(np.all((tf[sel] >= 0.4) & (tf[sel] <= 2.0)) and ksel.any() and np.all(kr[ksel] >= 2.5))
        out.append(tl.Claim("A3", STATEMENTS["A3"] + f" [d={dh} vs {dl}]",
                            "TF ratio in [0.4, 2] for N* >= 32; KRR-raw ratio >= 2.5 at N* in {256, 512}",
                            "TF ratio " + ", ".join(f"{v:.2f}" for v in tf[sel])
                            + "; KRR ratio " + ", ".join(f"{v:.2f}" for v in kr[ksel]),
                            "[0.4, 2]; >= 2.5", ok, f"N* = {stars[sel].tolist()}; KRR at {kst[ksel].tolist()}"))
    dh = max(groups)
    tf = curve(groups[dh], "risk_tf")[0]
    kr = curve(groups[dh], "risk_krr_raw")[0]
    ksel = (kst >= 64) & (kst <= 512)
    if not ksel.any():
        out.append(tl.Claim("A4", STATEMENTS["A4"], "", "", "", None, "no kernel baseline at N* in [64, 512]"))
    else:
        ratio = tf[np.isin(stars, kst[ksel])] / kr[ksel]
        out.append(tl.Claim("A4", STATEMENTS["A4"] + f" [d={dh}]", "TF <= 0.5 KRR-raw at every N* in [64, 512]",
                            "TF/KRR " + ", ".join(f"{v:.2f}" for v in ratio), "<= 0.5",
                            bool(np.all(ratio <= 0.5)), f"N* = {kst[ksel].tolist()}"))
    for d, g in groups.items():
        sel = (stars >= 32) & (stars <= 256)
        s = _slope(stars[sel], curve(g, "risk_tf")[0][sel])
        out.append(tl.Claim.in_range(f"A5@d={d}", STATEMENTS["A5"], s, -np.inf, -0.5,
                                     predicted="slope <= -0.5"))
    mst = np.array(mlp_stars(cfg))
    for d, g in groups.items():
        if len(mst) < 2:
            out.append(tl.Claim(f"A6@d={d}", STATEMENTS["A6"], "", "", "", None, "needs the net at >= 2 values of N*"))
            continue
        tf, nn = curve(g, "risk_tf")[0], curve(g, "risk_mlp")[0]
        n_tf, n_nn = n_at_level(stars, tf, MLP_LEVEL), n_at_level(mst, nn, MLP_LEVEL)
        # the net's N* is only known up to mlp_max: a net that never reaches the level counts as > mlp_max
        n_nn_lo = n_nn if math.isfinite(n_nn) else float(2 * mst[-1])
        ok = bool(math.isfinite(n_tf) and n_nn_lo >= MLP_FACTOR * n_tf)
        pairs = ", ".join(f"{n}: {a:.3g}/{b:.3g}" for n, a, b in zip(mst, tf[np.isin(stars, mst)], nn))
        nn_txt = f"{n_nn:.0f}" if math.isfinite(n_nn) else f"> {mst[-1]} (not reached)"
        out.append(tl.Claim(f"A6@d={d}", STATEMENTS["A6"] + f" [risk level {MLP_LEVEL}]",
                            f"N*_net({MLP_LEVEL}) >= {MLP_FACTOR:g} N*_TF({MLP_LEVEL})",
                            f"N*_TF = {n_tf:.0f}, N*_net = {nn_txt}; risk TF/net at N* = {pairs}",
                            f">= {MLP_FACTOR:g}x", ok,
                            f"net: width {g['mlp_width'].iloc[0]}, Adam {g['mlp_lr'].iloc[0]:g}, "
                            f"{g['mlp_steps'].iloc[0]} steps, early stop on {g['mlp_holdout'].iloc[0]:.0%} of the "
                            f"prompt, {g['mlp_prompts'].iloc[0]} prompts; median chosen step "
                            + ", ".join(f"{v:.0f}" for v in curve(g, "mlp_step")[0])))
    return out


COLORS = {8: "C2", 16: "C0", 32: "C3", 64: "C4"}


def figures(df: pd.DataFrame, resolved) -> dict:
    groups = per_d(df)
    cfg = resolved.cells[0][1]
    stars, kst = np.array(n_stars(cfg)), np.array(krr_stars(cfg))
    q = info_exponent(cfg.link)
    with paper_style():
        fig, ax = subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
        for d, g in groups.items():
            col = COLORS.get(d)
            m, s = curve(g, "risk_tf")
            spread = f"{len(g)} seeds, ±1 sd" if len(g) > 1 else "1 seed"
            (ln,) = ax[0].plot(stars, m, "o-", color=col, label=f"pretrained TF, d={d} ({spread})")
            if len(g) > 1:
                ax[0].fill_between(stars, np.maximum(m - s, m / 5), m + s, color=ln.get_color(), alpha=0.2, lw=0)
            if len(mlp_stars(cfg)):
                ax[0].plot(mlp_stars(cfg), curve(g, "risk_mlp")[0], "D-", color=ln.get_color(), ms=4, lw=0.9,
                           mfc="none", label=f"2-layer ReLU net trained on the prompt, d={d}")
            if len(kst):
                ax[0].plot(kst, curve(g, "risk_krr_raw")[0], "s--", color=ln.get_color(), ms=4,
                           label=f"KRR raw x, poly-{cfg.krr_degree}, d={d}")
                ax[0].plot(kst, curve(g, "risk_krr_s")[0], "^:", color=ln.get_color(), ms=4, alpha=0.7,
                           label=f"KRR on P_S x (oracle), d={d}")
            ax[0].axvline(theory.poly_dim(d, q), color=ln.get_color(), lw=0.8, ls="-.", alpha=0.7)
            ax[1].plot(stars, curve(g, "abs_tf")[0], "o-", color=ln.get_color(), label=f"d={d}")
        ax[0].plot([], [], "k-.", lw=0.8, label=f"KRR threshold dim Poly_{q}(R^d) = C(d+{q - 1},{q})")
        ax[0].set(xscale="log", yscale="log", xlabel="test prompt length N*", ylabel="MSE vs f* / Var f*",
                  title=f"ICL risk, r = {cfg.r}, link {cfg.link}")
        ax[0].set_xscale("log", base=2)
        ax[0].set_ylim(1e-3, 3)
        ax[0].legend(fontsize=6.5, loc="lower left")
        ax[1].set(xscale="log", xlabel="N*", ylabel="E|f - y| - tau", title="the paper's risk (eq. 2.1)")
        ax[1].set_xscale("log", base=2)
        ax[1].legend()
        fig.suptitle(f"icl-lowdim/transformer ({resolved.preset}): curves collapse across d; raw KRR needs N* ~ d^Q")
        fig2, bx = subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
        for d, g in groups.items():
            col = COLORS.get(d)
            bx[0].hist(stack(g, "align").ravel(), bins=40, range=(0, 1), histtype="step", color=col, lw=1.4,
                       label=f"d={d}: median {np.median(stack(g, 'align')):.2f}")
            bx[0].axvline(theory.random_alignment(d, cfg.r), color=col, ls=":", lw=1)
            bx[0].axvline(min(2 * theory.random_alignment(d, cfg.r), 1.0), color=col, ls="--", lw=1)
        bx[0].plot([], [], "k:", label="random sqrt(r/d)")
        bx[0].plot([], [], "k--", label="claim A2: 2 sqrt(r/d)")
        bx[0].set(xlabel="|P_S w_j| / |w_j| after Stage I", ylabel="neurons", title="feature alignment (A2)")
        bx[0].legend(fontsize=7)
        d0 = min(groups)
        g = groups[d0]
        pred, ratio, cos = stack(g, "lemma_pred").ravel(), stack(g, "lemma_ratio").ravel(), stack(g, "lemma_cos").ravel()
        top = pred >= np.median(pred)
        sc = bx[1].scatter(pred, pred * ratio, c=cos, s=6, cmap="viridis", vmin=0, vmax=1)
        lim = [np.percentile(pred, 10) * 0.5, max(pred.max(), (pred * ratio).max()) * 1.5]
        bx[1].plot(lim, lim, "k-", lw=1, label="Lemma 21 (measured = formula)")
        bx[1].set_xlim(lim)
        bx[1].set_ylim(lim)
        bx[1].axvline(np.median(pred), color="0.5", ls=":", lw=1, label="median: A1 uses neurons to the right")
        bx[1].set(xscale="log", yscale="log", xlabel="|g_j| predicted (Lemma 21)", ylabel="|g_j| measured",
                  title=f"Stage-I gradient, d = {d0}: median cos (top half) {np.median(cos[top]):.3f}")
        fig2.colorbar(sc, ax=bx[1], label="cos(measured, formula)")
        bx[1].legend(fontsize=7)
    return {"icl_risk": fig, "features": fig2}


# ---------------------------------------------------------------------------------------
# presets (spec sizes)

def _stage1(t1: int, n1: int, chunk: int = 50) -> dict:
    return dict(n1=n1, t1_chunk=chunk, t1_chunks=t1 // chunk)


SMOKE = tl.Preset(
    base=dict(d=8, r=2, m=100, t2=300, n2=64, n_val=50, n_test=50, krr_prompts=25, n_star_min=32, n_star_max=128,
              krr_max=128, mlp_max=128, mlp_prompts=25, mlp_steps=100, cg_iters=128, **_stage1(2000, 100)),
    seeds=1, note="d = 8, m = 100, T_1 = 2000: seconds", untested={"*": "smoke sizes"})
CPU = tl.Preset(
    base=dict(r=2, m=400, t2=2000, n2=256, link="h2", tau=0.0, cg_iters=128, n_test=1000),
    cells=(dict(label="d=16", d=16, **_stage1(20_000, 200)),
           dict(label="d=32", d=32, **_stage1(130_000, 520))),
    seeds=1,
    note="He_2/sqrt2, r = 2, m = 400, T_2 = 2000, N_2 = 256; Stage I at Theorem 1's sizes without polylogs "
         "(T_1 >= d^3 r^2, T_1 N_1 >= d^5 r): d = 16: T_1 = 2e4, T_1 N_1 = 4e6 (theorem 1.6e4, 2.1e6); d = 32: "
         "T_1 = 1.3e5, T_1 N_1 = 6.8e7 (1.3e5, 6.7e7), which aligns the d = 32 features as well as d = 16's (A3's "
         "premise); 1000 test prompts, KRR on 100; one seed; Lemma 21 (A1) is checked at d = 16; the prompt-trained "
         "two-layer net (A6) on the first 100 test prompts at N* <= 512")
PAPER = tl.Preset(
    base=dict(r=2, m=8000, t2=3000, n2=512, link="h2", tau=0.0, n_test=1000, krr_prompts=200, mlp_prompts=200,
              cg_iters=512),
    cells=(dict(label="d=32 (Fig. 3)", d=32, **_stage1(100_000, 10_000, chunk=2)),
           dict(label="d=16", d=16, **_stage1(100_000, 10_000, chunk=2))),
    seeds=3,
    note="Fig. 3 of arXiv:2411.02544: He_2, d = 32, r = 2, m = 8000, T_1 = 1e5, N_1 = 1e4, T_2 = 3000, N_2 = 512 "
         "(their lambda_2 = 0.1 under SGD; here exact dual ridge, penalty on validation); plus d = 16 at the same "
         "budget; GPU",
    untested={"A1": "the Lemma-21 check needs a small-d cell (cpu preset)"})

EXPERIMENT = tl.Experiment(
    name="icl-lowdim/transformer",
    summary="Oko et al. 2024 (arXiv:2411.02544): MLP + linear attention pretrained by one gradient step + ridge "
            "learns r-dim single-index tasks in context at a prompt length free of d; raw kernel ridge needs ~d^Q",
    config=Config, problem=PROBLEM, presets={"smoke": SMOKE, "cpu": CPU, "paper": PAPER},
    claims=claims, figures=figures)

EXPERIMENTS = (EXPERIMENT,)
