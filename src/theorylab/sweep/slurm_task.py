"""The SLURM array task (needs submitit: ``pip install 'theorylab[slurm]'``).

A module of its own so that importing ``sweep.executors`` never needs submitit, while the
task class stays importable by name in the array task (pickled by reference).
"""

from __future__ import annotations

import submitit

from theorylab.sweep.runner import SweepJob, run_chunks


class ChunkGroupTask(submitit.helpers.Checkpointable):
    """One array task: train and store a group of chunks.

    Checkpointable: when SLURM preempts the task or its time limit nears, submitit calls
    ``checkpoint`` (inherited: resubmit this same call) and requeues it. The requeued task
    skips every chunk its earlier life already stored (``run_chunks`` checks the manifest),
    so the only work lost is the chunk that was training when the signal came.
    """

    def __call__(self, job: SweepJob, indices: list[int], digests: list[str]) -> list[dict]:
        return run_chunks(job, indices, digests)
