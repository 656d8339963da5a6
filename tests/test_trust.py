"""Verdicts you can trust: a diverged run, a failing claims function and the compile cache.

Each of the three failures reported against the earlier code has a test here:
* a run where every run diverged passed ``check`` (mamba-icl at d = 20);
* a legal ``--set`` crashed after training (mamba-icl ``baselines=false``: KeyError in the claims);
* the compile cache was keyed on ``id(problem)``: a Problem created later at a recycled address
  got another Problem's program.
"""

import gc
import json
import subprocess
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import theorylab as tl
from theorylab import cli
from theorylab.config import dynamic_names
from theorylab.engine.trainer import compile_chunk
from trust_fixtures import EXPECTED, QUADRATIC, RAISING, Config

HERE = Path(__file__).parent


def test_a_diverged_run_is_counted_flagged_left_out_and_fails_check(tmp_path):
    run = tl.run(QUADRATIC, "smoke", out=tmp_path / "q")
    s = run.summary
    assert s["stops"]["unstable"] == {"diverged": 2} and s["stops"]["stable"] == {"budget": 2}
    assert s["diverged"] == {"unstable": 2} and not s["ok"] and not run.ok
    claims = {c.id: c for c in run.claims}
    assert claims["converges[stable]"].holds is True
    # the unstable cell's runs were left out of the claims' input: its claim had no data and,
    # since runs failed, "no verdict" became a failure with the reason
    bad = claims["converges[unstable]"]
    assert bad.holds is False and "2 runs diverged in cells unstable (2)" in bad.note
    html = run.report.read_text()
    assert "id='diverged-banner'" in html and "2 runs DIVERGED" in html
    res = tl.check(run.dir)
    assert not res.ok and res.diverged == {"unstable": 2}
    assert cli.main(["check", str(run.dir)]) == 1
    # the stored rows keep the diverged runs, with their reason
    assert set(run.results.query("cell == 'unstable'")["stop_reason"]) == {"diverged"}


def test_divergence_declared_expected_does_not_fail_check(tmp_path):
    run = tl.run(EXPECTED, "smoke", out=tmp_path / "q")
    assert run.summary["diverged"] == {} and run.summary["expected_divergence"] == {
        "unstable": "lr a > 2: GD on a quadratic diverges"}
    claims = {c.id: c for c in run.claims}
    assert claims["converges[unstable]"].holds is False  # the runs are kept: their loss is huge
    html = run.report.read_text()
    assert "as the experiment expects" in html and "id='diverged-banner'" not in html
    assert tl.check(run.dir).diverged == {}


def test_a_claims_function_that_raises_loses_nothing(tmp_path):
    run = tl.run(RAISING, "smoke", out=tmp_path / "r")
    (claim,) = run.claims
    assert claim.id == "claims-error" and claim.holds is False and claim.measured.startswith("KeyError")
    assert "trust_fixtures.py" in claim.note
    assert run.report.exists() and (run.dir / "figures" / "loss.png").exists()
    assert len(run.results) == 5  # one run, log points 0, 50, .., 200: stored
    assert cli.main(["check", str(run.dir)]) == 1


def test_every_run_diverged_fails_check_on_a_shipped_experiment(tmp_path, capsys):
    """mamba-icl at d = 20, a dimension of the paper, with a step size far too large: every run
    diverges; the claim has no large-N cell. Before, check printed "1/1 claims do not fail"."""
    d = tmp_path / "m"
    argv = ["run", "mamba-icl/context-length", "--preset", "smoke", "--set", "d=20", "--set", "step_rule=fixed",
            "--set", "lr=0.05", "--set", "baselines=false", "--out", str(d)]
    assert cli.main(argv) == 0
    s = json.loads((d / "summary.json").read_text())
    assert sum(s["diverged"].values()) == 4 and not s["ok"]
    capsys.readouterr()
    assert cli.main(["check", str(d)]) == 1
    assert "4 runs diverged unexpectedly" in capsys.readouterr().out


def test_mamba_context_length_without_baselines_finishes_with_a_report(tmp_path):
    """--set baselines=false used to train and then die in the claims with KeyError 'curve_la'."""
    d = tmp_path / "nb"
    assert cli.main(["run", "mamba-icl/context-length", "--preset", "smoke", "--set", "baselines=false",
                     "--out", str(d)]) == 0
    s = json.loads((d / "summary.json").read_text())
    assert not [c for c in s["claims"] if c["id"] == "claims-error"] and not s["figure_errors"]
    assert (d / "report.html").exists()


def _problem_returning(value: float) -> tl.Problem:
    return tl.Problem(setup=lambda key, cfg: (jnp.zeros(2), {}),
                      loss=lambda p, data, cfg, key: jnp.sum(p**2),
                      observe=lambda p, data, cfg: {"value": jnp.asarray(value)})


def test_compile_cache_never_serves_another_problems_program():
    """Problems built in a loop and dropped: CPython reuses their addresses, and a cache keyed
    on id(problem) handed Problem #8 the program of Problem #4. Each must observe its own value."""
    cfg = Config(steps=2, log_every=1)
    keys = np.zeros((1, 2), np.uint32)
    dyn = {n: np.array([getattr(cfg, n)]) for n in dynamic_names(Config)}
    addresses = set()
    for i in range(12):
        problem = _problem_returning(float(i))
        addresses.add(id(problem))
        fn, _ = compile_chunk(problem, cfg, dynamic_names(Config), 1, 2, 1)
        assert float(fn(keys, dyn).obs["value"][0, 0]) == float(i)
        del problem, fn
        gc.collect()


def test_x64_draws_and_trains_in_float64(tmp_path):
    """--x64: the init is drawn in float64 (observed dtype), and the flag is stored for a resume."""
    code = ("import sys; sys.path.insert(0, %r); import theorylab as tl; from trust_fixtures import QUADRATIC; "
            "r = tl.run(QUADRATIC, 'stable', out=%r, x64=True); print(r.results['float_bits'].unique())"
            % (str(HERE), str(tmp_path / "x")))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "[64.]" in out.stdout
    assert json.loads((tmp_path / "x" / "config.json").read_text())["x64"] is True
    plain = tl.run(QUADRATIC, "stable", out=tmp_path / "f")
    assert set(plain.results["float_bits"]) == {32.0}
    with pytest.raises(tl.ConfigError, match="different config"):  # same grid, other float width
        tl.run(QUADRATIC, "stable", out=tmp_path / "x")
