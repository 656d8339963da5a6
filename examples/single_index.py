"""Online SGD on a Hermite single-index teacher (Ben Arous, Gheissari, Jagannath 2021, arXiv:2003.10409):
weak recovery takes ~ d^(k-1) fresh samples at information exponent k >= 3, d log d at k = 2, d at k = 1.

x ~ N(0, I_d), y = He_k(<beta, x>) (normalised Hermite), beta = e_1 (WLOG); student He_k(<w, x>), |w| = 1, w_0
uniform on the half-sphere m_0 = <w_0, beta> >= 0 (WLOG for even k, BAGJ's m_0 > 0 for odd k); one fresh sample
per step, loss (y - yhat)^2 / 2, spherical SGD w <- (w - lr P_w grad) / |.|. To leading order in d (population
loss 1 - m^k; |P_w grad|^2 ~ C_k d, C_2 = 12, C_3 = 96) the overlap m = <w, beta> moves by
    m' - m = lr k m^(k-1) (1 - m^2) - lr^2 d C_k m / 2 + lr O(1) noise:
from m_0 ~ d^-1/2 the drift wins iff lr < ~m_0^(k-2) / d. So lr = c_lr d^-max(1, k/2), and T_1/2 (first step with
|m| >= 1/2) ~ m_0^(2-k) / lr ~ d^(k-1), d log d, d. Claim: the slope of log T_1/2 against log d is the slope of the
noiseless ODE's T_1/2 from m_0 = d^-1/2 over the same d (k - 1 up to finite-d terms; 1.23 at k = 2, d = 64..1024)."""
import dataclasses, math
import jax, jax.numpy as jnp, numpy as np, optax, pandas as pd
from matplotlib.figure import Figure
import theorylab as tl

@dataclasses.dataclass(frozen=True)
class Config:
    d: int = tl.param(256, "input dimension (a shape: static)", static=True, lo=2)
    k: int = tl.param(2, "information exponent: teacher and student link He_k", static=True, lo=1, hi=6)
    steps: int = tl.param(16384, "SGD steps = fresh samples", static=True, lo=1)
    log_every: int = tl.param(64, "steps between log points (resolves T_1/2)", static=True, lo=1)
    c_lr: float = tl.param(0.1, "lr = c_lr d^-max(1, k/2); < 1/3 at k = 2, < ~1/16 at k = 3", lo=0, lo_open=True)

def lr(d, k, c_lr):  # a static power of d times the dynamic c_lr
    return c_lr * d ** -max(1.0, k / 2)

def hermite(k, z):  # He_k(z) / sqrt(k!), k static
    return jnp.polyval(np.polynomial.hermite_e.herme2poly(np.eye(k + 1)[k])[::-1] / math.sqrt(math.factorial(k)), z)

def setup(key, cfg):  # -> (w [d] uniform on the half-sphere w[0] >= 0, no data: samples are drawn per step)
    w = jax.random.normal(key, (cfg.d,)).at[0].apply(jnp.abs)
    return w / jnp.linalg.norm(w), {}

def loss(w, data, cfg, key):  # one fresh sample x [d] ~ N(0, I_d) from this step's key
    x = jax.random.normal(key, (cfg.d,))
    return 0.5 * (hermite(cfg.k, x[0]) - hermite(cfg.k, w @ x)) ** 2

def spherical_sgd(lr):  # w <- (w - lr (g - <g, w> w)) / |.|, as an optax transformation
    def update(g, state, w):
        v = w - lr * (g - (g @ w) * w)
        return v / jnp.linalg.norm(v) - w, state
    return optax.GradientTransformation(lambda w: optax.EmptyState(), update)

PROBLEM = tl.Problem(setup, loss, observe=lambda w, data, cfg: {"m": w[0]},
                     optimizer=lambda cfg: spherical_sgd(lr(cfg.d, cfg.k, cfg.c_lr)))

def t_ode(d, k, c_lr):  # time of the noiseless ODE m' = lr k m^(k-1) (1 - m^2) from m_0 = d^-1/2 to 1/2
    m = np.geomspace(d ** -0.5, 0.5, 4000)
    return np.trapezoid(1 / (lr(d, k, c_lr) * k * m ** (k - 1) * (1 - m * m)), m)

