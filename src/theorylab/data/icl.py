"""In-context regression prompts (the task family of Garg et al. 2022 and its descendants).

A prompt has N examples and one query, all sharing one task vector w:

    w ~ task distribution on R^d,   x_1..x_N, x_q ~ input distribution on R^d,
    y_i = link(w^T x_i) + noise_std * eps_i,   y_q = link(w^T x_q)   (the query is clean)

and is fed to a sequence model as tokens e_i = (x_i, y_i) in R^(d+1) followed by the query
token e_q = (x_q, 0).

Task families plug in through the three registries below (inputs, tasks, links): a new one is a
function added there, and every model, baseline and paper module that reads an ``ICLBatch``
works unchanged. The Mamba ICL paper (arXiv:2509.23779) uses inputs="gaussian",
tasks="gaussian", link="identity", noise_std=0.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp


class ICLBatch(NamedTuple):
    x: jax.Array  # [n, N+1, d]; row N is the query x_q
    y: jax.Array  # [n, N+1]; y[:, N] is the clean query target y_q
    w: jax.Array  # [n, d] task vectors


# Every distribution is a map from i.i.d. standard normals of the given shape (a
# reparameterisation), so a whole batch costs one random draw (one threefry site to compile).
def _sphere(z):  # uniform on the sphere of radius sqrt(d): same second moment as N(0, I)
    return z * jnp.sqrt(z.shape[-1]) / jnp.linalg.norm(z, axis=-1, keepdims=True)


INPUTS: dict[str, Callable] = {"gaussian": lambda z: z, "rademacher": jnp.sign}
TASKS: dict[str, Callable] = {"gaussian": lambda z: z, "sphere": _sphere}
LINKS: dict[str, Callable] = {"identity": lambda z: z, "relu": jax.nn.relu, "tanh": jnp.tanh}


def _check_names(inputs: str, tasks: str, link: str) -> None:
    """ValueError naming the field unless each name is in its registry."""
    for name, value, table in (("inputs", inputs, INPUTS), ("tasks", tasks, TASKS), ("link", link, LINKS)):
        if value not in table:
            raise ValueError(f"{name} must be one of {', '.join(table)}, got {value!r}")


def sample(key: jax.Array, n: int, *, n_ctx: int, d: int, inputs: str = "gaussian",
           tasks: str = "gaussian", link: str = "identity", noise_std=0.0) -> ICLBatch:
    """Draw n prompts of n_ctx examples and one query each. Pure in ``key``; prompt i of a
    batch of n equals prompt i of any larger batch drawn with the same key only if n agrees
    (draw once and slice to split a batch into train / test parts)."""
    _check_names(inputs, tasks, link)
    n_pos = n_ctx + 1
    z = jax.random.normal(key, (n, d + n_pos * d + n_pos))
    w = TASKS[tasks](z[:, :d])
    x = INPUTS[inputs](z[:, d:d + n_pos * d].reshape(n, n_pos, d))
    y = LINKS[link](jnp.einsum("nld,nd->nl", x, w))
    eps = z[:, d + n_pos * d:] * noise_std
    y = y + eps.at[:, n_ctx].set(0.0)  # no label noise on the query target
    return ICLBatch(x=x, y=y, w=w)


def sample_padded(key: jax.Array, n: int, *, n_ctx: int, d: int, n_own=None, inputs: str = "gaussian",
                  tasks: str = "gaussian", link: str = "identity", noise_std=0.0) -> ICLBatch:
    """n prompts of ``n_own`` examples (default n_ctx; may be a traced int <= n_ctx) and one
    query, left-padded to n_ctx examples with zero tokens (x, y) = 0 before the first example.

    The draw is prefix-stable in the context length: it runs over positions on its *leading*
    axis (rows 0, 1: task and query; row 2 + l: example l of every prompt), and JAX's
    partitionable threefry makes the first rows of a longer draw equal a shorter draw, so a
    prompt padded into a longer one holds exactly the examples of the same key drawn at n_own.
    A causal model whose state starts at zero and whose update is linear in the token (the S6
    layer) sees the zero tokens as nothing; attention must mask them as keys (``own_positions``).
    The layout differs from ``sample`` (same law, other numbers)."""
    _check_names(inputs, tasks, link)
    n_own = n_ctx if n_own is None else n_own
    z = jnp.swapaxes(jax.random.normal(key, (2 + n_ctx, n, d + 1)), 0, 1)  # [n, 2 + n_ctx, d + 1]
    w, x_q = TASKS[tasks](z[:, 0, :d]), INPUTS[inputs](z[:, 1, :d])
    x, eps = INPUTS[inputs](z[:, 2:, :d]), z[:, 2:, d] * noise_std  # example l at row l
    own = own_positions(n_ctx, n_own)
    if not (isinstance(n_own, int) and n_own == n_ctx):  # move example l to position n_ctx - n_own + l
        src = jnp.maximum(jnp.arange(n_ctx) - (n_ctx - n_own), 0)
        x = jnp.where(own[:, None], x[:, src], 0.0)
        eps = jnp.where(own, eps[:, src], 0.0)
    x = jnp.concatenate([x, x_q[:, None]], axis=1)
    y = LINKS[link](jnp.einsum("nld,nd->nl", x, w))
    y = jnp.where(jnp.append(own, True), y, 0.0) + jnp.pad(eps, ((0, 0), (0, 1)))  # the query target is clean
    return ICLBatch(x=x, y=y, w=w)


def own_positions(n_ctx: int, n_own) -> jax.Array:
    """bool [n_ctx]: True at the context positions that hold examples of a prompt of n_own
    examples left-padded to n_ctx (``sample_padded``): the last n_own."""
    return jnp.arange(n_ctx) >= n_ctx - n_own


def take(batch: ICLBatch, start: int, stop: int) -> ICLBatch:
    """Prompts start..stop-1 of a batch."""
    return ICLBatch(*(a[start:stop] for a in batch))


def tokens(batch: ICLBatch) -> jax.Array:
    """[n, N+1, d+1]: e_i = (x_i, y_i) for the examples, e_q = (x_q, 0) for the query."""
    y_in = batch.y.at[:, -1].set(0.0)
    return jnp.concatenate([batch.x, y_in[..., None]], axis=-1)


def query_target(batch: ICLBatch) -> jax.Array:
    """[n]: y_q."""
    return batch.y[:, -1]
