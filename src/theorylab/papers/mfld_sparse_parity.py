"""Feature learning via mean-field Langevin dynamics: classifying sparse parities and beyond
(Suzuki, Wu, Oko & Nitanda, NeurIPS 2023; OpenReview tj86aGVNb3).

A mean-field two-layer network trained by MFLD learns the 2-sparse parity y = sign(z_1 z_2) of
z uniform on {+-1/sqrt(d)}^d from n = O~(d) samples (the degree k leaves the exponent of d),
while any rotation-invariant kernel method needs n = Omega(d^k) = Omega(d^2). The paper's
figure is a heat map of test accuracy over (d, n), 5 trials.

Setting (paper, as quoted by its reviewers): width N = 2000, neuron
h_x(z) = Rbar [tanh(z^T x1 + x2) + 2 tanh(x3)] / 3 with Rbar = 15, logistic loss. Not given:
lam, lam1, eta, T, the (d, n) grid. Toolkit defaults: lam1 = 0.2 / d and lam = 0.02 / d
(r = x^2; at d = 20 the spec prototype's lam1 = 1e-2, lam = 1e-3), eta = 0.2, particles ~ N(0, I),
continuous time t = eta T = 10 d.

Why lam1 and lam scale as 1/d. The coordinates are z_i = +-1/sqrt(d), so a neuron that reads
z_1 z_2 needs first-layer weights of order sqrt(d) on both: its L2 cost lam1 |x1|^2 ~ 2 lam1 d.
At a fixed lam1 that cost outgrows the logistic loss it saves (at most log 2) as d grows: with
lam1 = 1e-2 and N = 2000 the network stayed at chance at d = 100 and 200 for every n <= 4000
(stationary from t = 200; relevant and other weights equal). The Gibbs measure of the d - 2
irrelevant coordinates has variance lam / (2 lam1) each, which is also the variance of their sum
in z^T x1 (sum_i z_i^2 = 1); scaling lam with lam1 keeps that noise fixed in d. With both scaled,
seed-0 runs with N = 500 reach test accuracy 0.97 at (d, n) = (100, 1000) and (200, 2000).
Baseline: kernel ridge regression with k(z, z') = exp(3 <z, z'>) and ridge 1e-3 n on +-1 labels
(models/kernel_ridge.py, evaluated outside the program).

Experiment:
  mfld/sparse-parity  test accuracy over (d, n); the 90%-accuracy sample size n*(d) for MFLD and
                      kernel ridge, with the lines n = c d and n = c' d^2 through them
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from theorylab.analysis import absent_cells, final_rows
from theorylab.data.mean_field_teacher import sparse_parity
from theorylab.experiment import Claim, ConfigError, Experiment, Preset, Problem, Resolved, param
from theorylab.models import kernel_ridge
from theorylab.models import mean_field_net as net
from theorylab.models.mean_field import particle_mean
from theorylab.optim import mfld
from theorylab.plots.style import paper_style, subplots

TARGET_ACC = 0.9


@dataclasses.dataclass(frozen=True)
class Config:
    d: int = param(20, "input dimension", static=True, lo=2)
    n: int = param(400, "training samples", static=True, lo=1)
    n_test: int = param(1000, "test samples", static=True, lo=1)
    N: int = param(100, "particles (neurons)", static=True, lo=1)
    k: int = param(2, "parity degree: y = prod_{i <= k} sign(z_i)", static=True, lo=1)
    steps: int = param(1000, "MFLD steps (the toolkit default: eta T = 10 d)", static=True, lo=1)
    log_every: int = param(100, "steps between recorded observables (divides steps)", static=True, lo=1)
    # values (dynamic)
    lr: float = param(0.2, "step size eta", lo=0.0, lo_open=True)
    temperature_d: float = param(0.02, "temperature times d: lam = temperature_d / d", lo=0.0)
    lam1_d: float = param(0.2, "L2 weight times d: lam1 = lam1_d / d, the weight of E |x|^2", lo=0.0)
    rbar: float = param(15.0, "output scale Rbar of the neuron", lo=0.0, lo_open=True)

    @property
    def temperature(self):
        return self.temperature_d / self.d

    @property
    def lam1(self):
        return self.lam1_d / self.d

    def check(self) -> None:
        if self.k > self.d:
            raise ConfigError(f"Config.k = {self.k} must be <= d = {self.d}")


def setup(key, cfg):
    k_init, k_train, k_test = jax.random.split(key, 3)
    z, y = sparse_parity(k_train, cfg.n, cfg.d, cfg.k)
    zt, yt = sparse_parity(k_test, cfg.n_test, cfg.d, cfg.k)
    x0 = jax.random.normal(k_init, (cfg.N, cfg.d + 2))
    return mfld.init(x0), dict(z=z, y=y, z_test=zt, y_test=yt)


def _logistic(m):
    return jnp.logaddexp(0.0, -m)


def objective(x, data, cfg, key):
    """F = mean_i log(1 + exp(-y_i f(z_i))) + lam1 E |x|^2."""
    f = net.outputs("parity", x, data["z"], cfg.rbar)
    return jnp.mean(_logistic(data["y"] * f)) + cfg.lam1 * particle_mean(net.ridge(x, "x2"))


def observe(params, data, cfg):
    x = params["x"]
    m = data["y"] * net.outputs("parity", x, data["z"], cfg.rbar)
    mt = data["y_test"] * net.outputs("parity", x, data["z_test"], cfg.rbar)
    w = jnp.abs(x[:, : cfg.d])  # first-layer weights x1 [N, d]
    return dict(
        train_loss=jnp.mean(_logistic(m)),
        train_acc=jnp.mean(m > 0),
        test_acc=jnp.mean(mt > 0),
        w_relevant=jnp.mean(w[:, : cfg.k]),
        w_other=jnp.mean(w[:, cfg.k:]),
    )


PROBLEM = Problem(setup=setup, loss=mfld.langevin_loss(objective), observe=observe,
                  optimizer=lambda cfg: mfld.mfld(cfg.lr, cfg.temperature))


# ---------------------------------------------------------------------------------------
# analysis


def threshold_n(ns: np.ndarray, acc: np.ndarray, target: float = TARGET_ACC) -> float:
    """n*: the sample size where accuracy first reaches ``target``, interpolated linearly in
    log n between the grid points around the first crossing; NaN if never reached, ns[0] if
    reached already at the smallest n."""
    ns, acc = np.asarray(ns, float), np.asarray(acc, float)
    above = np.nonzero(acc >= target)[0]
    if not len(above):
        return float("nan")
    i = above[0]
    if i == 0:
        return float(ns[0])
    a0, a1 = acc[i - 1], acc[i]
    frac = (target - a0) / (a1 - a0)
    return float(np.exp(np.log(ns[i - 1]) + frac * (np.log(ns[i]) - np.log(ns[i - 1]))))


def mfld_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per (d, n): final test / train accuracy (mean over seeds), relevant and other weights."""
    fin = final_rows(df)
    fin = fin.assign(ratio=fin["w_relevant"] / fin["w_other"])
    return fin.groupby(["d", "n"], as_index=False)[["test_acc", "train_acc", "ratio"]].mean()


