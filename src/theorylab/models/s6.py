"""A general S6 (Mamba selective state-space) layer, and its Assumption-4.1 configuration.

Input u in R^(L x D): L tokens, D channels. Channel c has its own hidden state h^(c) in
R^(d_h), h_0 = 0, and a diagonal A^(c) = diag(a[c]) (a[c] in R^(d_h), normally negative):

    Delta_l = softplus(w_Delta^T u_l + b_Delta)                  (selection, shared by channels)
    B_l = W_B u_l + b_B,   C_l = W_C u_l + b_C                    (W_B, W_C in R^(d_h x D))
    A_bar_l = exp(Delta_l A),   B_bar_l = (Delta_l A)^-1 (exp(Delta_l A) - I) Delta_l B_l  (ZOH)
    h_l^(c) = A_bar_l^(c) h_(l-1)^(c) + B_bar_l^(c) u_l^(c),     o_l^(c) = C_l^T h_l^(c).

For diagonal A, ZOH is elementwise: A_bar = exp(Delta a), B_bar = Delta phi(Delta a) B with
phi(z) = (e^z - 1)/z (phi(0) = 1).

Three ways to evaluate it, tested against each other and a plain Python loop (tests/test_s6.py):

* ``scan``: the sequential ``lax.scan`` over tokens — every output, every channel.
* ``final_output``: the output at the last position only, in parallel form. Unrolling the
  recursion, h_L = sum_l kappa_l * B_l u_l with the kernel
      kappa_l = exp(a (S_L - S_l)) * Delta_l phi(Delta_l a),   S_l = Delta_1 + ... + Delta_l.
* ``bilinear_features`` + ``bilinear_output``: when a channel's A is a scalar multiple of I
  (a[c] = a_c 1, as under Assumption 4.1), kappa_l is a scalar per token and the output of
  channel c at the last position is the bilinear form
      o_L^(c) = q^T [W_C b_C]^T [W_B b_B] m,   q = (u_L, 1),   m = sum_l kappa_l u_l^(c) (u_l, 1).
  (q, m) depend on the input and on Delta only, so with Delta frozen they can be computed once
  per prompt; training then costs two small matrix products per step.

Assumption 4.1 of "Trained Mamba Emulates Online Gradient Descent in In-Context Linear
Regression" (arXiv:2509.23779) is a configuration: A = -I, w_Delta = 0 and
b_Delta = ln(exp(ln 2 / N) - 1), so Delta_l = ln 2 / N for every token (``assumption_4_1``).
The functions at the end analyse the layer on in-context prompts (projected states, prefix
predictions, per-position weights).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class S6Params(NamedTuple):
    w_b: jax.Array  # [d_h, D]
    b_b: jax.Array  # [d_h]
    w_c: jax.Array  # [d_h, D]
    b_c: jax.Array  # [d_h]
    w_delta: jax.Array  # [D]
    b_delta: jax.Array  # []
    a: jax.Array  # [D, d_h]: diagonal of A for each channel


def assumption_4_1(n_ctx: int, d_in: int, d_h: int) -> dict[str, jax.Array]:
    """The frozen part under Assumption 4.1: A = -I, w_Delta = 0, Delta = ln2 / N."""
    delta = jnp.log(2.0) / n_ctx
    return dict(a=-jnp.ones((d_in, d_h)), w_delta=jnp.zeros((d_in,)),
                b_delta=jnp.log(jnp.expm1(delta)))  # softplus(b_delta) = delta


def phi(z: jax.Array) -> jax.Array:
    """(e^z - 1) / z, with phi(0) = 1 (safe for autodiff at 0)."""
    small = jnp.abs(z) < 1e-6
    zs = jnp.where(small, 1.0, z)
    return jnp.where(small, 1.0 + z / 2, jnp.expm1(zs) / zs)


def deltas(p: S6Params, u: jax.Array) -> jax.Array:
    """[L, D] -> [L]: Delta_l = softplus(w_Delta^T u_l + b_Delta)."""
    return jax.nn.softplus(u @ p.w_delta + p.b_delta)


def zoh(a: jax.Array, delta: jax.Array) -> tuple[jax.Array, jax.Array]:
    """ZOH for diagonal A: a [D, d_h], delta [] -> (A_bar [D, d_h], gain [D, d_h]) with
    B_bar = gain * B."""
    z = delta * a
    return jnp.exp(z), delta * phi(z)


def scan(p: S6Params, u: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Sequential evaluation. u [L, D] -> (outputs o [L, D], states h [L, D, d_h])."""
    dl = deltas(p, u)  # [L]
    b = u @ p.w_b.T + p.b_b  # [L, d_h]
    c = u @ p.w_c.T + p.b_c  # [L, d_h]

    def step(h, inp):  # h [D, d_h]
        u_l, b_l, c_l, d_l = inp
        a_bar, gain = zoh(p.a, d_l)
        h = a_bar * h + gain * b_l[None, :] * u_l[:, None]
        return h, (h @ c_l, h)

    h0 = jnp.zeros((u.shape[1], p.w_b.shape[0]), u.dtype)
    _, (o, hs) = jax.lax.scan(step, h0, (u, b, c, dl))
    return o, hs


