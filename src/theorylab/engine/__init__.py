"""The compiled trainer: jit(vmap over runs(scan over log points(loop over steps))).

Importing the engine changes no global state. The runner switches on the faster threefry
lowering (``fast_rng.install``) explicitly before it compiles a chunk.
"""

from theorylab.engine.keys import run_key
from theorylab.engine.trainer import Problem, StopReason, ChunkResult, compile_chunk

__all__ = ["run_key", "Problem", "StopReason", "ChunkResult", "compile_chunk"]