def per_cell(df, resolved):  # (k, c_lr, d) -> medians over seeds of t = T_1/2 and fin = final |m|
    runs = df.groupby("run_id")[["k", "c_lr", "d"]].first()  # T_1/2: first logged step with |m| >= 1/2, inf: never
    runs["t"] = df[df.m.abs() >= 0.5].groupby("run_id").step.min().astype(float).reindex(runs.index, fill_value=np.inf)
    runs["fin"] = df[df.step == df.steps].set_index("run_id").m.abs()
    cells = pd.DataFrame([dict(k=c.k, c_lr=c.c_lr, d=c.d) for _, c in resolved.cells])  # NaN: every run diverged
    return cells.merge(runs.groupby(["k", "c_lr", "d"])[["t", "fin"]].median().reset_index(), how="left")

def claims(df, resolved):
    out, med = [], per_cell(df, resolved)
    for (k, c), g in (kg for kg in med.groupby(["k", "c_lr"]) if len(kg[1]) > 1):  # a slope needs two d
        slope = np.polyfit(np.log(g.d), np.log(g.t), 1)[0] if g.t.lt(np.inf).all() else np.inf
        pred = np.polyfit(np.log(g.d), np.log([t_ode(d, k, c) for d in g.d]), 1)[0]
        out.append(tl.Claim.close(
            f"slope-k{k}" + (f"-c_lr{c:g}" if med.c_lr.nunique() > 1 else ""), f"T_1/2 ~ d^(k-1) (d log d at k = 2): "
            f"slope of log median T_1/2 vs log d, d = {list(g.d)}", slope, pred, rel=0.12, note="12%: random start and"
            " SGD noise move the slope by +-0.12 with 8 seeds at k = 2, by +-0.5 with 16 seeds at k = 3"))
    return out + [tl.Claim.in_range("recovery", "median final |m| >= 0.9 in every cell", med.fin.min(skipna=False),
                                    0.9, 1.0)]

def figures(df, resolved):
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    a, b = fig.subplots(1, 2)
    for (k, d), g in df.groupby(["k", "d"]):
        q = g.m.abs().groupby(g.step).quantile([.1, .5, .9]).unstack().rename(lambda s: s / d ** max(1, k - 1))
        a.fill_between(q.index, q[.1], q[.9], alpha=.2, color=a.plot(q[.5], label=f"k={k}, d={d}")[0].get_color())
    a.set(xscale="log", xlabel="steps / d^max(1, k-1)", ylabel="|m|: median, 10-90% of seeds", title="overlap")
    for (k, c), g in per_cell(df, resolved).groupby(["k", "c_lr"]):
        th = np.array([t_ode(d, k, c) for d in g.d])
        b.loglog(g.d, g.t, "o", label=f"k={k}, c_lr={c:g}: median T_1/2")
        b.loglog(g.d, th * np.exp(np.mean(np.log(g.t / th))), "k--", label="noiseless ODE x a fitted constant")
    b.set(xlabel="d", ylabel="T_1/2 (steps)", title="weak-recovery time"), a.legend(), b.legend()
    return {"overlap": fig}

def cells(k, c_lr, ds, n):  # steps = n d^max(1, k-1), a few times T_1/2; 256 log points
    return tuple(dict(k=k, c_lr=c_lr, d=d, steps=n * d ** max(1, k - 1), log_every=n * d ** max(1, k - 1) // 256)
                 for d in ds)

EXPERIMENT = tl.Experiment(
    name="example/single-index", summary="weak recovery of a Hermite single-index teacher by online SGD",
    config=Config, problem=PROBLEM, claims=claims, figures=figures, presets={
        "smoke": tl.Preset({}, cells(2, 0.1, (32, 64), 64), seeds=4, untested={"slope-k2": "two small d"}),
        "cpu": tl.Preset({}, cells(2, 0.1, (64, 128, 256, 512, 1024), 64), seeds=32, note="k = 2, 20 s"),
        "paper": tl.Preset({}, cells(2, 0.1, (256, 1024, 4096), 64) + cells(3, 0.01, (16, 32, 64, 128), 128),
                           seeds=128, note="our sizes (the paper has no simulation): k = 2 and 3; ~20 min on 2 cores")})
