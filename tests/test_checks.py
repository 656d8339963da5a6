"""A user's Config and Problem are checked before anything runs: one line naming the field or
the function, exit 2, no directory made, nothing compiled.

The traps a new user fell into with the earlier code (each failed late, with a JAX traceback):
a Config without steps / log_every, a str field not marked static, a shape int not marked
static, and a default optimizer that silently assumes a field ``lr``.
"""

import subprocess
import sys
import textwrap

import pytest

import theorylab as tl

TEMPLATE = '''
import dataclasses
import jax, jax.numpy as jnp
import theorylab as tl

@dataclasses.dataclass(frozen=True)
class Config:
{fields}

def setup(key, cfg):
    return {{"w": jax.random.normal(key, ({shape},))}}, {{}}

def loss(params, data, cfg, key):
    return {loss}

def observe(params, data, cfg):
    return {{"norm": jnp.sum(params["w"] ** 2)}}

EXP = tl.Experiment(name="user/bad", summary="a user's experiment", config=Config,
                    problem=tl.Problem(setup=setup, loss=loss, observe=observe{extra}),
                    presets={{"smoke": tl.Preset(base={{}})}}, claims=lambda df, r: [], figures=lambda df, r: {{}})
'''

GOOD_FIELDS = """    n: int = tl.param(4, "width", static=True, lo=1)
    steps: int = tl.param(10, "steps", static=True, lo=1)
    log_every: int = tl.param(5, "log period", static=True, lo=1)
    lr: float = tl.param(0.1, "step size", lo=0.0, lo_open=True)"""

CASES = [  # (fields, shape, loss, extra, message)
    (GOOD_FIELDS.replace('    log_every: int = tl.param(5, "log period", static=True, lo=1)\n', ""),
     "cfg.n", "jnp.sum(params['w'] ** 2)", "",
     "Config has no field 'log_every': every Config needs log_every: int = param(..., static=True)"),
    (GOOD_FIELDS.replace('steps: int = tl.param(10, "steps", static=True, lo=1)', 'steps: int = tl.param(10, "steps", lo=1)'),
     "cfg.n", "jnp.sum(params['w'] ** 2)", "", "Config.steps must be a static int"),
    (GOOD_FIELDS + '\n    act: str = tl.param("relu", "activation")', "cfg.n", "jnp.sum(params['w'] ** 2)", "",
     "Config.act is a str field: declare it static=True"),
    (GOOD_FIELDS.replace('n: int = tl.param(4, "width", static=True, lo=1)', 'n: int = tl.param(4, "width", lo=1)'),
     "cfg.n", "jnp.sum(params['w'] ** 2)", "",
     "Config.n is used as a shape or in Python control flow by Problem.setup: declare it static=True"),
    (GOOD_FIELDS.replace('lr: float = tl.param(0.1, "step size", lo=0.0, lo_open=True)', 'eta: float = tl.param(0.1, "step")'),
     "cfg.n", "jnp.sum(params['w'] ** 2)", "",
     "Config has no float field 'lr', which the default optimizer (plain GD, step cfg.lr) reads"),
    (GOOD_FIELDS, "cfg.n", "jnp.sum(params['w'] ** 2) * cfg.temperature", "",
     "Problem.loss reads Config.temperature, which is not a field of Config"),
    (GOOD_FIELDS, "cfg.n", "params['w'] ** 2", "", "Problem.loss (cell base): Problem.loss must return a float scalar"),
    (GOOD_FIELDS, "cfg.n", "jnp.sum(params['w'] ** 2)", ", optimizer=lambda cfg: __import__('optax').adam(cfg.beta)",
     "Problem.optimizer reads Config.beta, which is not a field of Config"),
]


def _write(tmp_path, fields, shape, loss, extra):
    path = tmp_path / "user_exp.py"
    path.write_text(TEMPLATE.format(fields=fields, shape=shape, loss=loss, extra=extra))
    return path


