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


HEADLESS = r"""
import sys
import matplotlib

def settings():  # dict.items reads the raw values: rcParams["backend"] would resolve the backend
    return dict(dict.items(matplotlib.rcParams))

before = settings()
import theorylab, theorylab.papers, theorylab.analysis
from theorylab.papers import vit_benign as vb
from theorylab.plots import generic_phase, matrix, phase, positions, style, trajectories
from theorylab.sweep.grid import resolve
assert settings() == before, "importing theorylab changed matplotlib's settings"
assert "matplotlib.pyplot" not in sys.modules

import pandas as pd
p = vb.PHASE_SMOKE
resolved = resolve("vit-benign/phase", "smoke", vb.Config, p.base, p.cells, 1, {})
rows = [dict(run_id=lab, cell=lab, seed=0, step=100, N=c.N, mu_norm=c.mu_norm, d=c.d, sigma_weak=c.sigma_weak,
             sigma_strong=c.sigma_strong, test_loss=0.05 if c.mu_norm > 5 else 0.69, test_error=0.0, stop_step=10)
        for lab, c in resolved.cells]
fig = vb.phase_figures(pd.DataFrame(rows), resolved)["phase"]
assert fig.axes[0].title.get_fontsize() == style.STYLE["axes.titlesize"]  # the style applied inside
fig.savefig(sys.argv[1])
assert settings() == before, "drawing a figure changed matplotlib's settings"
print(fig.get_dpi())
"""


def test_importing_theorylab_changes_no_matplotlib_setting_and_figures_save_headless(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND", "WAYLAND_DISPLAY")}
    out = tmp_path / "phase.png"
    res = subprocess.run([sys.executable, "-c", HEADLESS, str(out)], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    from PIL import Image

    with Image.open(out) as im:  # saved at the style's 130 dpi: 15 x 4.2 inches
        assert im.size == (1950, 546)
