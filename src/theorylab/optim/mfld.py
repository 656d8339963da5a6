"""Mean-field Langevin dynamics (MFLD): noisy gradient descent of a particle system.

For particles X = (x_1..x_N) [N, p] and F(mu_X) written on the particle matrix (the engine's
loss), one step with step size eta and temperature lam is

    x_j <- x_j - eta grad_x dF/dmu(mu_X, x_j) + sqrt(2 lam eta) xi_j,      xi_j ~ N(0, I_p) i.i.d.,

with grad_x dF/dmu(mu_X, x_j) = N dF(mu_X)/dx_j (the mean-field scaling: autodiff of the
finite-N objective times N). lam = 0 is the particle Wasserstein gradient flow (plain GD in
mean-field scaling). References: Suzuki, Wu & Nitanda, "Convergence of mean-field Langevin
dynamics: time and space discretization, stochastic gradient, and variance reduction"
(arXiv:2306.07221), and its minibatch variant SGD-MFLD: F's data average over a fresh size-B
batch every step (``minibatch``).

Design (optim/probes.py): the engine hands the loss a fresh key every step and the optimizer
none, so ``langevin_loss`` draws xi from the step key and passes it through the gradient of a
zero "noise" probe; ``mfld`` reads it. The loss value and the particle gradient are exactly
those of F; the update is exactly the line above (tests/test_mean_field_blocks.py checks it
against a per-particle reference).

    params = init(x0)                                   # {"x": x0, "probe": {"noise": 0}}
    loss   = langevin_loss(F_of)                        # F_of(x, data, cfg, key) -> F(mu_X)
    opt    = mfld(cfg.lr, cfg.temperature)
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from theorylab.optim.probes import probe_term, with_probes, zero_like

NOISE = "noise"


def init(x0: jax.Array) -> dict[str, Any]:
    """Engine parameters of an MFLD run: the particles x0 [N, p] and a zero noise probe."""
    return with_probes(x0, {NOISE: x0})


def split_step_key(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The step key -> (key for the objective, e.g. a minibatch; key of the Langevin noise xi)."""
    k_obj, k_noise = jax.random.split(key)
    return k_obj, k_noise


def langevin_loss(objective: Callable[..., jax.Array]) -> Callable[..., jax.Array]:
    """The engine's ``loss(params, data, cfg, key)`` of MFLD on F.

    objective(x [N, p], data, cfg, key) -> F(mu_X) (``key``: for a stochastic objective such as
    a minibatch; ignore it otherwise). Value = F; grad["x"] = dF/dX; grad["probe"]["noise"] =
    xi ~ N(0, I) [N, p] drawn from the step key (``split_step_key``)."""

    def loss(params, data, cfg, key):
        k_obj, k_noise = split_step_key(key)
        x = params["x"]
        xi = jax.random.normal(k_noise, x.shape, x.dtype)
        return objective(x, data, cfg, k_obj) + probe_term(params["probe"], {NOISE: xi})

    return loss


class MFLDState(NamedTuple):
    pass


def mfld(lr, temperature) -> optax.GradientTransformation:
    """x <- x - lr N dF/dx + sqrt(2 temperature lr) xi (lr, temperature: scalars, may be traced).

    Reads grads["x"] = dF(mu_X)/dX [N, p] and grads["probe"]["noise"] = xi [N, p]; the
    probes get a zero update."""

    def init_fn(params):
        return MFLDState()

    def update_fn(grads, state, params=None):
        n = grads["x"].shape[0]
        step = -lr * n * grads["x"] + jnp.sqrt(2 * temperature * lr) * grads["probe"][NOISE]
        updates = zero_like(grads)
        updates["x"] = step
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)


def minibatch(key: jax.Array, n: int, b: int) -> jax.Array:
    """[b] int: indices of a uniform size-b subset of range(n), without replacement (b <= n)."""
    if b >= n:
        return jnp.arange(n)
    return jax.random.permutation(key, n)[:b]


__all__ = ["NOISE", "init", "langevin_loss", "mfld", "minibatch", "split_step_key"]
