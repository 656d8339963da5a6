"""Every preset of every shipped experiment resolves, validates and passes the dry run of the
contract checks (setup -> loss and gradient -> optimizer -> observe, traced, not compiled):
the first and the last cell of each preset, so a paper preset nobody ran for a while still
starts."""

import pytest

from theorylab import checks, lifecycle, loader

# Every preset resolves and validates in the default run (cheap: a config error in any preset
# fails here). The dry run traces setup, loss, optimizer and observe: the smoke presets in the
# default run, every other preset with -m slow. A cpu preset traces the same functions as its smoke
# preset at other sizes (the science gate runs it whole), and the icl-lowdim cpu traces cost 7-12 s
# each on this 2-core machine, and CI took 662 s, over the 10-minute guide.
ALL = [pytest.param(name, preset, id=f"{name}:{preset}") for name, exp in loader.builtin().items()
       for preset in exp.presets]
TRACED = [pytest.param(*p.values, id=p.id, marks=() if p.values[1] == "smoke" else pytest.mark.slow) for p in ALL]


def _resolved(name, preset):
    exp, ref = lifecycle.experiment_of(name)
    assert ref == name
    resolved, _ = lifecycle.resolve_grid(exp, preset)
    assert resolved.cells and resolved.seeds >= 1
    return exp, resolved


@pytest.mark.parametrize("name,preset", ALL)
def test_preset_resolves_and_validates(name, preset):
    _resolved(name, preset)


@pytest.mark.parametrize("name,preset", TRACED)
def test_preset_passes_the_dry_run(name, preset):
    exp, resolved = _resolved(name, preset)
    for label, cfg in (resolved.cells[0], resolved.cells[-1]):
        obs = checks.check_run(exp, cfg, f"{name} --preset {preset}, cell {label}")
        assert obs and all(hasattr(v, "shape") for v in obs.values())


def test_every_shipped_experiment_has_smoke_cpu_and_paper_presets():
    for name, exp in loader.builtin().items():
        assert {"smoke", "cpu", "paper"} <= set(exp.presets), name
