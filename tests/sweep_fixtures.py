"""Shared by the store / sweep / executor / report tests: one small sweep and store comparison.

SMALL is 3 x 2 swept cells x 2 seeds = 12 runs in 3 chunks of 4 that all share one static
config, so it compiles one program per process (in-process runs reuse it across tests).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from theorylab.store.shards import read_runs

SMALL = ["run", "vit-benign/phase", "--preset", "smoke", "--set", "N=4", "--sweep", "mu_norm=1,10,40",
         "--sweep", "lr=0.05,0.1", "--seeds", "2", "--max-chunk", "4"]
SMALL_RUNS, SMALL_CHUNKS = 12, 3


def store(run_dir: Path) -> pd.DataFrame:
    """The stored rows in a canonical order (shard order and file names do not matter)."""
    return read_runs(run_dir).sort_values(["run_id", "step"]).reset_index(drop=True)


def assert_same_store(a: Path, b: Path, n_runs: int) -> None:
    """Same rows (every column, bit for bit), no duplicated (run, step), no run missing."""
    da, db = store(a), store(b)
    assert not da.duplicated(["run_id", "step"]).any() and not db.duplicated(["run_id", "step"]).any()
    assert da["run_id"].nunique() == n_runs
    pd.testing.assert_frame_equal(da, db, check_exact=True)


# ---------------------------------------------------------------------------------------
# A toy experiment for runner-level tests: GD on f(w) = |w - target|^2, w in R^2, so that
#     w_t - target = (1 - 2 lr)^t (w_0 - target),   dist_t = (1 - 2 lr)^(2t) dist_0.
# It compiles in about a second, and its numbers have a closed form.

import dataclasses  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from theorylab.config import param  # noqa: E402
from theorylab.engine.trainer import Problem  # noqa: E402


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    steps: int = param(20, "GD steps", static=True, lo=1)
    log_every: int = param(10, "steps between log points", static=True, lo=1)
    lr: float = param(0.1, "step size", lo=0.0, lo_open=True)
    target: float = param(1.0, "minimiser (both coordinates)")


def toy_setup(key, cfg):
    return {"w": jax.random.normal(key, (2,))}, {"target": jnp.asarray(cfg.target, jnp.float32)}  # w: [2]


def toy_loss(params, data, cfg, key):
    del cfg, key
    return jnp.sum((params["w"] - data["target"]) ** 2)


def toy_observe(params, data, cfg):
    return {"dist": jnp.sum((params["w"] - data["target"]) ** 2)}


TOY = Problem(setup=toy_setup, loss=toy_loss, observe=toy_observe)


def toy_lookup(name: str):
    assert name == "toy"
    return ToyConfig, TOY
