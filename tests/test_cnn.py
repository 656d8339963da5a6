"""The two-layer CNN: forward pass against a plain loop, gradient against finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theorylab.models import cnn
from theorylab.models.losses import logistic_loss


def _loop_reference(w: np.ndarray, x: np.ndarray, q: int) -> np.ndarray:
    """f(W, x) = (1/m) sum_r sum_p [relu(<w_{+1,r}, x_p>)^q - relu(<w_{-1,r}, x_p>)^q], by loops."""
    n, P, _ = x.shape
    m = w.shape[1]
    out = np.zeros(n)
    for i in range(n):
        for j, sign in enumerate((1.0, -1.0)):
            for r in range(m):
                for p in range(P):
                    out[i] += sign * max(0.0, float(w[j, r] @ x[i, p])) ** q / m
    return out


@pytest.mark.parametrize("q", [1, 2, 3, 4])
def test_apply_matches_a_plain_loop(q):
    k1, k2 = jax.random.split(jax.random.PRNGKey(q))
    w = np.asarray(jax.random.normal(k1, (2, 3, 5)))
    x = np.asarray(jax.random.normal(k2, (4, 2, 5)))
    np.testing.assert_allclose(np.asarray(cnn.apply(jnp.asarray(w), jnp.asarray(x), q)),
                               _loop_reference(w, x, q), rtol=2e-5, atol=1e-5)


def test_init_has_the_requested_scale_and_shape():
    w = cnn.init(jax.random.PRNGKey(0), 20, 500, 0.01)
    assert w.shape == (2, 20, 500)
    assert abs(float(w.std()) / 0.01 - 1) < 0.02 and abs(float(w.mean())) < 5e-4


def test_second_layer_is_antisymmetric():
    # swapping the two filter banks negates the output: F_{+1} - F_{-1} with fixed +-1/m weights
    k1, k2 = jax.random.split(jax.random.PRNGKey(1))
    w, x = jax.random.normal(k1, (2, 4, 6)), jax.random.normal(k2, (3, 2, 6))
    np.testing.assert_allclose(cnn.apply(w[::-1], x, 2), -cnn.apply(w, x, 2), rtol=1e-6)


def _loss(w, x, y, q):
    return jnp.mean(logistic_loss(y * cnn.apply(w, x, q)))


@pytest.mark.parametrize("q", [1, 2, 3, 4])
def test_gradient_matches_central_finite_differences_float64(q):
    with jax.enable_x64(True):
        k1, k2, k3 = jax.random.split(jax.random.PRNGKey(10 + q), 3)
        w = jax.random.normal(k1, (2, 3, 6), dtype=jnp.float64) / np.sqrt(6)  # <w, x_p> ~ N(0, 1)
        x = jax.random.normal(k2, (5, 2, 6), dtype=jnp.float64)
        y = jnp.where(jax.random.bernoulli(k3, 0.5, (5,)), 1.0, -1.0).astype(jnp.float64)
        g = np.asarray(jax.grad(_loss)(w, x, y, q))
        assert g.dtype == np.float64 and np.abs(g).max() > 1e-3  # not vacuous
        eps = 1e-6
        rng = np.random.default_rng(q)
        for _ in range(8):
            idx = tuple(int(rng.integers(0, s)) for s in w.shape)
            fd = (_loss(w.at[idx].add(eps), x, y, q) - _loss(w.at[idx].add(-eps), x, y, q)) / (2 * eps)
            assert abs(float(fd) - g[idx]) <= 1e-8 + 1e-6 * abs(g[idx]), (q, idx, float(fd), g[idx])
