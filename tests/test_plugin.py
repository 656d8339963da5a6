"""An experiment shipped as a plugin: tests/plugin_pkg (distribution theorylab-demo-plugin, module
demo_plugin) declares an entry point in the group "theorylab.experiments". pip installs it for
real into a temporary target (a wheel, a .dist-info with entry_points.txt); then, in new
processes with that target on PYTHONPATH, ``theorylab list`` marks its experiment "(plugin)",
``theorylab run NAME`` runs it by name, and ``theorylab check`` finds it again through the name
stored in config.json. Without the plugin installed, check says so in one line.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent / "plugin_pkg"
NAME = "demo-plugin/quadratic"


def theorylab_cli(*argv: str, cwd: Path, site: Path | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run([sys.executable, "-m", "theorylab.cli", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The plugin installed by pip into a fresh target directory (offline: its build backend is
    in the package and needs nothing, see plugin_pkg/build_backend.py)."""
    target = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                           "--target", str(target), str(PKG)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return target


def test_pip_installs_a_dist_info_with_the_entry_point(site):
    (info,) = site.glob("theorylab_demo_plugin-0.1.0.dist-info")
    assert (info / "entry_points.txt").read_text().split() == ["[theorylab.experiments]", "demo-plugin", "=",
                                                               "demo_plugin:EXPERIMENTS"]
    assert "demo_plugin/__init__.py" in (info / "RECORD").read_text()
    assert (site / "demo_plugin" / "__init__.py").is_file()


def test_list_marks_the_plugin_experiment(site, tmp_path):
    proc = theorylab_cli("list", cwd=tmp_path, site=site)
    assert proc.returncode == 0, proc.stderr
    (line,) = [ln for ln in proc.stdout.splitlines() if ln.startswith(NAME)]
    assert line.endswith("[presets: smoke, cpu, paper] (plugin)")
    assert "warning" not in proc.stderr
    assert NAME not in theorylab_cli("list", cwd=tmp_path, site=None).stdout


def test_run_by_name_then_check_in_a_new_process(site, tmp_path):
    out = tmp_path / "run"
    proc = theorylab_cli("run", NAME, "--preset", "smoke", "--out", str(out), cwd=tmp_path, site=site)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[holds] rate" in proc.stdout
    stored = json.loads((out / "config.json").read_text())["experiment"]
    assert {k: stored[k] for k in ("name", "ref")} == {"name": NAME, "ref": NAME} and len(stored["source"]) == 16
    assert (out / "report.html").is_file() and (out / "figures" / "distance.png").is_file()
    check = theorylab_cli("check", str(out), cwd=tmp_path, site=site)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "1/1 claims do not fail" in check.stdout
    # the stored reference is the plugin's experiment name: without the plugin, a one-line error
    missing = theorylab_cli("check", str(out), cwd=tmp_path, site=None)
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"theorylab: error: unknown experiment {NAME!r}")
    assert len(missing.stderr.strip().splitlines()) == 1
