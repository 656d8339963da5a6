"""examples/single_index.py, a user's experiment in one file: by path through the command line
(check in a new process finds it through the stored reference), from Python by path and as an
object, on a local Ray cluster (the same store as the local executor, bit for bit), the
one-line errors the README quotes, and its science on a small fast configuration.

Its cpu preset (every claim holding) runs in tests/test_science.py (make test-science).
"""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.figure import Figure

import theorylab as tl
from sweep_fixtures import assert_same_store
from theorylab import cli
from theorylab.store import manifest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "single_index.py"
REF = "examples/single_index.py:EXPERIMENT"  # as the README writes it, relative to the repository root
SMOKE_RUNS = 8  # 2 cells x 4 seeds


def theorylab_cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    """The console script in a new process (this interpreter, so the same environment)."""
    return subprocess.run([sys.executable, "-m", "theorylab.cli", *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def import_example(monkeypatch):
    """The module as a user imports it: its folder on sys.path, then ``import single_index``."""
    monkeypatch.syspath_prepend(str(EXAMPLE.parent))
    monkeypatch.delitem(sys.modules, "single_index", raising=False)
    return importlib.import_module("single_index")


@pytest.fixture(scope="module")
def local_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli") / "run"
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert cli.main(["run", REF, "--preset", "smoke", "--out", str(d)]) == 0
    finally:
        os.chdir(cwd)
    return d


def test_cli_by_path_run_check_report_list(local_store, tmp_path, capsys):
    for name in ("config.json", "summary.json", "report.html", "figures/overlap.png"):
        assert (local_store / name).is_file(), name
    meta = json.loads((local_store / "config.json").read_text())
    assert meta["experiment"]["ref"] == f"{EXAMPLE}:EXPERIMENT"  # made absolute: found from any directory
    summary = json.loads((local_store / "summary.json").read_text())
    assert summary["ok"] and not summary["figure_errors"]
    verdicts = {c["id"]: c["holds"] for c in summary["claims"]}
    assert verdicts == {"slope-k2": None, "recovery": True}  # smoke cannot test the slope (two small d)
    # a new process, in another directory, imports the file again from the stored reference
    proc = theorylab_cli("check", str(local_store), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[holds] recovery" in proc.stdout and "2/2 claims do not fail" in proc.stdout
    (local_store / "report.html").unlink()
    assert cli.main(["report", str(local_store)]) == 0
    assert (local_store / "report.html").stat().st_size > 10_000
    capsys.readouterr()
    assert cli.main(["list", str(EXAMPLE) + ":EXPERIMENT"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("example/single-index: ") and "preset cpu: 5 cells x 32 seeds" in out
    assert "c_lr  float  0.1  dynamic" in out and "d  int  256  static" in out


def test_python_api_by_path_and_by_object(local_store, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    run = tl.run(REF, preset="smoke", out=tmp_path / "path")
    assert run.experiment.name == "example/single-index" and run.ok
    assert set(run.figures) == {"overlap"} and all(isinstance(f, Figure) and f.axes for f in run.figures.values())
    assert {c.id: c.holds for c in run.claims} == {"slope-k2": None, "recovery": True}
    assert tl.check(run.dir).ok
    mod = import_example(monkeypatch)
    by_object = tl.run(mod.EXPERIMENT, preset="smoke", out=tmp_path / "object")
    assert by_object.meta["experiment"]["ref"] == f"{EXAMPLE.resolve()}:EXPERIMENT"  # not installed: by file
    assert tl.check(by_object.dir).ok
    for d in (run.dir, by_object.dir):  # whichever way it was found, the same runs give the same numbers
        assert_same_store(d, local_store, SMOKE_RUNS)


def test_a_run_of_an_imported_object_is_checkable_in_a_new_process(tmp_path, monkeypatch):
    """An Experiment imported through sys.path (not installed) is stored by its file path."""
    mod = import_example(monkeypatch)
    run = tl.run(mod.EXPERIMENT, preset="smoke", out=tmp_path / "object")
    assert run.meta["experiment"]["ref"] == f"{EXAMPLE.resolve()}:EXPERIMENT"
    proc = theorylab_cli("check", str(run.dir), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_ray_local_cluster_store_equals_local(local_store, tmp_path, one_ray_cluster_at_a_time):
    d = tmp_path / "ray"
    assert cli.main(["run", str(EXAMPLE), "--preset", "smoke", "--executor", "ray", "--ray-cpus", "2",
                     "--out", str(d)]) == 0
    assert json.loads((d / "summary.json").read_text())["timing"]["executor"] == "ray"
    writers = {e["pid"] for e in manifest.load(d).values()}  # every shard written by a Ray worker
    assert writers and os.getpid() not in writers
    assert cli.main(["check", str(d)]) == 0
    assert_same_store(d, local_store, SMOKE_RUNS)


BROKEN = [  # (edit of the example, the one-line error the README quotes)
    ('    c_lr: float', '    link: str = tl.param("hermite", "student link")\n    c_lr: float',
     "Config.link is a str field: declare it static=True (param(..., static=True)); only int and float fields "
     "can be swept as traced values"),
    ('    log_every: int = tl.param(64, "steps between log points (resolves T_1/2)", static=True, lo=1)\n', '',
     "Config has no field 'log_every': every Config needs log_every: int = param(..., static=True) "
     "(the step budget and the log interval)"),
    ('"input dimension (a shape: static)", static=True, lo=2)', '"input dimension", lo=2)',
     "Config.d is used as a shape or in Python control flow by Problem.setup: declare it static=True "
     "(param(..., static=True)) (cell k=2,c_lr=0.1,d=32,steps=2048,log_every=8)"),
]


@pytest.mark.parametrize("old,new,error", BROKEN, ids=["str-not-static", "no-log-every", "shape-not-static"])
def test_a_broken_example_is_a_one_line_error_before_any_compile(old, new, error, tmp_path, capsys):
    src = EXAMPLE.read_text()
    assert old in src
    path = tmp_path / "broken.py"
    path.write_text(src.replace(old, new))
    out = tmp_path / "out"
    assert cli.main(["run", f"{path}:EXPERIMENT", "--preset", "smoke", "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"theorylab: error: {error}\n"
    assert not out.exists()


def test_weak_recovery_time_grows_with_d(tmp_path, monkeypatch):
    """The science at a glance (seconds): 16 seeds at d = 16, 64, 256 with one step budget.
    Every run recovers beta (median final |m| > 0.9) and the median T_1/2 grows with d, by
    more than d itself over the range (k = 2: T_1/2 ~ d log d)."""
    mod = import_example(monkeypatch)
    run = tl.run(mod.EXPERIMENT, preset="smoke", set={"steps": 8192, "log_every": 16}, sweep={"d": [16, 64, 256]},
                 seeds=16, out=tmp_path / "run")
    med = mod.per_cell(run.results, run.resolved).set_index("d")
    assert list(med.index) == [16, 64, 256] and (med.fin > 0.9).all(), med
    t = med.t.to_numpy()
    assert t[0] < t[1] < t[2] < float("inf") and t[2] / t[0] > 16, med
