"""How Do Nonlinear Transformers Learn and Generalize in In-Context Learning? (Li, Wang, Lu,
Cui, Chen; ICML 2024; arXiv:2402.15607).

A one-layer single-head transformer, softmax attention of the query over the context pairs
followed by a ReLU perceptron with fixed +-1/sqrt(m) readout,

    F(P) = a^T ReLU(W_O sum_{i<=l} W_V p_i softmax_i((W_K p_i)^T W_Q p_q))

(models/vit_template.py with the query as the only output token and the contexts as the only
keys), trained by SGD on the hinge loss over prompts of M1 binary tasks (data/pattern_prompts.py;
B fresh prompts per step). The theory: it generalizes in context to unseen in-domain tasks and
out of domain once the coefficient sum S1 >= 1; attention concentrates on contexts that share
the query's relevant pattern; l_ts >= 1/alpha'; pruning small W_O rows costs little, pruning a
fraction R of large ones costs Omega(R).

No full text or code is available: M1 = 6, M2 = 24, alpha = 0.8, l = 20 follow a third-party
summary of the paper; kappa, the init (W_Q = W_K = W_V = I, W_O ~ N(0, 0.01^2)), m = 64,
B = 64, eta = 0.5, 600 steps, the training tasks and the OOD construction are calibrated
toolkit defaults (the toolkit's pattern-token spec and its prototype), not the paper's.

Experiments:
  icl-patterns/generalize   unseen in-domain tasks, OOD error vs S1, error vs (alpha', l_ts), pruning
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from theorylab.analysis import absent_cells, final_rows, stack, trajectories
from theorylab.analysis.crossing import crossing
from theorylab.data import pattern_prompts as pp
from theorylab.experiment import Claim, ConfigError, Experiment, Preset, Problem, Resolved, param
from theorylab.models import token_mlp, vit_template
from theorylab.plots.style import paper_style, subplots
from theorylab.plots.trajectories import band

SIZES_NOTE = ("M1 = 6, M2 = 24, alpha = 0.8, l = 20 per a third-party summary; kappa, init, m, B, eta, steps, the "
              "training tasks and the OOD construction are calibrated toolkit defaults (the toolkit's pattern-token "
              "spec), not the paper's: no full text or code of arXiv:2402.15607 is available")

S1_GRID = (0.4, 0.6, 0.8, 1.0, 1.2, 1.5)  # OOD coefficient sums
ALPHA_GRID = (0.4, 0.6, 0.8)  # test fractions alpha'
LTS_GRID = (5, 10, 20, 40)  # test context lengths
PRUNE_GRID = (0.0, 0.1, 0.2, 0.3, 0.5)  # fractions of W_O rows pruned
PRUNE_S1 = 1.2  # pruning is measured out of domain at this S1 (the prototype's)


@dataclasses.dataclass(frozen=True)
class Config:
    m1: int = param(6, "in-domain relevant patterns M1 (even)", static=True, lo=4)
    m2: int = param(24, "in-domain irrelevant patterns M2 (dx = M1 + M2)", static=True, lo=1)
    l: int = param(20, "context pairs per training prompt", static=True, lo=1)
    m: int = param(64, "perceptron width (rows of W_O)", static=True, lo=2)
    batch: int = param(64, "fresh training prompts per SGD step", static=True, lo=1)
    n_test: int = param(500, "prompts per test set", static=True, lo=2)
    steps: int = param(600, "SGD steps", static=True, lo=1)
    log_every: int = param(50, "steps between recorded observables (divides steps)", static=True, lo=1)
    alpha: float = param(0.8, "training fraction of contexts carrying the task's patterns", lo=0.0, hi=1.0)
    alpha_test: float = param(0.8, "alpha' of the unseen-task and OOD test sets", lo=0.0, hi=1.0)
    kappa: float = param(0.5, "irrelevant coefficient kappa ~ U[-kappa, kappa]", lo=0.0)
    lr: float = param(0.5, "SGD step size eta", lo=0.0, lo_open=True)
    c: float = param(1.0, "init W_Q = W_K = c I (W_V = I)", lo=0.0)
    xi: float = param(0.01, "init std of W_O", lo=0.0)

    def check(self) -> None:
        if self.m1 % 2:
            raise ConfigError(f"Config.m1 = {self.m1} must be even (OOD patterns pair the IDR patterns)")


def _d(cfg) -> int:
    return cfg.m1 + cfg.m2 + 1  # token = (x; y)


def _test(key, n, l, relevant, irrelevant, tasks, alpha, cfg) -> pp.Prompts:
    return pp.sample(key, n, l, relevant=relevant, irrelevant=irrelevant, tasks=tasks, alpha=alpha,
                     kappa_max=cfg.kappa)


def setup(key, cfg: Config):
    """params W_Q, W_K, W_V [D, D], W_O [m, D]; data: the test sets (unseen tasks; OOD per S1;
    the (alpha', l_ts) grid), all drawn once per run."""
    ks = jax.random.split(key, 4)
    params = vit_template.init(ks[0], _d(cfg), cfg.m, c_qk=cfg.c, eps0=0.0, xi=cfg.xi)
    idr, idi = pp.in_domain_patterns(cfg.m1, cfg.m2)
    unseen = jnp.asarray(pp.other_tasks(cfg.m1, pp.train_tasks(cfg.m1)))
    ood_tasks = jnp.asarray(pp.other_tasks(cfg.m1 // 2))
    ood = [_test(k, cfg.n_test, cfg.l, *pp.ood_patterns(cfg.m1, cfg.m2, s1), ood_tasks, cfg.alpha_test, cfg)
           for k, s1 in zip(jax.random.split(ks[1], len(S1_GRID)), S1_GRID)]
    grid = [_test(jax.random.fold_in(ks[2], i), cfg.n_test, lt, idr, idi, unseen, al, cfg)
            for i, (al, lt) in enumerate((al, lt) for al in ALPHA_GRID for lt in LTS_GRID)]
    data = dict(a=token_mlp.readout_signs(cfg.m), unseen=_test(ks[3], cfg.n_test, cfg.l, idr, idi, unseen,
                                                               cfg.alpha_test, cfg), ood=ood, grid=grid)
    return params, data


def query_attention(p, tokens):
    """[n, l]: the query's attention over the contexts (the query is no key)."""
    keep = jnp.arange(tokens.shape[-2]) < tokens.shape[-2] - 1
    return vit_template.attention_weights(p, tokens, jnp.broadcast_to(keep, tokens.shape[:-1]))[..., -1, :-1]


def forward(p, a, tokens):
    """F(P) [n] for prompts tokens [n, l+1, D]."""
    h = jnp.einsum("nl,nld->nd", query_attention(p, tokens), tokens[..., :-1, :]) @ p["w_v"].T
    return token_mlp.readout(p["w_o"], a, h[:, None, :])


def _hinge_err(p, a, s: pp.Prompts):
    out = forward(p, a, s.tokens)
    return jnp.mean(token_mlp.hinge_loss(s.z * out)), jnp.mean(jnp.sign(out) != s.z)


def loss(params, data, cfg, key):
    """Mean hinge over B fresh prompts of the training tasks (a new draw every step)."""
    idr, idi = pp.in_domain_patterns(cfg.m1, cfg.m2)
    s = pp.sample(key, cfg.batch, cfg.l, relevant=idr, irrelevant=idi, tasks=jnp.asarray(pp.train_tasks(cfg.m1)),
                  alpha=cfg.alpha, kappa_max=cfg.kappa)
    return jnp.mean(token_mlp.hinge_loss(s.z * forward(params, data["a"], s.tokens)))


def observe(params, data, cfg):
    a, un = data["a"], data["unseen"]
    h, e = _hinge_err(params, a, un)
    att = query_attention(params, un.tokens)
    ood = [_hinge_err(params, a, s) for s in data["ood"]]
    grid = [_hinge_err(params, a, s)[1] for s in data["grid"]]
    prune_set = data["ood"][S1_GRID.index(PRUNE_S1)]
    pr = {side: [_hinge_err(dict(params, w_o=token_mlp.prune_rows(params["w_o"], r, largest=side == "large")),
                            a, prune_set) for r in PRUNE_GRID] for side in ("small", "large")}
    return dict(id_hinge=h, id_error=e, attn_same=jnp.mean(jnp.sum(att * un.same, axis=-1)),
                ood_hinge=jnp.stack([o[0] for o in ood]), ood_error=jnp.stack([o[1] for o in ood]),
                grid_error=jnp.stack(grid),
                prune_small_hinge=jnp.stack([x[0] for x in pr["small"]]),
                prune_large_hinge=jnp.stack([x[0] for x in pr["large"]]),
                prune_small_error=jnp.stack([x[1] for x in pr["small"]]),
                prune_large_error=jnp.stack([x[1] for x in pr["large"]]),
                wo_norms=jnp.sqrt(jnp.sum(params["w_o"] ** 2, axis=1)))


PROBLEM = Problem(setup=setup, loss=loss, observe=observe)

BASE = dict(m1=6, m2=24, l=20, m=64, batch=64, n_test=500, steps=600, log_every=50, alpha=0.8, alpha_test=0.8,
            kappa=0.5, lr=0.5, c=1.0, xi=0.01)
CPU = Preset(base=BASE, seeds=3, note="M1 = 6, M2 = 24, l = 20, m = 64, B = 64, eta = 0.5, 600 SGD steps")
PAPER = Preset(base=dict(BASE, n_test=2000), seeds=10,
               note="the summary's sizes with 10 seeds and larger test sets (the GPT-2 variant is not built)")
SMOKE = Preset(base=dict(BASE, m1=4, m2=8, l=8, m=16, batch=16, n_test=32, steps=50, log_every=25), seeds=1,
               note="seconds; checks the plumbing, not the science", untested={"*": "50 steps at M1 = 4"})


def _final(df: pd.DataFrame) -> pd.DataFrame:
    return final_rows(df)


def _l_star(err_row: np.ndarray, level: float = 0.015) -> float:
    """The l_ts where the error first falls to ``level`` (log-interpolated; nan if never)."""
    c = crossing(LTS_GRID, err_row, level, log_x=True)
    return float("nan") if c is None else (float(LTS_GRID[0]) if err_row[0] <= level else c)


def claims(df: pd.DataFrame, resolved: Resolved) -> list[Claim]:
    ids = ("unseen-tasks", "attention", "ood-s1", "length-alpha", "pruning")
    lost = absent_cells(df, [lab for lab, _ in resolved.cells])
    if lost:
        return [Claim.missing(i, i, "the runs failed") for i in ids]
    fin = _final(df)
    out = []
    e = fin["id_error"].mean()
    out.append(Claim.in_range("unseen-tasks", f"error on the {len(pp.other_tasks(6, pp.train_tasks(6)))} unseen "
                              "in-domain tasks after training on M1 tasks (alpha' = 0.8, l_ts = 20)", e, 0.0, 0.02,
                              predicted="<= 0.02 (Theorem: in-domain generalization)", note=SIZES_NOTE))
    first = df[df["step"] == 0]["attn_same"].mean()
    last = fin["attn_same"].mean()
    out.append(Claim("attention", "attention mass of the query on contexts sharing its pattern rises and ends high",
                     "rise >= 0.15, end >= 0.8", f"{first:.3f} -> {last:.3f}", "both", bool(last - first >= 0.15
                                                                                           and last >= 0.8)))
    ood = stack(fin, "ood_error").mean(0)
    mono = bool(np.all(np.diff(ood) <= 0.01))
    i06, i15 = S1_GRID.index(0.6), S1_GRID.index(1.5)
    out.append(Claim("ood-s1", "out-of-domain error falls with the coefficient sum S1: >= 10 % at S1 = 0.6, <= 2 % "
                     "at 1.5", "decreasing; small once S1 >~ 1", ", ".join(f"{s}: {v:.3f}" for s, v in zip(S1_GRID, ood)),
                     "monotone (0.01 noise), ood(0.6) >= 0.10, ood(1.5) <= 0.02",
                     bool(mono and ood[i06] >= 0.10 and ood[i15] <= 0.02),
                     "S1 also sets the pattern norm in this construction"))
    grid = stack(fin, "grid_error").mean(0).reshape(len(ALPHA_GRID), len(LTS_GRID))
    mono_l = bool(np.all(np.diff(grid, axis=1) <= 0.01))
    mono_a = bool(np.all(np.diff(grid, axis=0) <= 0.01))
    ls = [_l_star(r) for r in grid]
    ratio = ls[0] / ls[-1]
    out.append(Claim("length-alpha", "error falls with l_ts and with alpha'; l_ts*(0.4) / l_ts*(0.8) (error <= 1.5 %)",
                     "l_ts* ~ 1/alpha': ratio 2", f"ratio {ratio:.2f} (l* = " + ", ".join(f"{a}: {v:.1f}" for a, v in
                                                                                       zip(ALPHA_GRID, ls)) + ")",
                     "monotone (0.01 noise); ratio in [1.5, 4]", bool(mono_l and mono_a and 1.5 <= ratio <= 4)))
    small, large = stack(fin, "prune_small_hinge").mean(0), stack(fin, "prune_large_hinge").mean(0)
    rs = [i for i, r in enumerate(PRUNE_GRID) if r >= 0.2]
    gap = large[rs] - small[rs]
    cheap = abs(small[PRUNE_GRID.index(0.1)] - small[0])
    out.append(Claim("pruning", f"pruning W_O rows (OOD S1 = {PRUNE_S1}): largest-first costs more than smallest-first; "
                     "pruning 10 % smallest costs little", "gap >= 0.03 at R >= 0.2; |change| <= 0.02 at R = 0.1",
                     "small-first " + "/".join(f"{v:.3f}" for v in small) + ", large-first "
                     + "/".join(f"{v:.3f}" for v in large) + f" (R = {PRUNE_GRID})", "hinge loss, seed means",
                     bool(np.all(gap >= 0.03) and cheap <= 0.02)))
    return out


def figures(df: pd.DataFrame, resolved: Resolved) -> dict:
    fin = _final(df)
    with paper_style():
        fig, axes = subplots(1, 5, figsize=(24, 4.2), constrained_layout=True)
        ax = axes[0]
        for col, lab in (("id_error", "unseen-task error"), ("attn_same", "attention on same-pattern contexts")):
            s, v = trajectories(df, col, by="run_id")
            band(ax, s, v, label=lab)
        ax.set_xlabel("SGD step"), ax.set_title("in-domain generalization"), ax.legend()
        ax = axes[1]
        ood = stack(fin, "ood_error")
        ax.errorbar(S1_GRID, ood.mean(0), yerr=ood.std(0), fmt="o-", capsize=3, label="measured")
        ax.axvline(1.0, color="r", ls=":", label="theory: small once S1 >= 1")
        ax.set_xlabel("coefficient sum S1"), ax.set_ylabel("OOD error"), ax.set_title("out of domain"), ax.legend()
        ax = axes[2]
        grid = stack(fin, "grid_error").mean(0).reshape(len(ALPHA_GRID), len(LTS_GRID))
        for al, row in zip(ALPHA_GRID, grid):
            ax.plot(LTS_GRID, np.maximum(row, 1e-4), "o-", label=f"alpha' = {al}")
        ls8 = _l_star(grid[-1])
        for al in ALPHA_GRID:
            if np.isfinite(ls8):
                ax.axvline(ls8 * ALPHA_GRID[-1] / al, color="gray", ls=":", lw=1)
        ax.axhline(0.015, color="k", lw=0.8)
        ax.set_xscale("log"), ax.set_yscale("log")
        ax.set_xlabel("test context length l_ts"), ax.set_ylabel("error (floor 1e-4)")
        ax.set_title("l_ts* ~ 1/alpha' (dotted: theory from alpha' = 0.8)"), ax.legend()
        ax = axes[3]
        for side in ("small", "large"):
            h = stack(fin, f"prune_{side}_hinge")
            ax.errorbar(PRUNE_GRID, h.mean(0), yerr=h.std(0), fmt="o-", capsize=3, label=f"{side}est rows first")
        ax.set_xlabel("fraction R of W_O rows pruned"), ax.set_ylabel(f"OOD test hinge (S1 = {PRUNE_S1})")
        ax.set_title("magnitude pruning"), ax.legend()
        ax = axes[4]
        ax.hist(stack(fin, "wo_norms").ravel(), bins=30)
        ax.set_xlabel("|W_O row|"), ax.set_title("W_O row norms (all seeds)")
        fig.suptitle(f"icl-patterns/generalize ({resolved.preset}): M1 = {resolved.base.m1}, M2 = {resolved.base.m2}, "
                     f"l = {resolved.base.l}, m = {resolved.base.m}, {resolved.seeds} seeds. Sizes: a summary's "
                     "M1, M2, alpha, l; the rest calibrated toolkit defaults (pattern-token spec), not the paper's.")
    return {"generalize": fig}


GENERALIZE = Experiment(
    name="icl-patterns/generalize",
    summary="One-layer nonlinear transformer, ICL over pattern prompts: unseen tasks, OOD vs S1, l_ts vs alpha', "
            "magnitude pruning. " + SIZES_NOTE,
    config=Config,
    problem=PROBLEM,
    presets={"smoke": SMOKE, "cpu": CPU, "paper": PAPER},
    claims=claims,
    figures=figures,
)

EXPERIMENTS = (GENERALIZE,)
