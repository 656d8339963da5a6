"""The S6 layer: scan vs a plain Python loop with matrix ZOH, parallel forms, gradients."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theorylab.models import s6

D, D_H, L = 3, 4, 7


def _random_params(seed: int, *, scalar_a: bool = False, dtype=np.float64) -> s6.S6Params:
    rng = np.random.default_rng(seed)
    a = -np.exp(rng.normal(size=(D, D_H)))
    if scalar_a:
        a = np.repeat(a[:, :1], D_H, axis=1)
    return s6.S6Params(
        w_b=rng.normal(size=(D_H, D)).astype(dtype), b_b=rng.normal(size=D_H).astype(dtype),
        w_c=rng.normal(size=(D_H, D)).astype(dtype), b_c=rng.normal(size=D_H).astype(dtype),
        w_delta=(0.5 * rng.normal(size=D)).astype(dtype), b_delta=np.array(-0.3, dtype),
        a=a.astype(dtype))


def _expm(m: np.ndarray) -> np.ndarray:
    """Matrix exponential by scaling and squaring of a Taylor series (reference only)."""
    s = max(0, int(np.ceil(np.log2(max(np.abs(m).sum(axis=1).max(), 1e-16)))) + 1)
    x = m / 2**s
    out, term = np.eye(len(m)), np.eye(len(m))
    for i in range(1, 30):
        term = term @ x / i
        out = out + term
    for _ in range(s):
        out = out @ out
    return out


def loop_reference(p: s6.S6Params, u: np.ndarray) -> np.ndarray:
    """o [L, D] from the textbook definitions with full matrices, one token at a time."""
    p = s6.S6Params(*(np.asarray(x, np.float64) for x in p))
    out = np.zeros(u.shape)
    h = np.zeros((u.shape[1], p.w_b.shape[0]))
    for l in range(u.shape[0]):
        delta = np.log1p(np.exp(p.w_delta @ u[l] + p.b_delta))
        b_l = p.w_b @ u[l] + p.b_b
        c_l = p.w_c @ u[l] + p.b_c
        for c in range(u.shape[1]):
            da = delta * np.diag(p.a[c])
            a_bar = _expm(da)
            b_bar = np.linalg.solve(da, a_bar - np.eye(len(da))) @ (delta * b_l)
            h[c] = a_bar @ h[c] + b_bar * u[l, c]
            out[l, c] = c_l @ h[c]
    return out


@pytest.fixture
def x64():
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


def test_scan_matches_python_loop_and_parallel_forms(x64):
    p = _random_params(0)
    u = np.random.default_rng(1).normal(size=(L, D))
    ref = loop_reference(p, u)
    out, states = s6.scan(p, jnp.asarray(u))
    np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-10, atol=1e-10)
    assert states.shape == (L, D, D_H)
    # parallel last-position form, every channel
    np.testing.assert_allclose(np.asarray(s6.final_output(p, jnp.asarray(u))), ref[-1], rtol=1e-10)


def test_bilinear_form_matches_scan_for_scalar_a(x64):
    p = _random_params(2, scalar_a=True)
    u = jnp.asarray(np.random.default_rng(3).normal(size=(L, D)))
    ref = loop_reference(p, np.asarray(u))
    for c in range(D):
        q, m = s6.bilinear_features(p, u, c, p.a[c, 0])
        np.testing.assert_allclose(float(s6.bilinear_output(p, q, m)), ref[-1, c], rtol=1e-10)


def test_assumption_4_1_gives_alpha_decay():
    n_ctx, d_in, d_h = 50, 5, 8
    fixed = s6.assumption_4_1(n_ctx, d_in, d_h)
    p = s6.S6Params(w_b=jnp.zeros((d_h, d_in)), b_b=jnp.zeros(d_h), w_c=jnp.zeros((d_h, d_in)),
                    b_c=jnp.zeros(d_h), **fixed)
    u = jax.random.normal(jax.random.PRNGKey(0), (n_ctx + 1, d_in))
    dl = s6.deltas(p, u)
    np.testing.assert_allclose(np.asarray(dl), np.log(2) / n_ctx, rtol=1e-5)
    alpha = 2 ** (-1 / n_ctx)
    kap = np.asarray(s6.kernel(p, u))[:, 0, 0]  # weight of token l in h_{N+1}
    j = np.arange(1, n_ctx + 2)
    np.testing.assert_allclose(kap, (1 - alpha) * alpha ** (n_ctx + 1 - j), rtol=1e-4)


def test_gradient_matches_central_differences(x64):
    """d/d(theta) of a loss through the scan equals central differences, every parameter."""
    p = _random_params(4)
    u = jnp.asarray(np.random.default_rng(5).normal(size=(L, D)))
    target = jnp.asarray(np.random.default_rng(6).normal(size=(L, D)))

    @jax.jit
    def loss(p):
        out, _ = s6.scan(p, u)
        return 0.5 * jnp.sum((out - target) ** 2)

    grads = jax.grad(loss)(p)
    eps = 1e-6
    for name, g in zip(s6.S6Params._fields, grads):
        x0 = np.asarray(getattr(p, name))
        flat = x0.reshape(-1)
        for i in range(flat.size):
            bump = np.zeros_like(flat)
            bump[i] = eps
            hi = loss(p._replace(**{name: jnp.asarray((flat + bump).reshape(x0.shape))}))
            lo = loss(p._replace(**{name: jnp.asarray((flat - bump).reshape(x0.shape))}))
            fd = (float(hi) - float(lo)) / (2 * eps)
            np.testing.assert_allclose(np.asarray(g).reshape(-1)[i], fd, rtol=1e-6, atol=1e-6,
                                       err_msg=f"{name}[{i}]")


def test_phi_is_smooth_at_zero(x64):
    z = jnp.array([-1e-9, 0.0, 1e-9, 1e-3])
    np.testing.assert_allclose(np.asarray(s6.phi(z)), np.expm1(np.array([1e-300, 1e-300, 1e-300, 1e-3])) /
                               np.array([1e-300, 1e-300, 1e-300, 1e-3]), rtol=1e-6)
    assert np.isfinite(float(jax.grad(lambda z: s6.phi(z))(0.0)))


def test_state_kernel_gives_every_hidden_state(x64):
    p = _random_params(7, scalar_a=True)
    u = jnp.asarray(np.random.default_rng(8).normal(size=(L, D)))
    _, states = s6.scan(p, u)
    b = u @ p.w_b.T + p.b_b  # [L, d_h]
    for c in range(D):
        k = s6.state_kernel(s6.deltas(p, u), p.a[c, 0])  # [L, L]
        h = np.einsum("lj,jk,j->lk", np.asarray(k), np.asarray(b), np.asarray(u[:, c]))
        np.testing.assert_allclose(h, np.asarray(states[:, c]), rtol=1e-10, atol=1e-12)
