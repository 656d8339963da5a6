"""The science: every cpu preset of every experiment, with every claim it can test holding.

Not part of the default run (it takes tens of minutes on 2 cores): ``make test-science`` or
``pytest -m science``. Run it before calling a paper done and after any change to the engine
or a block. A claim the preset cannot test (``Preset.untested``) may be None; every other
claim must hold, and no run may diverge unexpectedly.
"""

from pathlib import Path

import pytest

import theorylab as tl
from theorylab import loader

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(str(p) for p in (ROOT / "examples").glob("*.py"))
EXPERIMENTS = [name for name, exp in loader.builtin().items() if "cpu" in exp.presets] + EXAMPLES


@pytest.mark.science
@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=[Path(e).name if e.endswith(".py") else e for e in EXPERIMENTS])
def test_cpu_preset_claims_hold(experiment, tmp_path):
    run = tl.run(experiment, "cpu", out=tmp_path / "run")
    assert not run.summary["figure_errors"], run.summary["figure_errors"]  # a figure that failed to draw
    for fig in run.figures.values():
        assert fig.axes
    failing = [f"{c.id}: {c.measured} (predicted {c.predicted}; {c.note})" for c in run.claims if c.holds is False]
    assert not failing, "\n".join(failing)
    texts = {c.id: " ".join(str(v) for v in (c.statement, c.predicted, c.measured, c.tolerance, c.note)) for c in run.claims}
    assert not [i for i, t in texts.items() if "np.int" in t or "np.float" in t], texts  # numpy reprs, not numbers
    assert not run.diverged, run.diverged
    unknown = set(run.experiment.presets["cpu"].untested) - {"*"} - {c.id for c in run.claims}
    assert not unknown, f"Preset.untested names no claim: {sorted(unknown)}"  # a stale id would hide nothing
    assert any(c.holds is True for c in run.claims)
    assert tl.check(run.dir).ok
