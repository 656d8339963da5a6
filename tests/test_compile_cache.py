"""Compiled chunk programs persist on disk: a second process loads the program (a cache hit)
instead of recompiling it; THEORYLAB_COMPILE_CACHE=off leaves JAX without a cache directory."""

import json
import os
import subprocess
import sys

SCRIPT = r"""
import json, jax
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # cache even a fast compile
events = []
jax.monitoring.register_event_listener(lambda name, **kw: events.append(name))
from theorylab.config import dynamic_names
from theorylab.engine.trainer import compile_chunk
from theorylab.papers import vit_benign
cfg = vit_benign.Config(d=8, M=3, N=2, n_test=2, d_h=4, d_v=4, steps=2, log_every=1)
fn, compile_s = compile_chunk(vit_benign.PROBLEM, cfg, dynamic_names(vit_benign.Config), 2, 2, 1)
print(json.dumps(dict(hits=events.count("/jax/compilation_cache/cache_hits"),
                      dir=jax.config.jax_compilation_cache_dir)))
"""


def _run(env_value):
    env = dict(os.environ, THEORYLAB_COMPILE_CACHE=str(env_value))
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_loads_the_compiled_program_from_disk(tmp_path):
    first = _run(tmp_path)
    assert first["dir"] == str(tmp_path) and first["hits"] == 0
    assert any(tmp_path.iterdir())  # the program was written
    second = _run(tmp_path)
    assert second["hits"] >= 1


def test_cache_off_gives_jax_no_cache_directory(tmp_path):
    out = _run("off")
    assert out["dir"] is None and out["hits"] == 0
