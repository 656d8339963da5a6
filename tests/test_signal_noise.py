"""The signal-noise patch data model."""

import jax
import jax.numpy as jnp
import numpy as np

from theorylab.data import signal_noise


def _draw(n=4000, d=50, **kw):
    scales = jnp.array([4.0, 0.2, 0.2])
    base = dict(d=d, mu_norm=3.0, noise_scales=scales)
    return signal_noise.sample(jax.random.PRNGKey(0), n, **{**base, **kw})


def test_vit_layout_signal_first_and_noise_scales():
    data = _draw()
    x, y = np.asarray(data.x), np.asarray(data.y)
    assert x.shape == (4000, 4, 50)
    np.testing.assert_array_equal(y[:4], [1, -1, 1, -1])  # balanced, alternating
    np.testing.assert_allclose(x[y > 0, 0], np.tile(3.0 * np.eye(50)[0], ((y > 0).sum(), 1)))
    np.testing.assert_allclose(x[y < 0, 0], np.tile(3.0 * np.eye(50)[1], ((y < 0).sum(), 1)))
    np.testing.assert_allclose(x[:, 1].std(), 4.0, rtol=0.02)
    np.testing.assert_allclose(x[:, 2:].std(), 0.2, rtol=0.02)


def test_orthogonal_noise_has_no_signal_component():
    data = _draw(orthogonal_noise=True)
    noise = np.asarray(data.x[:, 1:])
    assert np.abs(noise[..., :2]).max() < 1e-6
    assert np.abs(np.asarray(_draw().x[:, 1:, :2])).max() > 1.0


def test_antipodal_random_slot_and_noise_tokens_roundtrip():
    data = _draw(signal="antipodal", signal_position="random", labels="rademacher")
    x, y, slot = np.asarray(data.x), np.asarray(data.y), np.asarray(data.signal_slot)
    assert set(np.unique(slot)) == {0, 1, 2, 3}
    sig = x[np.arange(len(x)), slot]
    np.testing.assert_allclose(sig, y[:, None] * 3.0 * np.eye(50)[0][None, :], atol=1e-6)
    noise = np.asarray(signal_noise.noise_tokens(data))
    np.testing.assert_allclose(noise[:, 0].std(), 4.0, rtol=0.03)  # the strong token stays first
    assert abs(y.mean()) < 0.05


def test_class_conditional_flips():
    data = _draw(n=20000, flip_pos=0.1, flip_neg=0.3)
    y, yt = np.asarray(data.y), np.asarray(data.y_true)
    assert abs((y[yt > 0] != yt[yt > 0]).mean() - 0.1) < 0.01
    assert abs((y[yt < 0] != yt[yt < 0]).mean() - 0.3) < 0.015
    # the data follow the true label: the signal token of a flipped +1 sample is still mu_+
    x = np.asarray(data.x)
    flipped = (yt > 0) & (y < 0)
    np.testing.assert_allclose(x[flipped, 0, 0], 3.0)
