"""On the role of label noise in the feature learning process (Han, Huang, Zhou, Niu, Chen, Yan,
Takeda, Suzuki; ICML 2025; arXiv:2505.18909).

The two-layer ReLU CNN of ``models/cnn.py`` trained by full-batch GD on signal-noise data
whose training labels were flipped once, class-conditionally (rates tau_+, tau_-), learns in
two stages: in Stage I it fits the clean samples through the signal and still classifies the
noisy samples by their *true* label (test error small); in Stage II the noise-direction
gradient of the noisy samples wins, they get memorised, and the test error rises. At the end
of Stage I a per-sample loss threshold of log 2 separates clean from noisy samples. Only the
paper's abstract, reviews and figure captions were available to us: every size below is our
choice, made in the spirit of the main run of arXiv:2510.17526 (papers/label_noise_gd.py).

Experiment:
  label-noise-stages/dynamics  max gamma, max rho on clean / noisy samples, accuracies against t
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
import pandas as pd

from theorylab.analysis import absent_cells, trajectories
from theorylab.data import signal_noise
from theorylab.experiment import Claim, ConfigError, Experiment, Preset, Problem, Resolved, param
from theorylab.models import cnn
from theorylab.models.decomposition import decompose, masked_max, masked_mean
from theorylab.models.losses import logistic_loss
from theorylab.plots.style import paper_style, subplots
from theorylab.plots.trajectories import cell_band
from theorylab.theory import signal_noise as theory


@dataclasses.dataclass(frozen=True)
class Config:
    # shapes and switches (static)
    d: int = param(2000, "patch dimension (x = [y mu, xi] in R^{2d})", static=True, lo=2)
    n: int = param(200, "training samples (Rademacher true labels)", static=True, lo=2)
    n_test: int = param(2000, "test samples", static=True, lo=2)
    m: int = param(20, "filters per output sign j = +-1", static=True, lo=1)
    q: int = param(1, "activation max(0, z)^q (the paper: plain ReLU, q = 1)", static=True, choices=cnn.Q_CHOICES)
    steps: int = param(2000, "GD step budget", static=True, lo=1)
    log_every: int = param(20, "steps between recorded observables (divides steps)", static=True, lo=1)
    # values (dynamic)
    mu_norm: float = param(2.0, "signal norm |mu|", lo=0.0, lo_open=True)
    sigma_xi: float = param(0.632, "noise std sigma_xi (xi ~ N(0, sigma_xi^2 I_d))", lo=0.0, lo_open=True)
    sigma0: float = param(0.001, "init std of the filters", lo=0.0, lo_open=True)
    lr: float = param(1.0, "GD step size eta", lo=0.0, lo_open=True)
    tau_pos: float = param(0.1, "flip rate of labels whose true class is +1", lo=0.0, hi=0.5)
    tau_neg: float = param(0.1, "flip rate of labels whose true class is -1", lo=0.0, hi=0.5)

    def check(self) -> None:
        if self.n + 1 > self.d:
            raise ConfigError(f"Config.n = {self.n} must be < d = {self.d} (the gamma/rho decomposition needs n + 1 <= d)")

    def snr(self) -> float:
        return float(theory.snr(self.mu_norm, self.sigma_xi, self.d))


def _sample(key, n, cfg):
    # the paper's data: x = [y mu, xi], signal in patch 1, xi ~ N(0, sigma_xi^2 I_d); observed
    # labels flipped class-conditionally once, before training.
    return signal_noise.sample(key, n, d=cfg.d, mu_norm=cfg.mu_norm, noise_scales=jnp.array([cfg.sigma_xi]),
                               signal="antipodal", orthogonal_noise=False, signal_position="first",
                               labels="rademacher", flip_pos=cfg.tau_pos, flip_neg=cfg.tau_neg)


def setup(key, cfg):
    mu = signal_noise.signal_vectors(cfg.d, cfg.mu_norm, "antipodal")[0]
    return cnn.setup_runs(key, m=cfg.m, d=cfg.d, sigma0=cfg.sigma0, n=cfg.n, n_test=cfg.n_test, mu=mu,
                          sample=lambda k, size: _sample(k, size, cfg))


def loss(w, data, cfg, key):
    del key  # full-batch GD on the fixed (noisy) training labels
    return jnp.mean(logistic_loss(data["y"] * cnn.apply(w, data["x"], cfg.q)))


def observe(w, data, cfg):
    """Accuracies on clean / noisy samples, the log 2 loss rule, and gamma / rho per group.

    A sample is noisy when its observed label differs from its true label. The log 2 rule
    flags a sample as noisy when its loss l(y_i f(x_i)) exceeds log 2, i.e. its margin < 0.
    """
    out = cnn.apply(w, data["x"], cfg.q)  # [n]
    y, y_true = data["y"], data["y_true"]
    noisy, clean = y != y_true, y == y_true
    margin = y * out
    per_loss = logistic_loss(margin)
    flag = per_loss > theory.LN2
    test_out = cnn.apply(w, data["x_test"], cfg.q)
    gamma, rho = decompose(w, data["w0"], data["basis"])
    rho_i = rho.max(axis=(0, 1))  # [n] max_{j,r} rho_{j,r,i}
    hits = jnp.sum(flag & noisy)
    return dict(
        train_loss=jnp.mean(per_loss),
        train_acc=jnp.mean(margin > 0),
        train_acc_clean=masked_mean(margin > 0, clean),
        train_acc_noisy=masked_mean(margin > 0, noisy),  # noisy samples fitted (memorised)
        noisy_true_acc=masked_mean(y_true * out > 0, noisy),  # ... classified by their true label
        train_acc_true=jnp.mean(y_true * out > 0),
        test_acc=jnp.mean(data["y_test_true"] * test_out > 0),
        test_acc_noisy=jnp.mean(data["y_test"] * test_out > 0),
        gamma_max=gamma.max(),
        rho_max_clean=masked_max(rho_i, clean),
        rho_max_noisy=masked_max(rho_i, noisy),
        rho_mean_clean=masked_mean(rho_i, clean),
        rho_mean_noisy=masked_mean(rho_i, noisy),
        ln2_precision=hits / jnp.maximum(flag.sum(), 1),  # 0 when no sample is flagged
        ln2_recall=hits / jnp.maximum(noisy.sum(), 1),
        noisy_frac=jnp.mean(noisy),
    )


PROBLEM = Problem(setup=setup, loss=loss, observe=observe)


# ---------------------------------------------------------------------------------------
# label-noise-stages/dynamics


def stage_one_end(train_acc_true: np.ndarray) -> int:
    """Index of the end of Stage I in one run's log: the last log point (after step 0) where
    the network agrees best with the *true* training labels."""
    v = np.asarray(train_acc_true)[1:]
    return 1 + int(np.flatnonzero(v == v.max())[-1])


def _per_cell(df: pd.DataFrame, cell: str) -> dict:
    """Seed means at the end of Stage I (t1) and at the end of training."""
    steps, true_acc = trajectories(df, "train_acc_true", cell=cell)
    t1 = np.array([stage_one_end(r) for r in true_acc])  # [seeds]
    out = dict(t1_step=float(steps[t1].mean()))
    for col in ("train_acc_clean", "train_acc_noisy", "noisy_true_acc", "test_acc", "ln2_precision",
                "ln2_recall", "gamma_max", "rho_max_noisy", "rho_max_clean"):
        _, v = trajectories(df, col, cell=cell)
        out[col + "@t1"] = float(v[np.arange(len(t1)), t1].mean())
        out[col + "@T"] = float(v[:, -1].mean())
        out[col + "@max"] = float(v[:, 1:].max(axis=1).mean())
    return out


S_STAGE1 = ("end of Stage I: clean samples fitted, noisy samples still classified by their true label, "
            "test accuracy high")
S_STAGE2 = ("Stage II: the noisy samples get memorised (fitted with their flipped label) and the test accuracy "
            "does not recover: it ends at or below its Stage I value")
S_LN2 = "at the end of Stage I the per-sample loss threshold log 2 separates noisy from clean samples"


def claims(df: pd.DataFrame, resolved: Resolved) -> list[Claim]:
    out, drops = [], []
    lost = absent_cells(df, [lab for lab, _ in resolved.cells])
    for cell, cfg in resolved.cells:
        tau = min(cfg.tau_pos, cfg.tau_neg)
        sfx = f"[{cell}]" if len(resolved.cells) > 1 else ""
        if cell in lost:
            why = f"no results for the cell {cell!r}: its runs failed"
            out += [Claim.missing(cid + sfx, st, why) for cid, st in
                    (("stage1-true-labels", S_STAGE1), ("stage2-memorised", S_STAGE2), ("ln2-threshold", S_LN2))]
            continue
        v = _per_cell(df, cell)
        ok1 = v["noisy_true_acc@t1"] >= 0.8 and v["train_acc_clean@t1"] >= 0.95 and v["test_acc@t1"] >= 0.95
        out.append(Claim(
            "stage1-true-labels" + sfx, S_STAGE1,
            "clean train acc >= 0.95, noisy samples by true label >= 0.8, test acc >= 0.95",
            f"step {v['t1_step']:.0f}: clean {v['train_acc_clean@t1']:.3f}, noisy-by-true-label "
            f"{v['noisy_true_acc@t1']:.3f}, test {v['test_acc@t1']:.3f}",
            "thresholds as stated, seed means", bool(ok1),
            "t1 = the last log point where the network agrees best with the true training labels"))
        err_T = 1 - v["test_acc@T"]
        drop = v["test_acc@t1"] - v["test_acc@T"]
        drops.append((min(cfg.tau_pos, cfg.tau_neg), max(cfg.tau_pos, cfg.tau_neg), drop, cell))
        ok2 = v["train_acc_noisy@T"] >= 0.95 and drop >= 0
        out.append(Claim(
            "stage2-memorised" + sfx, S_STAGE2,
            "noisy samples fitted >= 0.95 at the end; final test acc <= test acc at t1",
            f"noisy fitted {v['train_acc_noisy@T']:.3f}; test acc {v['test_acc@t1']:.4f} at t1 -> "
            f"{v['test_acc@T']:.4f} at the end (drop {drop:.4f})",
            "seed means", bool(ok2),
            f"final clean test error {err_T:.4f} vs the theorem's lower bound min(tau)/2 = {tau / 2:.3g} "
            f"({'reached' if err_T >= tau / 2 else 'not reached at this size / step budget'})"))
        ok3 = v["ln2_precision@t1"] >= 0.9 and v["ln2_recall@t1"] >= 0.8
        out.append(Claim(
            "ln2-threshold" + sfx, S_LN2,
            "precision >= 0.9 and recall >= 0.8 of 'loss > log 2' as a detector of flipped labels",
            f"precision {v['ln2_precision@t1']:.3f}, recall {v['ln2_recall@t1']:.3f} at step {v['t1_step']:.0f}; "
            f"at the end {v['ln2_precision@T']:.3f} / {v['ln2_recall@T']:.3f}",
            "thresholds as stated, seed means", bool(ok3)))
    drops.sort()
    if len(drops) >= 2 and drops[-1][0] > drops[0][1]:  # at least two distinct flip-rate levels
        ok4 = drops[-1][2] > 0 and drops[-1][2] >= drops[0][2]
        out.append(Claim(
            "test-drop",
            "the Stage II test-accuracy drop is positive at the largest flip rate and grows with the flip rate",
            "drop(largest tau) > 0 and >= drop(smallest tau)",
            "; ".join(f"{c}: {d:.4f}" for _, _, d, c in drops),
            "strict positivity of the seed mean", bool(ok4),
            "the theorem's test error >= min(tau)/2 is far from reached at these sizes (see stage2-memorised)"))
    return out


PANELS = (
    (r"signal / noise: max $\gamma$, max $\rho$", [("gamma_max", r"max $\gamma$"), ("rho_max_clean", r"max $\rho$ clean"),
                                                ("rho_max_noisy", r"max $\rho$ noisy")]),
    ("training accuracy", [("train_acc_clean", "clean"), ("train_acc_noisy", "noisy (flipped label fitted)"),
                           ("noisy_true_acc", "noisy, by true label")]),
    ("test accuracy", [("test_acc", "clean test labels"), ("test_acc_noisy", "noisy test labels")]),
    ("loss > log 2 as a noisy-label detector", [("ln2_precision", "precision"), ("ln2_recall", "recall")]),
)


def figures(df: pd.DataFrame, resolved: Resolved) -> dict:
    labels = [lab for lab, _ in resolved.cells if lab in set(df["cell"])]
    rows = max(len(labels), 1)
    with paper_style():
        fig, axes = subplots(rows, len(PANELS), figsize=(18, 3.4 * rows), constrained_layout=True, squeeze=False)
        for i, cell in enumerate(labels):
            v = _per_cell(df, cell)
            for j, (title, series) in enumerate(PANELS):
                ax = axes[i, j]
                for col, legend in series:
                    cell_band(ax, df, col, cell=cell, label=legend)
                ax.axvline(v["t1_step"], color="grey", ls="--", lw=1, label="end of Stage I")
                ax.set_xscale("symlog", linthresh=max(resolved.base.log_every, 1))
                ax.set_xlim(left=0)
                if j > 0:  # accuracies and rates
                    ax.set_ylim(-0.05, 1.05)
                ax.set_title(f"{cell}: {title}")
                ax.set_xlabel("GD step (symlog)")
                ax.legend(fontsize=7)
        b = resolved.base
        fig.suptitle(f"label-noise-stages/dynamics ({resolved.preset}): d={b.d}, n={b.n}, m={b.m}, ReLU^{b.q}, "
                     f"|mu|={b.mu_norm:g}, sigma_xi={b.sigma_xi:g}, n SNR^2={b.n * b.snr() ** 2:.2f}, eta={b.lr:g}; "
                     f"mean +- 2 sd over {resolved.seeds} seeds")
    return {"dynamics": fig}


# Our sizes (the paper's were not available): the main run of arXiv:2510.17526, d = 2000,
# n = 200, |mu| = 2, with plain ReLU. sigma_xi = 0.35 gives n SNR^2 = 3.3: at n SNR^2 ~ 1 (our
# first guess) the noisy samples are memorised within a few steps (Stage I is not
# visible), at n SNR^2 >= 6 the memorisation leaves the test accuracy at 1 (no Stage II drop).
BASE = dict(d=2000, n=200, n_test=2000, m=20, q=1, mu_norm=2.0, sigma_xi=0.35, sigma0=0.001, lr=0.2,
            steps=2000, log_every=5)
CELLS = (dict(label="tau=0.1", tau_pos=0.1, tau_neg=0.1), dict(label="tau=0.2", tau_pos=0.2, tau_neg=0.2))
PAPER = Preset(base=BASE, cells=CELLS + (dict(label="tau+=0.1,tau-=0.2", tau_pos=0.1, tau_neg=0.2),), seeds=5,
               note="our choice of sizes (the paper's not available): arXiv:2510.17526's main-run sizes, n SNR^2 = 3.3")
# cpu preset: d = 500 (d / n = 2.5, not 10) with sigma_xi = 0.566 (n SNR^2 = 5). Closer to n,
# the memorised noise reaches the test points: the Stage II drop of test accuracy is ~10x the
# one at d = 2000 (where it is <= 0.01), while Stage I stays visible. 3000 steps finish the
# memorisation; log_every = 2 resolves Stage I, which ends within the first few steps.
CPU = Preset(base=dict(BASE, d=500, sigma_xi=0.566, n_test=1000, m=10, steps=3000, log_every=2), cells=CELLS,
             seeds=2, note="d = 500 (d / n = 2.5), sigma_xi = 0.566 (n SNR^2 = 5), m = 10, 1000 test samples, 2 seeds")
SMOKE = Preset(base=dict(BASE, d=64, n=16, n_test=32, m=4, steps=40, log_every=10), cells=CELLS, seeds=2,
               note="seconds; checks the plumbing, not the science",
               untested={"*": "40 steps at d = 64 with 16 samples: too few noisy samples and steps"})

DYNAMICS = Experiment(
    name="label-noise-stages/dynamics",
    summary="Fixed flipped labels: Stage I (true labels, high test acc) then Stage II (memorisation)",
    config=Config,
    problem=PROBLEM,
    presets={"smoke": SMOKE, "cpu": CPU, "paper": PAPER},
    claims=claims,
    figures=figures,
)

EXPERIMENTS = (DYNAMICS,)
