"""A sweep killed with SIGKILL mid-way and resumed ends with the uninterrupted run's store."""

import fcntl
import json
import os
import signal
import subprocess
import sys

from sweep_fixtures import SMALL, assert_same_store
from theorylab import cli
from theorylab.store import manifest

# SMALL with 40 seeds: 6 cells x 40 seeds = 240 runs in 60 chunks of 4, one compiled program.
KILLED = [a if a != "2" else "40" for a in SMALL]
N_CHUNKS, N_RUNS = 60, 240


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    """The child logs one ~110-byte line per stored chunk to a 4 KiB pipe that we stop reading
    after the first one, so it blocks within ~40 chunks: the kill always lands mid-sweep,
    however fast the chunks train."""
    assert KILLED[KILLED.index("--seeds") + 1] == "40"
    d, ref = tmp_path / "killed", tmp_path / "ref"
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    proc = subprocess.Popen([sys.executable, "-m", "theorylab.cli", *KILLED, "--out", str(d)],
                            stdout=subprocess.DEVNULL, stderr=w)
    os.close(w)
    seen = []
    with open(r, "rb", buffering=0) as pipe:  # unbuffered: read no further than one line
        while not seen or not seen[-1].startswith(b"chunk "):
            line = pipe.readline()
            assert line, b"".join(seen).decode()  # the child died before storing a chunk
            seen.append(line)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    stored = len(manifest.load(d))
    assert 1 <= stored < N_CHUNKS  # killed mid-way
    assert not (d / "manifest.json").exists()  # the sweep never completed

    assert cli.main([*KILLED, "--out", str(d)]) == 0  # resume: the same command
    timing = json.loads((d / "summary.json").read_text())["timing"]
    assert timing["chunks"] == N_CHUNKS and timing["chunks_skipped"] >= stored
    assert cli.main([*KILLED, "--out", str(ref)]) == 0  # uninterrupted
    assert len(manifest.load(d)) == N_CHUNKS and not list((d / "runs").glob("*.tmp"))
    assert_same_store(d, ref, N_RUNS)
