"""Mean-field particle systems: N particles x_j in R^p standing for mu_X = (1/N) sum_j delta_{x_j}.

Every objective here has the form

    F(mu) = G( E_mu[phi(x)] ) + lam1 E_mu[r(x)],          phi: R^p -> R^m,  G: R^m -> R,

which covers the two-layer mean-field network (phi(x) = (h_{z_i}(x))_{i<=n}, the network's
outputs on the n training inputs; G = the data-fit loss of those outputs) and the
Wasserstein-saddle testbeds (phi = tanh, G quartic). For such an F:

    first variation     dF/dmu(mu, x)          = <grad G(Phi), phi(x)> + lam1 r(x),   Phi = E_mu phi
    particle velocity   v(x) = -grad_x dF/dmu  = -J(x)^T grad G(Phi) - lam1 grad r(x)
    Wasserstein kernel  H(mu; x, y) = grad_x grad_y d^2F/dmu^2 = J(x)^T hess G(Phi) J(y)   (p x p)

with J(x) = d phi / dx (m x p). On the particles the velocity is v(x_j) = -N dF(mu_X)/dx_j:
autodiff of the finite-N objective times N (``velocity``). Everything is O(N (p + m)) memory:
no N x N matrix is ever formed (``hessian_kick`` contracts the kernel through R^m).

The mean over particles is summed in adjacent pairs first (x_0 + x_1, x_2 + x_3, ...), which
is the plain mean in exact arithmetic and makes a symmetric (+z, -z) pair law give
E_mu phi = 0 exactly in floating point for odd phi: the exact saddle of the PWGF testbed.

Shapes: x [N, p] (N even for the pair sum; odd N falls back to the plain mean), phi(x_j) [m].
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

Phi = Callable[[jax.Array], jax.Array]  # one particle [p] -> features [m]
Outer = Callable[[jax.Array], jax.Array]  # features [m] -> scalar


def particle_mean(values: jax.Array) -> jax.Array:
    """[...]: (1/N) sum_j values[j] for values [N, ...], summed in adjacent pairs first."""
    n = values.shape[0]
    if n % 2:
        return jnp.mean(values, axis=0)
    pairs = values.reshape((n // 2, 2) + values.shape[1:])
    return jnp.mean(pairs[:, 0] + pairs[:, 1], axis=0) / 2


def mean_features(phi: Phi, x: jax.Array) -> jax.Array:
    """[m]: Phi = E_{mu_X} phi = (1/N) sum_j phi(x_j), x [N, p]."""
    return particle_mean(jax.vmap(phi)(x))


def objective(phi: Phi, outer: Outer, x: jax.Array, reg: Callable | None = None, lam1=0.0) -> jax.Array:
    """Scalar F(mu_X) = G(Phi) + lam1 (1/N) sum_j r(x_j)."""
    value = outer(mean_features(phi, x))
    if reg is not None:
        value = value + lam1 * particle_mean(jax.vmap(reg)(x))
    return value


def velocity(phi: Phi, outer: Outer, x: jax.Array, reg: Callable | None = None, lam1=0.0) -> jax.Array:
    """[N, p]: v(x_j) = -grad_x dF/dmu(mu_X, x_j) = -N dF(mu_X)/dx_j."""
    return -x.shape[0] * jax.grad(lambda y: objective(phi, outer, y, reg, lam1))(x)


def l2_norm(v: jax.Array) -> jax.Array:
    """Scalar ||v||_{L^2(mu_X)} = ((1/N) sum_j |v_j|^2)^(1/2) of a field v [N, p]."""
    return jnp.sqrt(jnp.mean(jnp.sum(v.reshape(v.shape[0], -1) ** 2, axis=1)))


def hessian_kick(phi: Phi, outer: Outer, x: jax.Array, g: jax.Array) -> jax.Array:
    """[N, p]: Delta x_i = N^(-1/2) sum_j H(mu_X; x_i, x_j) g_j for g [N, p].

    With g_j ~ N(0, I_p) i.i.d. this is one exact draw of the Gaussian field GP(0, K_mu),
    K_mu(x, y) = int H(mu; x, z) H(mu; z, y) mu(dz), at the particles (the perturbation of
    Hessian-guided PWGF, Yamamoto, Kim & Suzuki, arXiv:2509.16974), before the factor eta_p.
    Computed as J(x_i)^T hess G(Phi) B with B = N^(-1/2) sum_j J(x_j) g_j [m]: O(N (p + m)).
    """
    n = x.shape[0]
    b = jnp.sqrt(n) * jax.jvp(lambda y: mean_features(phi, y), (x,), (g,))[1]  # [m]
    phi_bar = mean_features(phi, x)
    hb = jax.jvp(jax.grad(outer), (phi_bar,), (b,))[1]  # [m] = hess G(Phi) B
    return jax.vmap(lambda xi: jax.vjp(phi, xi)[1](hb)[0])(x)


__all__ = ["hessian_kick", "l2_norm", "mean_features", "objective", "particle_mean", "velocity"]
