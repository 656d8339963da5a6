"""The compiled trainer: jit(vmap over runs(scan over log points(loop over steps)))."""

from theorylab.engine import fast_rng
from theorylab.engine.keys import run_key
from theorylab.engine.trainer import Problem, StopReason, ChunkResult, compile_chunk

__all__ = ["run_key", "Problem", "StopReason", "ChunkResult", "compile_chunk"]

fast_rng.install()  # same random bits, 3-4x faster draws on CPU (see fast_rng)
