"""Executors: who trains the chunks of a sweep. One small interface, three back-ends.

    executor.run(job, problem, todo, on_done)
        train and store every chunk in ``todo`` (a list of engine.chunking.Chunk), calling
        ``on_done(stats)`` on the driver once per finished chunk, in completion order.

* ``LocalExecutor``: in-process, ``workers`` chunks at a time in threads (default 2): one XLA
  CPU program leaves cores idle (its loop control, small fusions and the data draw run on
  one thread), so two side by side finish a sweep sooner; chunks of different programs go
  first, so those compile side by side too.
* ``RayExecutor``: Ray core, one task per chunk (never one per run); each task rebuilds the
  plan from the ``SweepJob`` and writes its shard and manifest entry into the shared run
  directory. ``address`` joins an existing cluster; without it a local one starts (or one
  already started in this process by ``ray.init`` is used).
* ``SlurmExecutor``: submitit job arrays, one array task per group of ``chunks_per_task``
  chunks. The task is ``submitit.helpers.Checkpointable``: on preemption or time-out SLURM
  signals it, submitit requeues the same call, and the requeued task skips the chunks its
  earlier life already stored. ``cluster="local"`` runs the array tasks as local processes
  (submitit's LocalExecutor), for testing without SLURM.
"""

from __future__ import annotations

import importlib.util
import itertools
import shutil
from pathlib import Path
from typing import Any, Callable

from theorylab.config import ConfigError
from theorylab.sweep.runner import SweepJob, run_chunk, run_chunks

OnDone = Callable[[dict], None]


def _require(module: str, message: str) -> None:
    """Fail with a one-line install hint at construction, before anything is written or compiled."""
    if importlib.util.find_spec(module) is None:
        raise ConfigError(message)


class LocalExecutor:
    name = "local"

    def __init__(self, workers: int = 2):
        if workers < 1:
            raise ConfigError(f"--workers = {workers}; expected int >= 1")
        self.workers = workers

    def run(self, job: SweepJob, problem, todo, on_done: OnDone) -> None:
        run_dir = Path(job.run_dir)
        if self.workers == 1:
            for ch in todo:
                on_done(run_chunk(problem, ch, run_dir))
            return
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        order = iter(interleave_programs(todo))
        with ThreadPoolExecutor(self.workers, thread_name_prefix="theorylab-chunk") as pool:
            # keep `workers` chunks in flight; on_done runs here, on the driver's thread
            pending = {pool.submit(run_chunk, problem, ch, run_dir) for ch in itertools.islice(order, self.workers)}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    on_done(fut.result())  # re-raises a chunk's error; the pool drains on exit
                    nxt = next(order, None)
                    if nxt is not None:
                        pending.add(pool.submit(run_chunk, problem, nxt, run_dir))


def interleave_programs(todo: list) -> list:
    """Chunks reordered round-robin over their static configs (one compiled program each), so
    the first chunks started need different programs: with several workers those compile in
    parallel instead of every worker waiting for the one program of the first group."""
    groups: dict[str, list] = {}
    for ch in todo:
        groups.setdefault(ch.static_key, []).append(ch)
    out, queues = [], list(groups.values())
    while queues:
        out.extend(q.pop(0) for q in queues)
        queues = [q for q in queues if q]
    return out


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, max_retries: int = 2):
        self.address, self.num_cpus, self.max_retries = address, num_cpus, max_retries
        _require("ray", "--executor ray needs Ray: pip install 'theorylab[ray]'")

    def run(self, job: SweepJob, problem, todo, on_done: OnDone) -> None:
        import ray

        started_here = not ray.is_initialized()
        if started_here:
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                # "local": a new instance, even if a `ray start` cluster runs on this machine
                ray.init(address="local", num_cpus=self.num_cpus, include_dashboard=False, log_to_driver=False)
        try:
            task = ray.remote(num_cpus=1, max_retries=self.max_retries)(run_chunks)
            pending = [task.remote(job, [ch.index], [ch.digest]) for ch in todo]
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for stats in ray.get(ready[0]):
                    on_done(stats)
        finally:
            if started_here:
                ray.shutdown()


class SlurmExecutor:
    name = "slurm"

    def __init__(self, folder: Path | None = None, chunks_per_task: int = 1, cluster: str = "slurm",
                 options: dict[str, Any] | None = None, poll_s: float | None = None):
        if chunks_per_task < 1:
            raise ConfigError(f"--chunks-per-task = {chunks_per_task}; expected int >= 1")
        if cluster not in ("slurm", "local", "debug"):
            raise ConfigError(f"--slurm-cluster {cluster!r}; allowed: slurm, local, debug")
        self.folder, self.chunks_per_task, self.cluster = folder, chunks_per_task, cluster
        self.options = {"timeout_min": 60, **(options or {})}
        self.poll_s = poll_s or (10.0 if cluster == "slurm" else 0.5)  # spare the scheduler, not local runs

        _require("submitit", "--executor slurm needs submitit: pip install 'theorylab[slurm]'")
        if self.cluster == "slurm" and shutil.which("sbatch") is None:
            raise ConfigError("--executor slurm: no sbatch on this machine; run on a SLURM login node "
                              "(or --slurm-cluster local to run the array tasks as local processes)")

    def run(self, job: SweepJob, problem, todo, on_done: OnDone) -> None:
        import submitit

        folder = Path(self.folder or Path(job.run_dir) / "slurm")
        ex = submitit.AutoExecutor(folder=folder / "%j", cluster=self.cluster)
        try:
            ex.update_parameters(name=f"theorylab-{Path(job.run_dir).name}", **self.options)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"--slurm option: {str(e).splitlines()[0]}") from None
        k = self.chunks_per_task
        groups = [todo[i:i + k] for i in range(0, len(todo), k)]
        from theorylab.sweep.slurm_task import ChunkGroupTask

        task = ChunkGroupTask()
        jobs = ex.map_array(task, [job] * len(groups), [[c.index for c in g] for g in groups],
                            [[c.digest for c in g] for g in groups])
        for j in submitit.helpers.as_completed(jobs, poll_frequency=self.poll_s):
            for stats in j.result():  # re-raises a failed task's error, with its traceback
                on_done(stats)