KRR_SCALE, KRR_RIDGE = 3.0, 1e-3  # spec prototype's kernel exp(3 <z, z'>), ridge 1e-3 n


@functools.lru_cache(maxsize=8)
def krr_table(ds: tuple, ns: tuple, seeds: int, n_test: int, k: int) -> pd.DataFrame:
    """Per (d, n): kernel ridge test accuracy, mean over seeds (numpy, outside the program;
    cached: claims and figures of one run directory ask for the same table)."""
    rows = []
    for d in ds:
        for n in ns:
            accs = []
            for s in range(seeds):
                kz, kt = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(1234 + s), d * 100003 + n))
                z, y = (np.asarray(a) for a in sparse_parity(kz, n, d, k))
                zt, yt = (np.asarray(a) for a in sparse_parity(kt, n_test, d, k))
                accs.append(kernel_ridge.accuracy(z, y, zt, yt, scale=KRR_SCALE, ridge=KRR_RIDGE * n))
            rows.append(dict(d=d, n=n, test_acc=float(np.mean(accs))))
    return pd.DataFrame(rows)


def _krr_ns(resolved: Resolved) -> list[int]:
    """The kernel baseline's n grid: the MFLD grid, doubled on until it reaches min(2 d_max^2, 8192)
    (its n* ~ d^2; spec prototype: n* ~ 1080 at d = 40). The last value can be up to twice that:
    the paper grid ends at 16,000, a 2 GB float64 matrix (0.5 GB at 8192)."""
    ns = sorted({c.n for _, c in resolved.cells})
    d_max = max(c.d for _, c in resolved.cells)
    while ns[-1] < min(2 * d_max**2, 8192):
        ns.append(2 * ns[-1])
    return ns


def thresholds(table: pd.DataFrame) -> dict[int, float]:
    return {int(d): threshold_n(g["n"].to_numpy(), g["test_acc"].to_numpy())
            for d, g in table.sort_values("n").groupby("d")}


def _exponent(th: dict[int, float]) -> float:
    ds = np.array([d for d, v in th.items() if np.isfinite(v)], float)
    vs = np.array([v for v in th.values() if np.isfinite(v)], float)
    return float(np.polyfit(np.log(ds), np.log(vs), 1)[0]) if len(ds) >= 2 else float("nan")