@pytest.mark.parametrize("fields,shape,loss,extra,message", CASES)
def test_a_mistake_is_one_line_from_python_before_anything_runs(tmp_path, fields, shape, loss, extra, message):
    path = _write(tmp_path, fields, shape, loss, extra)
    with pytest.raises(tl.ConfigError) as err:
        tl.run(f"{path}:EXP", "smoke", out=tmp_path / "out")
    assert message in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()


def test_a_mistake_is_one_line_and_exit_2_from_the_command_line(tmp_path):
    fields, shape, loss, extra, message = CASES[3]  # the shape int not marked static
    path = _write(tmp_path, fields, shape, loss, extra)
    proc = subprocess.run([sys.executable, "-m", "theorylab.cli", "run", f"{path}:EXP", "--preset", "smoke",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


def test_the_good_experiment_runs_from_its_file(tmp_path):
    path = _write(tmp_path, GOOD_FIELDS, "cfg.n", "jnp.sum(params['w'] ** 2)", "")
    run = tl.run(str(path), "smoke", out=tmp_path / "ok")  # the file defines one experiment: no :NAME needed
    assert run.meta["experiment"]["ref"] == f"{path}"
    assert run.results["norm"].iloc[-1] < run.results["norm"].iloc[0]
    assert tl.check(run.dir).ok


@pytest.mark.parametrize("ref,message", [
    ("nope/missing", "unknown experiment 'nope/missing'"),
    ("no_such_file.py:EXP", "no_such_file.py' does not exist"),
    ("no_such_module_xyz:EXP", "cannot import module 'no_such_module_xyz'"),
    ("trust_fixtures:NOTHING", "trust_fixtures has no experiment 'NOTHING'"),
    ("trust_fixtures", "unknown experiment 'trust_fixtures'"),
])
def test_unknown_references_are_one_line_errors(ref, message):
    with pytest.raises(tl.ConfigError, match=message):
        tl.run(ref, "smoke")


def test_set_and_sweep_from_python_are_typed_and_checked(tmp_path):
    from trust_fixtures import QUADRATIC

    with pytest.raises(tl.ConfigError, match="Config.lr = -1 is not allowed"):
        tl.run(QUADRATIC, "stable", set={"lr": -1}, out=tmp_path / "a")
    with pytest.raises(tl.ConfigError, match="unknown config key 'width'"):
        tl.run(QUADRATIC, "stable", sweep={"width": [1, 2]}, out=tmp_path / "a")
    run = tl.run(QUADRATIC, "stable", set={"dim": "5"}, sweep={"lr": "lin:0.1:0.3:3"}, out=tmp_path / "b")
    assert sorted(run.results["lr"].unique()) == [0.1, 0.2, 0.3] and set(run.results["dim"]) == {5}
    assert run.dataset.sizes["lr"] == 3 and not (tmp_path / "a").exists()


def test_importing_theorylab_changes_no_global_state():
    code = textwrap.dedent("""
        import sys, jax
        before = dict(x64=jax.config.jax_enable_x64)
        import theorylab, theorylab.experiment, theorylab.lifecycle
        from theorylab.engine import fast_rng
        assert not [m for m in sys.modules if m.startswith("matplotlib")], "matplotlib imported"
        assert not [m for m in sys.modules if m.startswith("theorylab.papers")], "a paper imported"
        assert jax.config.jax_enable_x64 == before["x64"] and not fast_rng._installed
        print("clean")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "clean", out.stderr


def test_an_int_given_to_a_float_field_is_the_same_run_as_the_float(tmp_path):
    """mu_norm=6 in one cell and 6.0 in another: one identity, one stored column type."""
    from trust_fixtures import QUADRATIC

    run = tl.run(QUADRATIC, "stable", cells=[{"lr": 1, "a": 0.5}, {"lr": 1.0, "a": 0.5}, {"lr": 0.5, "a": 1}],
                 out=tmp_path / "c")
    assert len(run.resolved.cells) == 2 and run.results["lr"].dtype == float