def kernel(p: S6Params, u: jax.Array) -> jax.Array:
    """[L, D] -> [L, D, d_h]: kappa_l, the weight of token l's input in the final state h_L."""
    dl = deltas(p, u)  # [L]
    s = jnp.cumsum(dl)  # S_l
    decay = jnp.exp(p.a[None] * (s[-1] - s)[:, None, None])  # [L, D, d_h]
    return decay * dl[:, None, None] * phi(dl[:, None, None] * p.a[None])


def final_output(p: S6Params, u: jax.Array) -> jax.Array:
    """Parallel form of the last output. u [L, D] -> o_L [D]."""
    b = u @ p.w_b.T + p.b_b  # [L, d_h]
    h = jnp.einsum("lck,lk,lc->ck", kernel(p, u), b, u)  # [D, d_h]
    return h @ (p.w_c @ u[-1] + p.b_c)


def scalar_kernel(delta: jax.Array, a_c) -> jax.Array:
    """kappa_l for a channel with A = a_c I: delta [L] -> [L]."""
    after = jnp.triu(jnp.ones((delta.shape[0],) * 2), k=1) @ delta  # S_L - S_l, as a matmul (fast on CPU)
    return jnp.exp(a_c * after) * delta * phi(delta * a_c)


def bilinear_features(p: S6Params, u: jax.Array, channel: int, a_c) -> tuple[jax.Array, jax.Array]:
    """For a channel with A = a_c I: u [L, D] -> (q [D+1], m [D+1]) such that
    o_L^(channel) = bilinear_output(p, q, m). Only w_Delta, b_Delta of p are read."""
    kap = scalar_kernel(deltas(p, u), a_c)  # [L]
    ones = jnp.ones((u.shape[0], 1), u.dtype)
    u1 = jnp.concatenate([u, ones], axis=1)  # [L, D+1]
    return u1[-1], (kap * u[:, channel]) @ u1


def augmented(p: S6Params) -> tuple[jax.Array, jax.Array]:
    """([W_C b_C], [W_B b_B]), each [d_h, D+1]."""
    return (jnp.concatenate([p.w_c, p.b_c[:, None]], axis=1),
            jnp.concatenate([p.w_b, p.b_b[:, None]], axis=1))


def bilinear_output(p: S6Params, q: jax.Array, m: jax.Array) -> jax.Array:
    """q [..., D+1], m [..., D+1] -> [...]: q^T [W_C b_C]^T [W_B b_B] m."""
    wc, wb = augmented(p)
    return jnp.einsum("...i,ij,...j->...", q, wc.T @ wb, m)  # the [D+1, D+1] product first


def state_kernel(delta: jax.Array, a_c) -> jax.Array:
    """For a channel with A = a_c I: delta [L] -> K [L, L] with h_l = sum_{j<=l} K[l, j] B_j u_j
    (the hidden state after every token, in parallel form; K is lower triangular)."""
    s = jnp.tril(jnp.ones((delta.shape[0],) * 2)) @ delta  # S_l
    gap = s[:, None] - s[None, :]  # S_l - S_j
    lower = jnp.tril(jnp.ones_like(gap, dtype=bool))
    return jnp.where(lower, jnp.exp(a_c * jnp.where(lower, gap, 0.0)), 0.0) * (delta * phi(delta * a_c))[None, :]


# ---------------------------------------------------------------------------------------
# Analysis on in-context prompts. Tokens u_l = (x_l, y_l) in R^D, D = d + 1: channels 0..d-1
# carry x, the last channel carries y, and the prediction is the last channel's output at the
# query (Trained Mamba Emulates Online Gradient Descent in In-Context Linear Regression,
# arXiv:2509.23779). Every function below assumes A = a_c I on that channel, and the
# prefix forms a constant Delta (w_Delta = 0, as under Assumption 4.1). Zero tokens before the
# first example (a left-padded prompt, data/icl.py ``sample_padded``) change nothing at the
# positions after them: the state starts at zero and each token enters it times its own input.


def last_channel_features(p: S6Params, tok: jax.Array, a_c) -> tuple[jax.Array, jax.Array]:
    """tok [n, L, D] -> (q [n, D+1], m [n, D+1]) of every prompt's last channel (see
    ``bilinear_features``): its output at position L is bilinear_output(p, q, m)."""
    channel = tok.shape[-1] - 1
    return jax.vmap(lambda u: bilinear_features(p, u, channel, a_c))(tok)