def _analysis(df: pd.DataFrame, resolved: Resolved) -> dict:
    b = resolved.base
    mt = mfld_table(df)
    ds = sorted(mt["d"].unique())
    kt = krr_table(tuple(int(d) for d in ds), tuple(_krr_ns(resolved)), resolved.seeds, b.n_test, b.k)
    return dict(mfld=mt, krr=kt, th_mfld=thresholds(mt), th_krr=thresholds(kt))


def claims(df: pd.DataFrame, resolved: Resolved) -> list[Claim]:
    missing = absent_cells(df, [lab for lab, _ in resolved.cells])
    if missing:
        return [Claim.missing("cells", "every cell of the grid has results", f"no rows for {missing[:5]}")]
    a = _analysis(df, resolved)
    th, thk = a["th_mfld"], a["th_krr"]
    out = []
    per_d = {d: v / d for d, v in th.items()}
    finite = [v for v in per_d.values() if np.isfinite(v)]
    spread = max(finite) / min(finite) if len(finite) == len(per_d) and finite else float("nan")
    out.append(Claim(
        "linear-in-d", "the MFLD sample size for 90% test accuracy grows linearly in d: n*(d) / d within a "
        "factor 2.5 over the grid's d", "max / min of n*/d <= 2.5",
        "n* " + ", ".join(f"d={d}: {v:.0f}" for d, v in th.items()) + f"; n*/d spread {spread:.2f}",
        "factor 2.5", bool(np.isfinite(spread) and spread <= 2.5),
        "spec prototype n* ~ 80, 160, 580 (380 with N = 200, t = 1600) at d = 10, 20, 40"))
    e_m, e_k = _exponent(th), _exponent(thk)
    out.append(Claim(
        "exponent-vs-kernel", "the fitted exponent of n* against d is smaller for MFLD than for kernel ridge by "
        "at least 0.3", "MFLD < KRR - 0.3 (theory: 1 vs 2; spec prototype 1.1-1.4 vs 1.8)",
        f"MFLD {e_m:.2f}, KRR {e_k:.2f}; KRR n* " + ", ".join(f"d={d}: {v:.0f}" for d, v in thk.items()),
        "0.3", bool(np.isfinite(e_m) and np.isfinite(e_k) and e_m < e_k - 0.3)))
    mt = a["mfld"]
    big = mt[mt["n"] >= 20 * mt["d"]]
    worst = float(big["test_acc"].min()) if len(big) else float("nan")
    out.append(Claim(
        "accuracy-at-20d", "with n >= 20 d samples MFLD reaches test accuracy >= 0.95", ">= 0.95 at every (d, n >= 20 d)",
        f"min {worst:.3f} over {len(big)} cells", "hard threshold", bool(np.isfinite(worst) and worst >= 0.95)))
    fin = final_rows(df)
    good = fin[fin["test_acc"] >= TARGET_ACC]
    ratio = (good["w_relevant"] / good["w_other"])
    r_min = float(ratio.min()) if len(good) else float("nan")
    out.append(Claim(
        "feature-learning", "runs that learn the parity (test acc >= 0.9) put their first-layer weight on the "
        "2 relevant coordinates: mean |w| relevant / other >= 5", ">= 5 in every such run",
        f"min {r_min:.1f}, median {float(ratio.median()) if len(good) else float('nan'):.1f} over {len(good)} runs",
        "5", bool(np.isfinite(r_min) and r_min >= 5), "spec prototype 2.28 / 0.18 = 12.7 (d = 20, n = 400)"))
    return out


