"""Perturbed Wasserstein gradient flow (PWGF) of a particle system, with its stopping controller.

Yamamoto, Kim & Suzuki, "Hessian-guided perturbed Wasserstein gradient flows for escaping
saddle points" (arXiv:2509.16974); the controller as specified by its finite-sample follow-up
(Kawata, Nitanda & Suzuki, App. C). Particles X [N, p] follow the Wasserstein gradient flow

    dx_j/dt = v(x_j) = -grad_x dF/dmu(mu_X, x_j) = -N dF(mu_X)/dx_j       (Euler step dt, or RK4)

and a controller watches it (every ``insp_every`` steps):

* flowing, and ||v||_{L2(mu_X)} <= eps_g: save (F, X), push every particle
  x_j <- x_j + eta_p xi(x_j), and wait ``wait_steps`` steps;
* at the end of the wait: if F(saved) - F(now) <= f_thr, stop and return the saved pre-jump
  state; otherwise resume flowing.

Perturbations xi (``KINDS``; drawn in the loss from the engine's step key, ``perturbation``):

    "hessian"           xi_i = N^(-1/2) sum_j H(mu_X; x_i, x_j) g_j, g_j ~ N(0, I_p): one exact
                        draw of GP(0, K_mu), K_mu = H^2 (models/mean_field.hessian_kick)
    "isotropic"         xi_i ~ N(0, I_p) independently per particle
    "isotropic-common"  xi_i = xi ~ N(0, I_p), one vector shared by every particle
    "static"            no perturbation and no controller: the plain particle WGF

Design. The loss hands the optimizer F and the candidate perturbation through two zero
probes (optim/probes.py): grads["probe"]["value"] = F(mu_X), grads["probe"]["kick"] = xi.
The controller's state sits beside the particles in the parameter pytree (``params["ctrl"]``,
float leaves with zero gradient) so that observables can read it; the engine's divergence
check and per-run freezing cover it too. Once the controller has stopped, the loss reports
``STOPPED_LOSS`` so that ``Problem.stop_below = stop_below`` ends the run in the engine
(stop reason "converged"), and a chunk whose runs have all stopped costs nothing more.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from theorylab.optim.probes import probe_term, with_probes, zero_like

KINDS = ("static", "hessian", "isotropic", "isotropic-common")
FLOWING, WAITING, STOPPED = 0.0, 1.0, 2.0
STOPPED_LOSS = -1e30  # the loss a stopped run reports to the engine (finite: not a divergence)
NO_VALUE = -1.0  # t_first_jump / t_stop before the event (times are >= 0)


def stop_below(cfg) -> float:
    """``Problem.stop_below``: ends a run once its controller has stopped."""
    return STOPPED_LOSS / 2


def init(x0: jax.Array) -> dict[str, Any]:
    """Engine parameters of a PWGF run: particles x0 [N, p], the two probes, the controller.

    ctrl: t (steps done), mode (FLOWING / WAITING / STOPPED), deadline (step the wait ends),
    saved_f, saved_x [N, p] (the pre-jump state), jumps (count), t_first_jump, t_stop (steps,
    NO_VALUE until they happen)."""
    z = jnp.zeros((), x0.dtype)
    ctrl = dict(t=z, mode=z + FLOWING, deadline=z, saved_f=z, saved_x=x0, jumps=z,
                t_first_jump=z + NO_VALUE, t_stop=z + NO_VALUE)
    return with_probes(x0, {"kick": x0, "value": ()}, ctrl=ctrl)


def perturbation(kind: str, key: jax.Array, x: jax.Array,
                 hessian_kick: Callable[[jax.Array, jax.Array], jax.Array] | None) -> jax.Array:
    """[N, p]: the unit-scale perturbation xi of ``kind`` at particles x [N, p].

    hessian_kick(x, g) -> N^(-1/2) sum_j H(x_i, x_j) g_j (needed for kind "hessian")."""
    if kind == "static":
        return jnp.zeros_like(x)
    if kind == "isotropic":
        return jax.random.normal(key, x.shape, x.dtype)
    if kind == "isotropic-common":
        return jnp.broadcast_to(jax.random.normal(key, x.shape[1:], x.dtype), x.shape)
    if kind == "hessian":
        return hessian_kick(x, jax.random.normal(key, x.shape, x.dtype))
    raise ValueError(f"perturbation kind must be one of {', '.join(KINDS)}, got {kind!r}")


def pwgf_loss(objective: Callable[..., jax.Array], kind: str,
              hessian_kick: Callable[..., jax.Array] | None = None) -> Callable[..., jax.Array]:
    """The engine's ``loss(params, data, cfg, key)`` of PWGF on F.

    objective(x [N, p], data, cfg) -> F(mu_X); hessian_kick(x, g, data, cfg) -> [N, p] (kind
    "hessian"). Value F (STOPPED_LOSS once the controller stopped); grad["x"] = dF/dX;
    grad["probe"] = {"kick": xi, "value": F}."""

    def loss(params, data, cfg, key):
        x = params["x"]
        f = objective(x, data, cfg)
        kick = perturbation(kind, key, x, None if hessian_kick is None else (lambda y, g: hessian_kick(y, g, data, cfg)))
        total = f + probe_term(params["probe"], {"kick": kick, "value": f})
        return jnp.where(params["ctrl"]["mode"] == STOPPED, STOPPED_LOSS, total)

    return loss


def rk4_step(velocity: Callable[[jax.Array], jax.Array], x: jax.Array, dt) -> jax.Array:
    """[N, p]: one classical Runge-Kutta step of dx/dt = velocity(x)."""
    k1 = velocity(x)
    k2 = velocity(x + dt / 2 * k1)
    k3 = velocity(x + dt / 2 * k2)
    k4 = velocity(x + dt * k3)
    return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


class PWGFState(NamedTuple):
    pass


def pwgf(dt, eta_p, eps_g, f_thr, *, wait_steps: int, insp_every: int, controlled: bool = True,
         velocity: Callable[[jax.Array], jax.Array] | None = None) -> optax.GradientTransformation:
    """The PWGF step with its controller (see the module docstring).

    dt, eta_p, eps_g, f_thr: scalars (may be traced). wait_steps = T_wait / dt and insp_every =
    Delta_insp / dt: static ints. controlled=False: the plain flow ("static"). velocity(x) ->
    v [N, p]: integrate the flow by RK4 with it; None: Euler with v = -N grads["x"]."""

    def init_fn(params):
        return PWGFState()

    def update_fn(grads, state, params):
        x, c = params["x"], params["ctrl"]
        v = -x.shape[0] * grads["x"]
        f = grads["probe"]["value"]
        flow_step = dt * v if velocity is None else rk4_step(velocity, x, dt) - x
        t = c["t"]
        mode = c["mode"]
        if controlled:
            g_norm = jnp.sqrt(jnp.mean(jnp.sum(v.reshape(v.shape[0], -1) ** 2, axis=1)))
            inspect = jnp.mod(t, insp_every) == 0
            jump = (mode == FLOWING) & inspect & (g_norm <= eps_g)
            wait_over = (mode == WAITING) & (t >= c["deadline"])
            stop = wait_over & (c["saved_f"] - f <= f_thr)
            resume = wait_over & ~stop
        else:
            jump = stop = resume = jnp.array(False)
        frozen = mode == STOPPED
        step = jnp.where(frozen, 0.0, jnp.where(stop, c["saved_x"] - x,
                                                jnp.where(jump, eta_p * grads["probe"]["kick"], flow_step)))
        new_c = dict(
            t=t + 1,
            mode=jnp.where(jump, WAITING, jnp.where(stop, STOPPED, jnp.where(resume, FLOWING, mode))),
            deadline=jnp.where(jump, t + wait_steps, c["deadline"]),
            saved_f=jnp.where(jump, f, c["saved_f"]),
            saved_x=jnp.where(jump, x, c["saved_x"]),
            jumps=c["jumps"] + jump,
            t_first_jump=jnp.where(jump & (c["t_first_jump"] == NO_VALUE), t, c["t_first_jump"]),
            t_stop=jnp.where(stop, t, c["t_stop"]),
        )
        updates = zero_like(grads)
        updates["x"] = step
        updates["ctrl"] = jax.tree_util.tree_map(lambda new, old: new - old, new_c, c)
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)


__all__ = ["KINDS", "STOPPED_LOSS", "init", "perturbation", "pwgf", "pwgf_loss", "rk4_step", "stop_below"]
