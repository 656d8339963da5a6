"""Figure 2 of "High-dimensional Asymptotics of Feature Learning: How One Gradient Step Improves
the Representation" (NeurIPS 2022; arXiv:2205.01445):
first-layer weights trained by gradient descent to a small training loss, seen in the plane
of the teacher's directions, under the mean-field and the NTK scaling.

Setting (the figure's: d = 512, psi_1 = n/d = psi_2 = N/d = 10, ReLU student, GD until the
training loss is below 1e-3; the rest is ours, the caption does not give it [U]):

* teacher: two ReLU neurons, f*(x) = relu(<u_1, x>) + relu(<u_2, x>), u_1 _|_ u_2 unit vectors
  drawn per run, x ~ N(0, I_d), noise-free labels on n training points;
* student: f(x) = N^-gamma a^T relu(W^T x), W [d, N] with sqrt(d) W_ij ~ N(0, 1) and
  sqrt(N) a_j ~ N(0, 1) (``models.two_layer.init``), a frozen (the paper trains only W
  throughout); gamma = 1/2 is the paper's mean-field model, gamma = 0 the NTK scaling (the
  1/sqrt(N) prefactor dropped);
* full-batch GD on W for the MSE (1/n) sum (f(x_i) - y_i)^2 with step eta N^(2 gamma): the
  tangent kernel lr * sum_j |df/dw_j|^2 is then O(1) in both scalings (the function moves at
  the same speed), while a neuron's own step is O(1) under mean field and O(1/sqrt(N)) under
  NTK scaling: mean-field neurons travel O(1) towards the teacher's directions (feature
  learning), NTK neurons stay where they started (lazy training).

Experiment one-step/trajectories: each neuron's projection (<w_j, u_1>, <w_j, u_2>) over
training, for both scalings; claims on how far the projections move.
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
from theorylab.models import two_layer
from theorylab.plots.style import paper_style, subplots
from theorylab.store.shards import final_rows

MEAN_FIELD, NTK = 0.5, 0.0  # gamma of the two scalings


@dataclasses.dataclass(frozen=True)
class Config:
    d: int = tl.param(64, "input dimension", static=True, lo=2)
    psi1: float = tl.param(10.0, "training samples per dimension n / d", static=True, lo=0.0, lo_open=True)
    psi2: float = tl.param(10.0, "width per dimension N / d", static=True, lo=0.0, lo_open=True)
    n_test: int = tl.param(2000, "test samples for the test risk", static=True, lo=1)
    n_show: int = tl.param(200, "neurons whose projections are logged (the figure's trajectories)", static=True,
                           lo=1)
    steps: int = tl.param(2000, "GD step budget", static=True, lo=1)
    log_every: int = tl.param(10, "GD steps between log points", static=True, lo=1)
    gamma: float = tl.param(MEAN_FIELD, "output prefactor N^-gamma: 0.5 = mean field (the paper's model), "
                                        "0 = NTK scaling", lo=0.0, hi=0.5)
    eta: float = tl.param(0.1, "step size prefactor: the GD step on W is eta N^(2 gamma) (the paper's is not "
                                "given; 0.1 keeps the paths close to gradient flow)", lo=0.0, lo_open=True)
    target: float = tl.param(1e-3, "stop a run once its training MSE is below this", lo=0.0, lo_open=True)

    @property
    def n(self) -> int:
        return int(round(self.psi1 * self.d))

    @property
    def width(self) -> int:
        return int(round(self.psi2 * self.d))

    def check(self) -> None:
        for name, v in (("psi1", self.psi1), ("psi2", self.psi2)):
            if abs(v * self.d - round(v * self.d)) > 1e-6 or round(v * self.d) < 2:
                raise tl.ConfigError(f"Config.{name} = {v:g}: {name} * d = {v * self.d:g} must be an integer >= 2")
        if self.n_show > self.width:
            raise tl.ConfigError(f"Config.n_show = {self.n_show} exceeds the width N = psi2 * d = {self.width}")


def teacher_directions(key: jax.Array, d: int) -> jax.Array:
    """[d, 2]: two orthonormal directions (Gram-Schmidt on two Gaussian vectors; no LAPACK call)."""
    g = jax.random.normal(key, (d, 2))
    u1 = g[:, 0] / jnp.linalg.norm(g[:, 0])
    v = g[:, 1] - (g[:, 1] @ u1) * u1
    return jnp.stack([u1, v / jnp.linalg.norm(v)], axis=1)


def teacher(x: jax.Array, u: jax.Array) -> jax.Array:
    """[n]: f*(x) = relu(<u_1, x>) + relu(<u_2, x>) for x [n, d], u [d, 2]."""
    return jnp.sum(jax.nn.relu(x @ u), axis=1)


def setup(key, cfg):
    """-> (W_0 [d, N], data): a [N] frozen, u [d, 2], train (x [n, d], y [n]), test (x_test, y_test),
    W_0 (for the displacement)."""
    ku, kx, kt, kinit = jax.random.split(key, 4)
    u = teacher_directions(ku, cfg.d)
    w0, a = two_layer.init(kinit, cfg.d, cfg.width)
    x = jax.random.normal(kx, (cfg.n, cfg.d))
    xt = jax.random.normal(kt, (cfg.n_test, cfg.d))
    return w0, dict(w0=w0, a=a, u=u, x=x, y=teacher(x, u), x_test=xt, y_test=teacher(xt, u))


def predict(w, data, cfg, x):
    """[n]: N^-gamma a^T relu(W^T x) (two_layer.apply carries the mean-field 1/sqrt(N))."""
    return two_layer.apply(w, data["a"], x, "relu") * jnp.power(float(cfg.width), 0.5 - cfg.gamma)


def loss(w, data, cfg, key):
    del key
    return jnp.mean((predict(w, data, cfg, data["x"]) - data["y"]) ** 2)


def optimizer(cfg):
    return optax.sgd(cfg.eta * jnp.power(float(cfg.width), 2 * cfg.gamma))


def observe(w, data, cfg):
    """loss (training MSE), test_risk, proj_move = mean_j |U^T (w_j - w_j(0))| (the projected
    displacement), move = mean_j |w_j - w_j(0)|, alignment = mean over the neurons with a_j > 0 of
    |U^T w_j| / |w_j|, the cosine between w_j and the teacher plane (sqrt(pi / (2 d)) on average at
    initialisation); proj [n_show, 2] = U^T w_j and
    a_scaled [n_show] = sqrt(N) a_j of the first n_show neurons (the figure)."""
    u = data["u"]
    p = w.T @ u  # [N, 2]
    dp = (w - data["w0"]).T @ u
    cos_plane = jnp.linalg.norm(p, axis=1) / (jnp.linalg.norm(w, axis=0) + 1e-30)
    pos = data["a"] > 0
    alignment = jnp.sum(jnp.where(pos, cos_plane, 0.0)) / jnp.maximum(jnp.sum(pos), 1)
    return dict(
        loss=loss(w, data, cfg, None),
        test_risk=jnp.mean((predict(w, data, cfg, data["x_test"]) - data["y_test"]) ** 2),
        proj_move=jnp.mean(jnp.linalg.norm(dp, axis=1)),
        move=jnp.mean(jnp.linalg.norm(w - data["w0"], axis=0)),
        alignment=alignment,
        proj=p[: cfg.n_show],
        a_scaled=data["a"][: cfg.n_show] * math.sqrt(cfg.width),
    )


PROBLEM = tl.Problem(setup=setup, loss=loss, observe=observe, optimizer=optimizer,
                     stop_below=lambda cfg: cfg.target)


# ---------------------------------------------------------------------------------------
# analysis

def scaling_name(gamma: float) -> str:
    return {MEAN_FIELD: "mean-field", NTK: "NTK"}.get(float(gamma), f"gamma={gamma:g}")


def run_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: its final log point (stop step, loss, test risk, displacements)."""
    out = final_rows(df).reset_index(drop=True)
    out["scaling"] = [scaling_name(g) for g in out["gamma"]]
    return out