def figures(df: pd.DataFrame, resolved: Resolved) -> dict:
    a = _analysis(df, resolved)
    mt, kt = a["mfld"], a["krr"]
    ds = sorted(mt["d"].unique())
    with paper_style():
        fig, axes = subplots(1, 3, figsize=(17, 4.6), constrained_layout=True)
        for ax, (tab, title) in zip(axes[:2], ((mt, "MFLD"), (kt, "kernel ridge exp(3<z,z'>)"))):
            piv = tab.pivot(index="n", columns="d", values="test_acc").sort_index()
            im = ax.imshow(piv.to_numpy(), origin="lower", aspect="auto", cmap="viridis", vmin=0.5, vmax=1.0)
            ax.set_xticks(range(len(piv.columns)), [str(d) for d in piv.columns])
            ax.set_yticks(range(len(piv.index)), [str(n) for n in piv.index])
            for i in range(piv.shape[0]):
                for j in range(piv.shape[1]):
                    v = piv.to_numpy()[i, j]
                    if np.isfinite(v):
                        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                                color="w" if v < 0.8 else "k")
            fig.colorbar(im, ax=ax, fraction=0.05, label="test accuracy")
            ax.set_xlabel("d")
            ax.set_ylabel("n")
            ax.set_title(f"{title}: test accuracy ({resolved.seeds} seeds)")
        ax = axes[2]
        dd = np.geomspace(min(ds) / 1.3, max(ds) * 1.3, 50)
        for th, label, color, power in ((a["th_mfld"], "MFLD", "C3", 1), (a["th_krr"], "kernel ridge", "C0", 2)):
            x = np.array([d for d, v in th.items() if np.isfinite(v)], float)
            y = np.array([v for v in th.values() if np.isfinite(v)], float)
            ax.plot(x, y, "o", color=color, label=f"{label}: n* (90% test acc.), slope {_exponent(th):.2f}")
            if len(x):
                c = float(np.exp(np.mean(np.log(y) - power * np.log(x))))
                ax.plot(dd, c * dd**power, "--", color=color, lw=1,
                        label=f"n = {c:.3g} d" + ("" if power == 1 else f"^{power}") + " (theory's rate)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(ds, [str(d) for d in ds])
        ax.minorticks_off()
        ax.set_xlabel("d")
        ax.set_ylabel("n*")
        ax.set_title("sample size for 90% test accuracy")
        ax.legend(fontsize=7)
        b = resolved.base
        per_d = sorted({(c.d, c.N, c.steps * c.lr) for _, c in resolved.cells})
        sizes = "; ".join(f"d={d}: N={n}, t={t:g}" for d, n, t in per_d)
        fig.suptitle(f"mfld/sparse-parity ({resolved.preset}): 2-sparse parity, Rbar={b.rbar:g}, eta={b.lr:g}, "
                     f"lam={b.temperature_d:g}/d, lam1={b.lam1_d:g}/d; {sizes}")
    return {"sparse_parity": fig}


def _cells(ds, ns, time_of_d, lr, width_of_d=None):
    out = []
    for d in ds:
        steps = int(round(time_of_d(d) / lr))
        log_every = steps // 10 if steps % 10 == 0 else steps
        extra = {} if width_of_d is None else dict(N=width_of_d(d))
        out += [dict(label=f"d={d} n={n}", d=d, n=n, steps=steps, log_every=log_every, **extra) for n in ns]
    return tuple(out)


SMOKE = Preset(base=dict(N=50, n_test=200, lr=0.2), cells=_cells((10,), (50, 200), lambda d: 60.0, 0.2),
               seeds=1, note="seconds: d = 10, n in {50, 200}, N = 50, 300 steps", untested={"*": "one d, 300 steps"})
# cpu: the spec's preset with its option for d = 40 (N = 200, t = 1600 instead of the spec's
# N = 100, t = 1000). At the old fixed lam1 = 1e-2 the spec's setting was optimisation-limited
# (train accuracy 0.87 at n = 400, in the spec's prototype and here: n*(40) = 606). At the 1/d
# defaults it reads test 0.77 / 0.87 at n = 200 and 0.93 / 1.0 at n = 400 (seeds 0 / 1; train
# 0.97-1.0), t = 10 d = 400 reads 0.66 at n = 200 (seed 0), and the option gives n*(40) = 193.
CPU = Preset(base=dict(N=100, n_test=1000, lr=0.2),
             cells=_cells((10, 20, 40), (25, 50, 100, 200, 400, 800), lambda d: 10.0 * d if d <= 20 else 1600.0, 0.2,
                          lambda d: 100 if d <= 20 else 200),
             seeds=2, note="d in {10, 20, 40}, n = 25 ... 800, eta = 0.2; N = 100, t = 10 d for d <= 20; "
             "N = 200, t = 1600 for d = 40 (the spec's option for its N = 100, t = 1000)")
PAPER = Preset(base=dict(N=2000, n_test=2000, lr=0.2),
               cells=_cells((25, 50, 100, 200), (125, 250, 500, 1000, 2000, 4000), lambda d: 10.0 * d, 0.2),
               seeds=5, note="N = 2000, Rbar = 15, 5 trials; the (d, n) grid, lam, lam1 and T are not given by the "
               "paper (toolkit: d up to 200, n up to 20 d_max, t = 10 d, lam1 = 0.2 / d, lam = 0.02 / d); "
               "3.7 h on 2 CPU cores, as measured")

SPARSE_PARITY = Experiment(
    name="mfld/sparse-parity",
    summary="2-sparse parity: MFLD's sample size for 90% accuracy grows ~ d, kernel ridge's ~ d^2 (NeurIPS 2023)",
    config=Config,
    problem=PROBLEM,
    presets={"smoke": SMOKE, "cpu": CPU, "paper": PAPER},
    claims=claims,
    figures=figures,
)

EXPERIMENTS = (SPARSE_PARITY,)
