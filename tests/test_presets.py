"""Every preset of every shipped experiment resolves, validates and passes the dry run of the
contract checks (setup -> loss and gradient -> optimizer -> observe, traced, not compiled):
the first and the last cell of each preset, so a paper preset nobody ran for a while still
starts."""

import pytest

from theorylab import checks, lifecycle, loader

# smoke and cpu presets in the default run; the others (paper, extra variants) with -m slow
PRESETS = [pytest.param(name, preset, id=f"{name}:{preset}",
                        marks=() if preset in ("smoke", "cpu") else pytest.mark.slow)
           for name, exp in loader.builtin().items() for preset in exp.presets]


@pytest.mark.parametrize("name,preset", PRESETS)
def test_preset_resolves_and_passes_the_dry_run(name, preset):
    exp, ref = lifecycle.experiment_of(name)
    assert ref == name
    resolved, _ = lifecycle.resolve_grid(exp, preset)
    assert resolved.cells and resolved.seeds >= 1
    for label, cfg in (resolved.cells[0], resolved.cells[-1]):
        obs = checks.check_run(exp, cfg, f"{name} --preset {preset}, cell {label}")
        assert obs and all(hasattr(v, "shape") for v in obs.values())


def test_every_shipped_experiment_has_smoke_cpu_and_paper_presets():
    for name, exp in loader.builtin().items():
        assert {"smoke", "cpu", "paper"} <= set(exp.presets), name