def claims(df: pd.DataFrame, resolved) -> list[tl.Claim]:
    runs = run_table(df)
    out: list[tl.Claim] = []
    for (d, psi1, psi2), g in runs.groupby(["d", "psi1", "psi2"]):
        sfx = f" [d={d}, psi1={psi1:g}, psi2={psi2:g}]"
        width = int(round(psi2 * d))
        conv = g["stop_reason"].eq("converged")
        out.append(tl.Claim(
            "T1-fits" + sfx, "GD reaches training MSE < target in every run, in both scalings",
            "every run converged", ", ".join(f"{s}: {int(c.sum())}/{len(c)} (steps {int(st.min())}-{int(st.max())})"
                                             for s, c, st in ((s, sub["stop_reason"].eq("converged"), sub["stop_step"])
                                                              for s, sub in g.groupby("scaling"))),
            "all runs", bool(conv.all()), "the figure's runs stop at training loss < 1e-3"))
        mf, ntk = g[g["gamma"] == MEAN_FIELD], g[g["gamma"] == NTK]
        if len(mf) == 0 or len(ntk) == 0:
            out.append(tl.Claim.missing("T2-moves" + sfx, "mean-field vs NTK displacement", "a scaling has no runs"))
            continue
        m_mf, m_ntk = float(mf["proj_move"].median()), float(ntk["proj_move"].median())
        out.append(tl.Claim(
            "T2-mean-field-moves" + sfx, "mean-field neurons move O(1) in the teacher plane: the median over runs of "
            "mean_j |U^T (w_j(T) - w_j(0))| is >= 0.5 (the initial projections have norm ~ sqrt(2/d))",
            ">= 0.5", f"{m_mf:.3f} (runs {', '.join(f'{v:.3f}' for v in mf['proj_move'])})", ">= 0.5",
            bool(m_mf >= 0.5), f"initial projection norm ~ {math.sqrt(2 / d):.3f}; mean-field test risk {mf['test_risk'].median():.4f}"))
        ratio = m_mf / m_ntk if m_ntk > 0 else float("inf")
        out.append(tl.Claim(
            "T3-ntk-lazy" + sfx, "NTK neurons barely move: the mean projected displacement under NTK scaling is a "
            "factor >= 5 below the mean-field one (lazy training; it shrinks as N grows)",
            "mean-field / NTK >= 5", f"{ratio:.1f} (NTK median {m_ntk:.4f}; runs "
            + ", ".join(f"{v:.4f}" for v in ntk["proj_move"]) + ")", ">= 5", bool(ratio >= 5),
            f"N = {width}; full displacement mean_j |w_j(T) - w_j(0)|: mean-field {mf['move'].median():.3f}, "
            f"NTK {ntk['move'].median():.4f}; measured NTK projected displacement 0.057 at N = 640, 0.034 at "
            "N = 1280 (d = 64, 128)"))
        a_mf, a_ntk = float(mf["alignment"].median()), float(ntk["alignment"].median())
        init = math.sqrt(math.pi / (2 * d))  # E |U^T w| / |w| for a uniformly random direction, large d
        out.append(tl.Claim(
            "T4-teacher-plane" + sfx, "under mean field the neurons with a_j > 0 turn into the teacher plane (mean "
            "over them of the cosine |U^T w_j| / |w_j| >= 3 x its initial value sqrt(pi / 2d)); under NTK scaling they "
            "keep nearly their initial directions (<= 1.5 x the initial value)",
            f">= {3 * init:.3f} vs <= {1.5 * init:.3f}", f"{a_mf:.3f} vs {a_ntk:.3f}", "as stated",
            bool(a_mf >= 3 * init and a_ntk <= 1.5 * init),
            f"medians over runs; initial value sqrt(pi / 2d) = {init:.3f} (the mean over a_j > 0 includes neurons "
            "with small a_j, which move little under either scaling)"))
        r_mf, r_ntk = float(mf["test_risk"].median()), float(ntk["test_risk"].median())
        out.append(tl.Claim(
            "T5-generalises" + sfx, "with both fitted to the same training loss, the mean-field network has the "
            "smaller test risk (it learned the teacher's directions; the NTK one interpolates with its initial features)",
            "R(mean-field) < R(NTK)", f"{r_mf:.4f} vs {r_ntk:.4f}", "strict, medians over runs", bool(r_mf < r_ntk),
            "test risk E(f - f*)^2 on n_test fresh points; E f*^2 = 1 + 1/pi = 1.318"))
    return out


