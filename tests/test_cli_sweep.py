"""--sweep specs: values, crossing with the preset's cells, and one-line errors before any compile."""

import io
import subprocess
import sys

import pytest

from theorylab import cli, loader
from theorylab.config import ConfigError
from theorylab.sweep.grid import parse_sweep, parse_sweeps, resolve
from theorylab.sweep.progress import LogProgress, RichProgress, for_stream

PHASE = loader.find("vit-benign/phase")
Config = PHASE.config


def test_sweep_values():
    assert parse_sweep(Config, "mu_norm=1,2.5,10") == ("mu_norm", [1.0, 2.5, 10.0])
    assert parse_sweep(Config, "lr=lin:0.1:0.3:3") == ("lr", [0.1, 0.2, 0.3])
    assert parse_sweep(Config, "lr=log:0.001:0.1:3") == ("lr", [0.001, 0.01, 0.1])
    assert parse_sweep(Config, "N=lin:2:20:10") == ("N", [2, 4, 6, 8, 10, 12, 14, 16, 18, 20])
    assert parse_sweep(Config, "N=log:2:32:5") == ("N", [2, 4, 8, 16, 32])
    assert parse_sweep(Config, "mu_norm=lin:5:5:1") == ("mu_norm", [5.0])
    assert parse_sweep(Config, "snr_noise=weak,strong") == ("snr_noise", ["weak", "strong"])


def test_sweeps_cross_with_each_other_and_with_the_preset_cells():
    preset = PHASE.presets["smoke"]  # cells: N in {2, 4, 8} x mu_norm in {1, 10, 40}
    sweeps = parse_sweeps(Config, ["lr=0.05,0.1", "sigma_weak=0.1,0.2"], {})
    r = resolve(PHASE.name, "smoke", Config, preset.base, preset.cells, 2, {}, sweeps)
    assert len(r.cells) == 9 * 2 * 2  # other keys: the preset's grid repeated at each point
    got = {(c.N, c.mu_norm, c.lr, c.sigma_weak) for _, c in r.cells}
    assert got == {(n, m, lr, s) for n in (2, 4, 8) for m in (1.0, 10.0, 40.0)
                   for lr in (0.05, 0.1) for s in (0.1, 0.2)}
    assert r.cells[0][0] == "N=2,mu_norm=1,lr=0.05,sigma_weak=0.1"
    # sweeping a key the preset's cells set replaces it there; duplicates are kept once
    r = resolve(PHASE.name, "smoke", Config, preset.base, preset.cells, 1, {},
                parse_sweeps(Config, ["mu_norm=5,7"], {}))
    assert sorted((c.N, c.mu_norm) for _, c in r.cells) == [(n, m) for n in (2, 4, 8) for m in (5.0, 7.0)]
    # sweeping every key the cells vary replaces the preset's grid
    r = resolve(PHASE.name, "smoke", Config, preset.base, preset.cells, 1, {},
                parse_sweeps(Config, ["N=4", "mu_norm=lin:1:3:3"], {}))
    assert [(c.N, c.mu_norm) for _, c in r.cells] == [(4, 1.0), (4, 2.0), (4, 3.0)]


BAD_SWEEPS = [
    (["--sweep", "width=1,2"], "unknown config key 'width'"),  # unknown key
    (["--sweep", "lr=lin:0.1:0.1:4"], "empty range"),  # empty range
    (["--sweep", "lr="], "empty list of values"),
    (["--sweep", "N=2,3.5"], "Config.N = '3.5' is not allowed; expected int >= 2"),  # wrong type
    (["--sweep", "lr=fast,slow"], "Config.lr = 'fast' is not allowed; expected float > 0"),
    (["--sweep", "snr_noise=lin:1:2:3"], "snr_noise is str"),
    (["--sweep", "lr=lin:0.1:0.2:0"], "n = 0; a range needs n >= 1 points"),  # n < 1
    (["--sweep", "lr=log:0:1:3"], "log ranges need a > 0"),
    (["--sweep", "lr=lin:0.1:0.2:x"], "n = 'x' is not an integer"),
    (["--sweep", "M=lin:1:3:3"], "Config.M = 1 is not allowed; expected int >= 3"),
    (["--sweep", "lr=0.1,0.2", "--sweep", "lr=0.3"], "'lr' is swept twice"),
    (["--sweep", "lr=0.1,0.2", "--set", "lr=0.3"], "also fixed by --set"),
    (["--executor", "ray", "--slurm", "partition=x"], "need --executor slurm"),
    (["--executor", "slurm"], "no sbatch on this machine"),  # this machine, CI's too, has no SLURM
]


@pytest.mark.parametrize("extra,message", BAD_SWEEPS)
def test_bad_sweep_spec_is_a_one_line_error_before_any_compile(extra, message, tmp_path, capsys):
    out = tmp_path / "never"
    assert cli.main(["run", "vit-benign/phase", "--preset", "smoke", *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists()


def test_bad_sweep_spec_exits_2_from_the_shell(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "theorylab.cli", "run", "vit-benign/phase", "--sweep",
                           "N=lin:2:8:0", "--out", str(tmp_path / "never")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "n = 0; a range needs n >= 1 points" in proc.stderr


class _Tty(io.StringIO):
    def isatty(self):
        return True


def _stats(i):
    return dict(index=i, runs=4, compile_s=2.0 if i == 0 else 0.0, train_s=0.5, batch_steps=100, run_steps=400)


def test_progress_plain_lines_off_a_terminal_and_a_rich_bar_on_one():
    plain = io.StringIO()
    p = for_stream(plain)
    assert type(p) is LogProgress
    p.start(3, 12, 1, 4)
    p.chunk_done(_stats(1))
    p.chunk_done(_stats(2))
    p.close()
    lines = plain.getvalue().splitlines()
    assert lines[0] == "resume: 1/3 chunks (4/12 runs) already stored"
    assert lines[1].startswith("chunk 2 done (2/3 chunks, 8/12 runs): 4 runs, 100 steps, compile 0.0s, train 0.5s;")
    assert lines[1].endswith("; 800 run-steps/s")  # 400 run-steps in 0.5 s of training
    assert lines[2].startswith("chunk 3 done (3/3 chunks, 12/12 runs)") and lines[2].endswith("; 800 run-steps/s")

    tty = _Tty()
    p = for_stream(tty)
    assert isinstance(p, RichProgress)
    p.start(3, 12, 0, 0)
    for i in range(3):
        p.chunk_done(_stats(i))
    p.close()
    screen = tty.getvalue()
    assert "3/3" in screen and "runs 12/12" in screen and "compile 2.0s" in screen and "800 run-steps/s" in screen


def test_unknown_sweep_key_is_a_config_error_naming_the_known_keys():
    with pytest.raises(ConfigError, match="known keys: d, M, N"):
        parse_sweep(Config, "width=1")
