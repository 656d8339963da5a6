"""The two-layer network in mean-field scaling: f_X(z) = (1/N) sum_j h(x_j, z).

Particles X [N, p] are the neurons; the output layer is folded into the neuron (no 1/sqrt(N):
the mean-field scaling of the MFLD papers). Neurons:

* ``tanh``:   h(x, z) = tanh(w^T z + b),  x = (w, b) in R^{d+1}
  (the example neuron of Suzuki, Nitanda & Wu, ICLR 2023 and arXiv:2306.07221);
* ``parity``: h(x, z) = Rbar [tanh(z^T x1 + x2) + 2 tanh(x3)] / 3,  x = (x1, x2, x3) in R^{d+2}
  (Suzuki, Wu, Oko & Nitanda, NeurIPS 2023: a bounded neuron with a per-neuron output offset).

All outputs are evaluated on a whole input set at once as one [N, n] matrix (O(N n) memory,
O(N n p) time per evaluation: linear in N). The mean over neurons is
``mean_field.particle_mean`` (pair-summed), so ``outputs`` is E_{mu_X} phi for the feature map
phi(x) = (h(x, z_i))_{i <= n} of models/mean_field.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from theorylab.models.mean_field import particle_mean

NEURONS = ("tanh", "parity")


def with_bias(z: jax.Array) -> jax.Array:
    """[n, d+1]: (z, 1) rows."""
    return jnp.concatenate([z, jnp.ones(z.shape[:-1] + (1,), z.dtype)], axis=-1)


def tanh_units(x: jax.Array, z: jax.Array) -> jax.Array:
    """[N, n]: tanh(w_j^T z_i + b_j) for particles x [N, d+1], inputs z [n, d]."""
    return jnp.tanh(x @ with_bias(z).T)


def parity_units(x: jax.Array, z: jax.Array, rbar) -> jax.Array:
    """[N, n]: Rbar [tanh(z_i^T x1_j + x2_j) + 2 tanh(x3_j)] / 3 for x [N, d+2], z [n, d]."""
    inner = jnp.tanh(x[:, :-1] @ with_bias(z).T)
    return rbar * (inner + 2 * jnp.tanh(x[:, -1:])) / 3


def units(neuron: str, x: jax.Array, z: jax.Array, rbar=1.0) -> jax.Array:
    if neuron == "tanh":
        return tanh_units(x, z)
    if neuron == "parity":
        return parity_units(x, z, rbar)
    raise ValueError(f"neuron must be one of {', '.join(NEURONS)}, got {neuron!r}")


def outputs(neuron: str, x: jax.Array, z: jax.Array, rbar=1.0) -> jax.Array:
    """[n]: f_X(z_i) = (1/N) sum_j h(x_j, z_i)."""
    return particle_mean(units(neuron, x, z, rbar))


def unit_variance(neuron: str, x: jax.Array, z: jax.Array, rbar=1.0) -> jax.Array:
    """Scalar (1/n) sum_i Var_j h(x_j, z_i): the i.i.d. particle-error constant E_z Var_{mu_X} h."""
    return jnp.mean(jnp.var(units(neuron, x, z, rbar), axis=0))


def ridge(x: jax.Array, p: str) -> jax.Array:
    """[N]: r(x_j) = sum_k x_jk^2 (p = "x2") or sum_k x_jk^4 (p = "x4")."""
    if p == "x2":
        return jnp.sum(x**2, axis=1)
    if p == "x4":
        return jnp.sum(x**4, axis=1)
    raise ValueError(f"regulariser must be x2 or x4, got {p!r}")


__all__ = ["NEURONS", "outputs", "parity_units", "ridge", "tanh_units", "unit_variance", "units", "with_bias"]
