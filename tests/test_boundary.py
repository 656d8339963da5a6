"""The adaptive boundary search against a closed form and against the full grid.

GD on f(theta) = (a/2) theta^2 from theta_0 = 1 for T steps ends at loss (a/2)(1 - lr a)^(2T),
so along lr (for lr a < 1) the final loss falls below a level L exactly past
    lr*(a) = (1 - (2L/a)^(1/(2T))) / a.
"""

import dataclasses
import json
import math

import jax.numpy as jnp
import numpy as np
import pytest

import theorylab as tl
from theorylab import cli
from theorylab.sweep.bisect import Row, statistic

T, LEVEL = 50, 1e-3
LRS = [float(f"{v:.6g}") for v in np.geomspace(0.005, 0.2, 40)]
AS = [0.5, 1.0, 2.0, 4.0]


@dataclasses.dataclass(frozen=True)
class Config:
    steps: int = tl.param(T, "GD steps", static=True, lo=1)
    log_every: int = tl.param(T, "log period", static=True, lo=1)
    a: float = tl.param(1.0, "curvature", lo=0.0, lo_open=True)
    lr: float = tl.param(0.01, "step size", lo=0.0, lo_open=True)


PROBLEM = tl.Problem(setup=lambda key, cfg: (jnp.ones(()), {}),
                     loss=lambda th, data, cfg, key: 0.5 * cfg.a * th**2,
                     observe=lambda th, data, cfg: {"loss": 0.5 * cfg.a * th**2})
QUAD = tl.Experiment(name="test/quadratic-boundary", summary="GD on a quadratic", config=Config, problem=PROBLEM,
                     presets={"grid": tl.Preset(base={}, cells=tl.cross(a=AS, lr=LRS), seeds=1)},
                     claims=lambda df, r: [], figures=lambda df, r: {})


def lr_star(a):
    return (1 - (2 * LEVEL / a) ** (1 / (2 * T))) / a


def test_grid_search_equals_the_full_grid_with_a_fraction_of_the_runs(tmp_path):
    full = tl.run(QUAD, "grid", out=tmp_path / "full")
    fin = full.results.query("step == @T")
    b = tl.boundary(QUAD, along="lr", per="a", metric="loss", level=LEVEL, preset="grid", out=tmp_path / "b")
    for row in b.points.itertuples():
        sub = fin[fin["a"] == row.per]
        first = sub[sub["loss"] < LEVEL]["lr"].min()  # what the full grid says
        assert row.along_star == first and row.status == "done"
        assert LRS[LRS.index(first) - 1] < lr_star(row.per) <= first  # the closed form lies in the last grid step
    assert b.runs < 0.5 * len(AS) * len(LRS)  # 4 rows x ~17 probes, not 160 runs
    assert -1.2 < b.fit["slope"] < -0.8  # lr* ~ 1/a
    assert (b.dir / "boundary.png").stat().st_size > 10_000 and json.loads((b.dir / "boundary.json").read_text())["runs"] == b.runs


def test_continuous_search_converges_to_the_closed_form_and_resumes(tmp_path):
    kw = dict(along="lr", per="a", metric="loss", level=LEVEL, preset="grid", lo=0.005, hi=0.2, rounds=6)
    b = tl.boundary(QUAD, **kw, out=tmp_path / "c")
    for row in b.points.itertuples():
        assert row.along_star == pytest.approx(lr_star(row.per), rel=0.01)
    again = tl.boundary(QUAD, **kw, out=tmp_path / "c")  # every round is stored: nothing retrains
    assert again.points.equals(b.points)
    for d in sorted((tmp_path / "c").glob("round-*")):
        assert json.loads((d / "summary.json").read_text())["timing"]["chunks_skipped"] > 0


def test_boundary_cli_and_bad_input(tmp_path, capsys):
    assert cli.main(["boundary", "vit-benign/phase", "--along", "mu_norm", "--per", "N", "--metric", "test_loss",
                     "--level", "0.2", "--preset", "smoke", "--stat", "majority", "--out", str(tmp_path / "v")]) == 0
    out = capsys.readouterr().out
    assert "N = 2:" in out and "boundary.png" in out
    assert cli.main(["boundary", "vit-benign/phase", "--along", "mu", "--per", "N", "--metric", "test_loss",
                     "--level", "0.2", "--preset", "smoke"]) == 2
    assert "--along 'mu' is not a config field" in capsys.readouterr().err


def test_row_search_reads_the_direction_and_reports_rows_without_a_crossing():
    rising = Row(key=1, values=[1.0, 2.0, 3.0, 4.0, 5.0], grid=True)
    rising.update({a: a for a in rising.probes(1)}, level=3.5)  # metric rises with the axis
    assert rising.falling is False and rising.status in ("open", "done")
    flat = Row(key=2, values=[1.0, 2.0, 3.0], grid=True)
    flat.update({a: 10.0 for a in flat.probes(1)}, level=3.5)
    assert flat.status == "no-crossing" and math.isnan(flat.estimate(3.5))
    assert rising.monotone(3.5)
    noisy = Row(key=3, values=[float(v) for v in range(9)], grid=True)  # falls below 1 at 4, back up at 6
    metric = {0.0: 5.0, 2.0: 3.0, 4.0: 0.5, 6.0: 2.0, 8.0: 0.1}
    noisy.update({a: metric[a] for a in noisy.probes(3)}, level=1.0)
    assert noisy.falling and noisy.hi == 4 and not noisy.monotone(1.0)
    noisy.update({a: 0.5 for a in noisy.probes(3)}, level=1.0)  # 3 crossed as well: the first crossing seen
    assert noisy.status == "done" and noisy.estimate(1.0) == 3.0 and not noisy.monotone(1.0)
    assert statistic([0.1, 0.3, 0.1, 0.5], "majority", 0.2) < 0.2  # exactly half below: crossed
    assert statistic([0.1, 0.3, 0.4, 0.5], "majority", 0.2) > 0.2  # one of four below: not crossed
