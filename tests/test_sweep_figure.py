"""The generic sweep figure: cell values are the seed means at the last log point; the theory
curve is drawn where it lies inside the grid; bad axis or metric names are one-line errors."""

import numpy as np
import pandas as pd
import pytest

from theorylab.config import ConfigError
from theorylab.plots.generic_phase import sweep_figure
from theorylab.plots.style import plt


def _df():
    rows = []
    for a in (1.0, 3.0, 10.0, 30.0, 100.0):  # geometric: drawn on a log axis
        for n in (2, 4, 6):  # even: a linear axis
            for seed in (0, 1):
                for step in (0, 50):
                    rows.append(dict(run_id=f"{a}-{n}-{seed}", seed=seed, step=step, a=a, n=n,
                                     loss=(a * n + seed) if step == 50 else -1.0))
    return pd.DataFrame(rows)


def test_heatmap_cells_are_seed_means_at_the_last_step_with_the_curve_overlaid():
    fig = sweep_figure(_df(), "a", "loss", "n", curve=lambda a: 20.0 / a, curve_label="a n = 20")
    ax = fig.axes[0]
    z = ax.collections[0].get_array().reshape(3, 5)  # rows: n, columns: a
    want = np.array([[a * n + 0.5 for a in (1.0, 3.0, 10.0, 30.0, 100.0)] for n in (2, 4, 6)])
    np.testing.assert_allclose(z, want)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
    (line,) = ax.get_lines()
    x, y = line.get_data()
    np.testing.assert_allclose(y, 20.0 / x)
    assert y.min() >= 1.0 and y.max() <= 7.0  # clipped to the grid's cell edges (n in [1, 7])
    assert line.get_label() == "a n = 20"
    plt.close(fig)


def test_one_swept_field_gives_a_mean_and_sd_curve():
    fig = sweep_figure(_df()[lambda d: d["n"] == 4], "a", "loss")
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_allclose(line.get_ydata(), [4 * a + 0.5 for a in (1.0, 3.0, 10.0, 30.0, 100.0)])
    plt.close(fig)


@pytest.mark.parametrize("kw,message", [
    (dict(x="b", metric="loss"), "x field 'b' is not a stored column"),
    (dict(x="a", metric="nope", y="n"), "metric 'nope' is not a stored column"),
    (dict(x="a", metric="loss", y="a"), "x and y are both 'a'"),
    (dict(x="a", metric="run_id", y="n"), "metric 'run_id' is not numeric"),
])
def test_bad_names(kw, message):
    with pytest.raises(ConfigError, match=message):
        sweep_figure(_df(), **kw)