def _tokens(x: jax.Array, y: jax.Array) -> jax.Array:
    """x [n, L, d], y [n, L] -> u [n, L, d+1]."""
    return jnp.concatenate([x, y[..., None]], axis=-1)


def _state_kernels(p: S6Params, tok: jax.Array, a_c) -> jax.Array:
    """[n, L, L]: ``state_kernel`` of every prompt."""
    return jax.vmap(lambda u: state_kernel(deltas(p, u), a_c))(tok)


def projected_states(p: S6Params, x: jax.Array, y: jax.Array, a_c) -> jax.Array:
    """x [n, L, d], y [n, L] -> [n, L, d]: h_tilde_l = C^T h_l, the last channel's hidden state
    after token l projected by C^T = W_C[:, :d]^T (the part of C that reads x at the query).

    h_l = sum_{j<=l} K[l, j] B_j y_j with B_j = W_B u_j + b_B, so C^T h_l = sum_j K[l, j] y_j (C^T W_B u_j
    + C^T b_B). At the limit C^T W_B = [beta I, 0] this is the online-GD estimate of the task
    vector after l examples."""
    d = x.shape[-1]
    tok = _tokens(x, y)
    c_t = p.w_c[:, :d].T  # C^T [d, d_h]
    wb_aug = jnp.concatenate([p.w_b, p.b_b[:, None]], axis=1)  # [d_h, d+2]
    proj = c_t @ wb_aug  # [d, d+2]
    ones = jnp.ones(tok.shape[:-1] + (1,))
    p_tok = jnp.concatenate([tok, ones], -1) @ proj.T  # [n, L, d]: C^T B_l
    return jnp.einsum("nlj,nj,njd->nld", _state_kernels(p, tok, a_c), tok[..., d], p_tok)


def projected_bias(p: S6Params, x: jax.Array, y: jax.Array, a_c) -> jax.Array:
    """[n, L]: b_C^T h_(k-1), the b_C part of C_k^T h_(k-1) at every position k (0 at k = 0,
    and everywhere when b_C = 0)."""
    d = x.shape[-1]
    tok = _tokens(x, y)
    wb_aug = jnp.concatenate([p.w_b, p.b_b[:, None]], axis=1)
    ones = jnp.ones(tok.shape[:-1] + (1,))
    bias_tok = jnp.concatenate([tok, ones], -1) @ (wb_aug.T @ p.b_c)  # [n, L]: b_C^T B_l
    hb = jnp.einsum("nlj,nj,nj->nl", _state_kernels(p, tok, a_c), tok[..., d], bias_tok)
    return jnp.concatenate([jnp.zeros_like(hb[:, :1]), hb[:, :-1]], axis=1)


def prefix_predictions(p: S6Params, x: jax.Array, y: jax.Array, a_c) -> jax.Array:
    """[n, L]: the layer's prediction at every position k from the k tokens before it (token k
    fed as the query, its y zeroed): C_k^T A_bar h_(k-1) = alpha (x_k^T C^T h_(k-1) + b_C^T h_(k-1))
    with alpha = exp(a_c Delta) for the constant Delta = softplus(b_Delta) (w_Delta = 0)."""
    h = projected_states(p, x, y, a_c)  # [n, L, d]
    alpha = jnp.exp(a_c * jax.nn.softplus(p.b_delta))
    h_prev = jnp.concatenate([jnp.zeros_like(h[:, :1]), h[:, :-1]], axis=1)
    return alpha * (jnp.einsum("nkd,nkd->nk", x, h_prev) + projected_bias(p, x, y, a_c))


def position_weights(p: S6Params, x: jax.Array, y: jax.Array, a_c) -> jax.Array:
    """x [n, N+1, d], y [n, N+1] (row N the query) -> [N]: omega_j, the weight the layer gives
    example j in its prediction at the query: the least-squares coefficient over the prompts of
    d y_hat / d y_j on x_q^T x_j (for an online-GD predictor d y_hat / d y_j = omega_j x_q^T x_j)."""

    def pred_sum(y_ctx):
        yy = y.at[:, :-1].set(y_ctx).at[:, -1].set(0.0)
        q, m = last_channel_features(p, _tokens(x, yy), a_c)
        return jnp.sum(bilinear_output(p, q, m))

    g = jax.grad(pred_sum)(y[:, :-1])  # [n, N]
    xqx = jnp.einsum("nd,njd->nj", x[:, -1], x[:, :-1])
    den = jnp.sum(xqx**2, axis=0)  # 0 only at the zero tokens of a left-padded prompt: weight 0
    return jnp.where(den > 0, jnp.sum(g * xqx, axis=0) / jnp.where(den > 0, den, 1.0), 0.0)
