"""Test-session set-up shared by every test file.

Under pytest-xdist (``make test`` runs ``-n auto``: one worker per core) each worker's XLA runs
single-threaded: two workers that each spread their programs over every core starve each other
on a 2-core machine, while one thread each keeps both cores busy. The flags must be set before
JAX is imported, which is why they live here and not in a fixture.
"""

import fcntl
import os
import tempfile

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["XLA_FLAGS"] = " ".join(
        [os.environ.get("XLA_FLAGS", ""), "--xla_cpu_multi_thread_eigen=false", "intra_op_parallelism_threads=1"]
    ).strip()


@pytest.fixture
def one_ray_cluster_at_a_time():
    """Serialise the tests that start a local Ray cluster across xdist workers (an exclusive
    lock on a file): two clusters side by side would each claim the machine's CPUs and shared
    memory."""
    with open(os.path.join(tempfile.gettempdir(), "theorylab-tests-ray.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
