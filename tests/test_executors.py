"""Ray (a real local cluster of 2 CPUs) and SLURM through submitit's local executor give the
local executor's store, row for row."""

import json
import os

import pytest

from sweep_fixtures import SMALL, SMALL_CHUNKS, SMALL_RUNS, assert_same_store
from theorylab import cli
from theorylab.store import manifest


@pytest.fixture(scope="module")
def local_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("local") / "run"
    assert cli.main([*SMALL, "--out", str(d)]) == 0
    return d


def test_local_workers_side_by_side_store_equals_one_at_a_time(local_store, tmp_path):
    """The default local executor trains 2 chunks at a time in threads; one worker gives the
    same store bit for bit, and the interleaved order starts one chunk of each program first."""
    from theorylab.engine.chunking import plan
    from theorylab.papers import vit_benign
    from theorylab.sweep.executors import interleave_programs

    assert cli.main([*SMALL, "--workers", "1", "--out", str(tmp_path / "one")]) == 0
    assert_same_store(tmp_path / "one", local_store, SMALL_RUNS)
    from theorylab.sweep.grid import resolve

    p = vit_benign.PHASE_SMOKE  # 3 values of N x 3 of |mu| x 2 seeds: 3 programs, 2 chunks each
    res = resolve("vit-benign/phase", "smoke", vit_benign.Config, p.base, p.cells, p.seeds, {})
    chunks = plan(vit_benign.PROBLEM, res.runs(), 2**30, max_chunk=3, use_buckets=False)
    order = [ch.static_cfg.N for ch in interleave_programs(chunks)]
    assert [ch.static_cfg.N for ch in chunks] == [2, 2, 4, 4, 8, 8] and order == [2, 4, 8, 2, 4, 8]


def test_ray_local_cluster_store_equals_local(local_store, tmp_path, one_ray_cluster_at_a_time):
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)  # a real local cluster
    try:
        assert cli.main([*SMALL, "--executor", "ray", "--out", str(tmp_path / "ray")]) == 0
    finally:
        ray.shutdown()
    timing = json.loads((tmp_path / "ray" / "summary.json").read_text())["timing"]
    assert timing["executor"] == "ray" and timing["chunks"] == SMALL_CHUNKS
    # every shard was written by a Ray worker process, not by this driver
    writers = {e["pid"] for e in manifest.load(tmp_path / "ray").values()}
    assert writers and os.getpid() not in writers
    assert_same_store(tmp_path / "ray", local_store, SMALL_RUNS)


def test_slurm_backend_with_submitit_local_executor_store_equals_local(local_store, tmp_path):
    d = tmp_path / "slurm"
    argv = [*SMALL, "--executor", "slurm", "--slurm-cluster", "local", "--chunks-per-task", "2",
            "--slurm", "timeout_min=10", "--out", str(d)]
    assert cli.main(argv) == 0
    # a job array of ceil(3 / 2) = 2 tasks, each with its own submitit folder and result
    results = sorted((d / "slurm").glob("*/*_result.pkl"))
    assert len(results) == 2
    writers = {e["pid"] for e in manifest.load(d).values()}
    assert len(writers) == 2 and os.getpid() not in writers  # two array tasks, both processes
    assert_same_store(d, local_store, SMALL_RUNS)
    # rerun: every chunk is stored, so nothing is submitted
    assert cli.main(argv) == 0
    assert json.loads((d / "summary.json").read_text())["timing"]["chunks_skipped"] == SMALL_CHUNKS
    assert len(sorted((d / "slurm").glob("*/*_result.pkl"))) == 2
    assert len(manifest.load(d)) == SMALL_CHUNKS


def test_a_requeued_array_task_skips_the_chunks_it_already_stored(local_store, tmp_path):
    """What submitit's requeue calls again: the same task on the same chunk group."""
    from theorylab.loader import lookup_problem as lookup
    from theorylab.sweep.runner import SweepJob, job_plan
    from theorylab.sweep.slurm_task import ChunkGroupTask

    d = tmp_path / "requeue"
    meta = json.loads((local_store / "config.json").read_text())
    job = SweepJob("vit-benign/phase", meta["resolved"], str(d), lookup, max_chunk=4)
    _, chunks = job_plan(job)
    task = ChunkGroupTask()
    first = task(job, [0, 1], [chunks[0].digest, chunks[1].digest])
    assert [s["skipped"] for s in first] == [False, False]
    again = task.checkpoint(job, [0, 1, 2], [c.digest for c in chunks])  # a DelayedSubmission
    stats = again.result()
    assert [s["skipped"] for s in stats] == [True, True, False]
    with pytest.raises(RuntimeError, match="digest"):
        task(job, [0], ["0123456789abcdef"])