# ---------------------------------------------------------------------------------------
# figures

def figures(df: pd.DataFrame, resolved) -> dict:
    out = {}
    for i, ((d, psi1, psi2), g) in enumerate(df.groupby(["d", "psi1", "psi2"])):
        sfx = "" if i == 0 else f"-{i}"
        out["trajectories" + sfx] = _trajectory_figure(g, d, psi1, psi2)
        out["movement" + sfx] = _movement_figure(g, d, psi1, psi2)
    return out


def _first_run(g: pd.DataFrame, gamma: float) -> pd.DataFrame | None:
    sub = g[g["gamma"] == gamma]
    if sub.empty:
        return None
    rid = sub.sort_values("seed")["run_id"].iloc[0]
    return sub[sub["run_id"] == rid].sort_values("step")


def _paths(run: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """([T, n_show, 2] projections over the run's log points, [n_show] sqrt(N) a_j)."""
    proj = np.stack([np.asarray(v).reshape(-1, 2) for v in run["proj"]])
    return proj, np.asarray(run["a_scaled"].iloc[0])


def _draw(ax, proj, a, title):
    for j in range(proj.shape[1]):
        color = "C3" if a[j] > 0 else "C0"
        ax.plot(proj[:, j, 0], proj[:, j, 1], "-", color=color, lw=0.5, alpha=0.5)
    ax.plot(proj[0, :, 0], proj[0, :, 1], ".", color="grey", ms=2, label="start")
    pos = a > 0
    ax.plot(proj[-1, pos, 0], proj[-1, pos, 1], "o", color="C3", ms=2.5, label="end, $a_j > 0$")
    ax.plot(proj[-1, ~pos, 0], proj[-1, ~pos, 1], "o", color="C0", ms=2.5, label="end, $a_j < 0$")
    ax.plot([1, 0], [0, 1], "k*", ms=12, label="teacher $u_1$, $u_2$")
    ax.axhline(0, color="grey", lw=0.4)
    ax.axvline(0, color="grey", lw=0.4)
    ax.set(xlabel="$\\langle w_j, u_1 \\rangle$", ylabel="$\\langle w_j, u_2 \\rangle$", title=title)
    ax.set_aspect("equal", adjustable="box")


def _trajectory_figure(g, d, psi1, psi2):
    with paper_style():
        fig, axes = subplots(1, 3, figsize=(15, 5.8), constrained_layout=True)
        mf, ntk = _first_run(g, MEAN_FIELD), _first_run(g, NTK)
        lim = None
        if mf is not None:
            proj, a = _paths(mf)
            _draw(axes[0], proj, a, f"mean-field ($N^{{-1/2}}$ prefactor)\nstopped at step {int(mf['stop_step'].iloc[0])}")
            lim = (axes[0].get_xlim(), axes[0].get_ylim())
            axes[0].legend(fontsize=7, loc="upper right")
        if ntk is not None:
            proj, a = _paths(ntk)
            _draw(axes[1], proj, a, f"NTK scaling (prefactor dropped), same axes\nstopped at step "
                                    f"{int(ntk['stop_step'].iloc[0])}")
            if lim is not None:
                axes[1].set_xlim(*lim[0])
                axes[1].set_ylim(*lim[1])
            _draw(axes[2], proj, a, "NTK scaling, zoomed")
            r = 1.15 * float(np.abs(proj).max())
            axes[2].set_xlim(-r, r)
            axes[2].set_ylim(-r, r)
        fig.suptitle(f"one-step/trajectories (Fig. 2 of arXiv:2205.01445): first-layer weights projected on the "
                     f"teacher plane during GD to training MSE < 1e-3\nReLU teacher with 2 neurons, ReLU student, "
                     f"d = {d}, $\\psi_1$ = {psi1:g}, $\\psi_2$ = {psi2:g}; first {int(g['n_show'].iloc[0])} "
                     f"neurons of one run (red: $a_j > 0$, blue: $a_j < 0$)")
    return fig


def _movement_figure(g, d, psi1, psi2):
    with paper_style():
        fig, axes = subplots(1, 2, figsize=(11, 4), constrained_layout=True)
        for gamma, color in ((MEAN_FIELD, "C3"), (NTK, "C0")):
            sub = g[g["gamma"] == gamma]
            for k, (_, run) in enumerate(sub.groupby("run_id")):
                run = run.sort_values("step")
                lab = scaling_name(gamma) if k == 0 else None
                axes[0].plot(run["step"], run["proj_move"], "-", color=color, lw=1, label=lab)
                axes[1].plot(run["step"], run["loss"], "-", color=color, lw=1, label=lab)
        axes[0].axhline(math.sqrt(2 / d), color="grey", ls=":", lw=1, label="initial projection norm $\\sqrt{2/d}$")
        axes[0].set(yscale="log", xlabel="GD step", ylabel="mean$_j$ $|U^\\top (w_j(t) - w_j(0))|$",
                    title="projected displacement (one line per run)")
        axes[1].axhline(float(g["target"].iloc[0]), color="grey", ls="--", lw=1, label="stop")
        right = 1.1 * float(g["stop_step"].max())
        for ax in axes:
            ax.set_xlim(0, right)
        axes[1].set(yscale="log", xlabel="GD step", ylabel="training MSE", title="training loss")
        for ax in axes:
            ax.legend(fontsize=7)
        fig.suptitle(f"one-step/trajectories: d = {d}, $\\psi_1$ = {psi1:g}, $\\psi_2$ = {psi2:g}")
    return fig


# ---------------------------------------------------------------------------------------
# presets

SCALINGS = (dict(gamma=MEAN_FIELD), dict(gamma=NTK))

SMOKE = tl.Preset(base=dict(d=16, n_test=200, n_show=40, eta=0.5, steps=400, log_every=10), cells=SCALINGS, seeds=1,
                  note="d = 16, n = N = 160: seconds", untested={"*": "one run per scaling at d = 16"})
CPU = tl.Preset(base=dict(d=64, steps=4000, log_every=5), cells=SCALINGS, seeds=4,
                note="d = 64 (the paper: 512), psi_1 = psi_2 = 10 (n = N = 640), both scalings, GD to MSE < 1e-3, 4 runs "
                     "each; keeps the figure's ratios, teacher, activation and stopping rule")
PAPER = tl.Preset(base=dict(d=512, steps=6000, log_every=10, n_show=300), cells=SCALINGS, seeds=3,
                  note="Fig. 2 of arXiv:2205.01445: d = 512, psi_1 = psi_2 = 10 (n = N = 5120), GD to MSE < 1e-3, "
                       "mean-field vs NTK scaling; 3 runs each (the figure shows one)")

EXPERIMENT = tl.Experiment(
    name="one-step/trajectories",
    summary="arXiv:2205.01445 Fig. 2: under mean-field scaling GD moves the first-layer weights O(1) "
            "towards the teacher's directions; under NTK scaling they barely move",
    config=Config, problem=PROBLEM, presets={"smoke": SMOKE, "cpu": CPU, "paper": PAPER},
    claims=claims, figures=figures)

EXPERIMENTS = (EXPERIMENT,)
