"""The compiled trainer: jit(vmap over runs(scan over log points(loop over steps)))."""

from theorylab.engine.keys import run_key
from theorylab.engine.trainer import Problem, StopReason, ChunkResult, compile_chunk

__all__ = ["run_key", "Problem", "StopReason", "ChunkResult", "compile_chunk"]
