"""A mixture of experts of single neurons on the sphere, with a linear router, and its dense twin.

Parameters (a dict pytree):
    experts [E, J, d]  E experts of J neurons w_ej (unit rows); a dense network is E = 1
    scouts  [M, d]     one unit "scout" neuron per expert: it finds a cluster before routing
    router  [M, d]     linear router theta: expert scores theta x

Expert e's output on x is F_e(x) = sum_j a_ej sigma(<w_ej, x>) with sigma = h_k (a Hermite
polynomial) and second-layer weights a fitted afterwards by least squares on the samples
routed to e (``gated_features``, ``fit_readout``). Routings are arrays route [n, E] of gates:
top-1 (one-hot of argmax theta x), soft (softmax theta x), by a known label (one-hot of c) or
dense (all ones: every neuron, scouts included, sees every sample).

The training losses are correlation losses (each neuron's gradient is its own):
    experts:  -mean_i y_i sum_e route_ie sum_j sigma(<w_ej, x_i>)
    scouts:   -mean_i y_i sum_m sigma(<u_m, x_i>)                    (every sample)
    router:   -mean_i y_i sum_m softmax(theta x_i)_m sigma(<u_m, x_i>) (scouts frozen)
This is a stand-in that reproduces the mechanism claimed by Kawata et al. ("Mixture of
Experts Provably Detect and Learn the Latent Cluster Structure in Gradient-Based Learning",
arXiv:2506.01656): their architecture and router were not available to us.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from theorylab.data.hermite_expansion import hermite
from theorylab.models.linalg import spd_solve


def unit_rows(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """[..., d]: rows uniform on the unit sphere."""
    w = jax.random.normal(key, shape)
    return w / jnp.linalg.norm(w, axis=-1, keepdims=True)


def init(key: jax.Array, n_experts: int, width: int, d: int, n_router: int) -> dict:
    """experts [E, J, d] and scouts [M, d] uniform on the sphere, router [M, d] = 0 (uniform gates)."""
    ke, ks = jax.random.split(key)
    return dict(experts=unit_rows(ke, (n_experts, width, d)), scouts=unit_rows(ks, (n_router, d)),
                router=jnp.zeros((n_router, d)))


def neuron_outputs(w: jax.Array, x: jax.Array, k: int) -> jax.Array:
    """[n, ...]: h_k(<w_., x_i>) for neurons w [..., d] and inputs x [n, d]."""
    return hermite(k, jnp.einsum("nd,...d->n...", x, w))


def top1(router: jax.Array, x: jax.Array) -> jax.Array:
    """[n, M]: one-hot of argmax_m <theta_m, x_i>."""
    return jax.nn.one_hot(jnp.argmax(x @ router.T, axis=1), router.shape[0])


def soft(router: jax.Array, x: jax.Array) -> jax.Array:
    """[n, M]: softmax_m <theta_m, x_i>."""
    return jax.nn.softmax(x @ router.T, axis=1)


def expert_loss(experts: jax.Array, x: jax.Array, y: jax.Array, route: jax.Array, k: int) -> jax.Array:
    """-mean_i y_i sum_e route_ie sum_j h_k(<w_ej, x_i>); experts [E, J, d], route [n, E]."""
    out = neuron_outputs(experts, x, k).sum(-1)  # [n, E]
    return -jnp.mean(y * jnp.sum(route * out, axis=1))


def scout_loss(scouts: jax.Array, x: jax.Array, y: jax.Array, k: int) -> jax.Array:
    """-mean_i y_i sum_m h_k(<u_m, x_i>)."""
    return -jnp.mean(y * neuron_outputs(scouts, x, k).sum(-1))


def router_loss(router: jax.Array, scouts: jax.Array, x: jax.Array, y: jax.Array, k: int) -> jax.Array:
    """-mean_i y_i sum_m softmax(theta x_i)_m h_k(<u_m, x_i>) (gradient to the router only)."""
    f = jax.lax.stop_gradient(neuron_outputs(scouts, x, k))  # [n, M]
    return -jnp.mean(y * jnp.sum(soft(router, x) * f, axis=1))


def gated_features(experts: jax.Array, scouts: jax.Array, x: jax.Array, route: jax.Array, scout_gate,
                   k: int) -> jax.Array:
    """[n, E J + M]: every neuron's output h_k(<w, x_i>) times its gate: expert e's J neurons
    times route[i, e], the M scouts times ``scout_gate`` (1: the scouts are ordinary neurons of
    a dense network; 0: they only guide the router). With one-hot routes a least-squares readout
    on these features decouples into one fit per expert on its routed samples."""
    phi = neuron_outputs(experts, x, k) * route[:, :, None]  # [n, E, J]
    return jnp.concatenate([phi.reshape(x.shape[0], -1), scout_gate * neuron_outputs(scouts, x, k)], axis=1)


def fit_readout(phi: jax.Array, y: jax.Array, ridge: float = 1e-6) -> jax.Array:
    """[p]: least squares a = (Phi^T Phi + r I)^{-1} Phi^T y for features phi [n, p], with
    r = ridge x the mean diagonal (+1e-12): it only guards gated-off (all-zero) features,
    whose coefficient is then 0."""
    gram = phi.T @ phi
    r = ridge * jnp.mean(jnp.diagonal(gram)) + 1e-12
    return spd_solve(gram + r * jnp.eye(gram.shape[0], dtype=phi.dtype), phi.T @ y)


def purity(route: jax.Array, c: jax.Array, n_clusters: int) -> jax.Array:
    """sum_e max_c n(e, c) / n for one-hot routes [n, E] and cluster labels c [n]."""
    counts = route.T @ jax.nn.one_hot(c, n_clusters)  # [E, C]
    return counts.max(axis=1).sum() / route.shape[0]
