"""The result store: manifest entries, corrupt and truncated shards, resume, --force, readers."""

import json
import shutil

import numpy as np
import pytest

from sweep_fixtures import SMALL, SMALL_CHUNKS, SMALL_RUNS, assert_same_store, store
from theorylab import cli
from theorylab.store import manifest
from theorylab.store.readers import query, to_xarray
from theorylab.store.shards import StoreError, read_runs


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    d = tmp_path_factory.mktemp("small") / "run"
    assert cli.main([*SMALL, "--out", str(d)]) == 0
    return d


def _copy(src, tmp_path, name="copy"):
    dst = tmp_path / name
    shutil.copytree(src, dst)
    return dst


def test_every_chunk_has_a_manifest_entry_that_vouches_for_its_shard(small):
    entries = manifest.load(small)
    assert len(entries) == SMALL_CHUNKS
    df = read_runs(small)
    assert len(df) == SMALL_RUNS * 2  # smoke: steps 100, log_every 100 -> log points 0 and 100
    for digest, e in entries.items():
        assert e["shard"].endswith(f"-{digest}.parquet")
        assert manifest.check(small, e) is None
        assert set(e["run_ids"]) == set(df[df["run_id"].isin(e["run_ids"])]["run_id"])
    index = json.loads((small / "manifest.json").read_text())
    assert index["complete"] and [e["index"] for e in index["entries"]] == list(range(SMALL_CHUNKS))


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_shard_is_detected_reported_and_recomputed(small, tmp_path, capsys, damage):
    d = _copy(small, tmp_path)
    victim = sorted((d / "runs").glob("*.parquet"))[1]
    raw = victim.read_bytes()
    if damage == "truncate":
        victim.write_bytes(raw[: len(raw) // 2])
    else:  # same size, one byte changed in the middle of the data
        victim.write_bytes(raw[:100] + bytes([raw[100] ^ 0xFF]) + raw[101:])
    with pytest.raises(StoreError, match=victim.name):  # never silently read
        read_runs(d)
    capsys.readouterr()
    assert cli.main(["query", str(d), "SELECT count(*) FROM runs"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and victim.name in err[0]
    assert cli.main([*SMALL, "--out", str(d)]) == 0
    err = capsys.readouterr().err
    why = "truncated" if damage == "truncate" else "SHA-256"
    assert f"recomputing chunk 1: shard {victim.name}" in err and why in err
    summary = json.loads((d / "summary.json").read_text())
    assert summary["timing"]["chunks_skipped"] == SMALL_CHUNKS - 1
    assert_same_store(d, small, SMALL_RUNS)


def test_a_shard_without_manifest_entry_is_not_trusted(small, tmp_path):
    # A kill between the shard's rename and its manifest entry leaves an orphan shard.
    d = _copy(small, tmp_path)
    e = sorted(manifest.load(d).values(), key=lambda e: e["index"])[2]
    manifest.forget(d, e["digest"])
    (d / "runs" / "leftover.parquet.123-abc.tmp").write_bytes(b"half a file")
    (d / "manifest" / "0123456789abcdef.json.123-abc.tmp").write_text('{"half": ')
    assert cli.main([*SMALL, "--out", str(d)]) == 0
    assert json.loads((d / "summary.json").read_text())["timing"]["chunks_skipped"] == SMALL_CHUNKS - 1
    assert not list((d / "runs").glob("*.tmp")) and not list((d / "manifest").glob("*.tmp"))
    assert_same_store(d, small, SMALL_RUNS)


def _toy_job(run_dir, max_chunk):
    from sweep_fixtures import ToyConfig, toy_lookup
    from theorylab.sweep.grid import cross, resolve
    from theorylab.sweep.runner import SweepJob

    resolved = resolve("toy", "test", ToyConfig, {}, cross(lr=[0.05, 0.1, 0.2], target=[-1.0, 2.0]), 2, {})
    return SweepJob("toy", resolved.to_json(), str(run_dir), toy_lookup, max_chunk=max_chunk)


def test_runner_numbers_match_the_closed_form_and_rechunking_leaves_no_duplicates(tmp_path):
    from theorylab.sweep.executors import LocalExecutor
    from theorylab.sweep.progress import LogProgress
    from theorylab.sweep.runner import execute

    a, b = tmp_path / "a", tmp_path / "b"
    t = execute(_toy_job(a, 4), LocalExecutor(), LogProgress())  # 12 runs -> 3 chunks of 4
    assert (t["runs"], t["chunks"], t["chunks_skipped"]) == (12, 3, 0)
    df = store(a)
    d0 = df[df["step"] == 0].set_index("run_id")["dist"]
    for step in (10, 20):  # dist_t = (1 - 2 lr)^(2t) dist_0
        rows = df[df["step"] == step].set_index("run_id")
        want = (1 - 2 * rows["lr"]) ** (2 * step) * d0.loc[rows.index]
        np.testing.assert_allclose(rows["dist"], want, rtol=2e-4, atol=1e-9)
    # the same config cut into other chunks: the old shards are dropped, nothing duplicated
    t = execute(_toy_job(a, 6), LocalExecutor(), LogProgress())
    assert (t["chunks"], t["chunks_skipped"]) == (2, 0)
    assert len(manifest.load(a)) == 2 and len(list((a / "runs").glob("*.parquet"))) == 2
    execute(_toy_job(b, 6), LocalExecutor(), LogProgress())
    pd_df = store(a)
    assert not pd_df.duplicated(["run_id", "step"]).any() and pd_df["run_id"].nunique() == 12
    assert_same_store(a, b, 12)
    np.testing.assert_array_equal(pd_df["dist"], df["dist"])  # chunking never changes a run


def test_a_different_config_needs_force(small, tmp_path, capsys):
    d = _copy(small, tmp_path)
    other = [a if a != "lr=0.05,0.1" else "lr=0.05,0.2" for a in SMALL]  # same program, other runs
    capsys.readouterr()
    assert cli.main([*other, "--out", str(d)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different config" in err[0] and "--force" in err[0]
    assert len(read_runs(d)) == SMALL_RUNS * 2  # untouched
    assert cli.main([*other, "--out", str(d), "--force"]) == 0
    df, ref = store(d), store(small)
    assert df["run_id"].nunique() == SMALL_RUNS and sorted(df["lr"].unique()) == [0.05, 0.2]
    # runs shared by both sweeps (lr = 0.05) have the same identity and the same numbers
    shared = df[df["lr"] == 0.05].reset_index(drop=True)
    assert_frame = ref[ref["lr"] == 0.05].reset_index(drop=True)
    np.testing.assert_array_equal(shared["run_id"], assert_frame["run_id"])
    np.testing.assert_array_equal(shared["test_loss"], assert_frame["test_loss"])


def test_duckdb_query_and_views(small, capsys):
    df = store(small)
    q = query(small, "SELECT mu_norm, lr, avg(test_loss) AS loss, count(*) AS n FROM final GROUP BY ALL ORDER BY ALL")
    assert len(q) == 6 and (q["n"] == 2).all()
    fin = df[df["step"] == df["step"].max()].groupby(["mu_norm", "lr"])["test_loss"].mean()
    np.testing.assert_allclose(q.set_index(["mu_norm", "lr"])["loss"].to_numpy(), fin.to_numpy())
    assert int(query(small, "SELECT count(*) AS c FROM runs")["c"][0]) == len(df)
    capsys.readouterr()
    assert cli.main(["query", str(small), "SELECT count(DISTINCT run_id) AS runs FROM runs"]) == 0
    assert capsys.readouterr().out.split() == ["runs", str(SMALL_RUNS)]
    assert cli.main(["query", str(small), "SELEC nonsense"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "query failed" in err[0]


def test_xarray_dims_are_swept_fields_seed_step(small):
    ds = to_xarray(small)
    assert dict(ds.sizes) == {"mu_norm": 3, "lr": 2, "seed": 2, "step": 2}
    assert list(ds["mu_norm"].values) == [1.0, 10.0, 40.0] and ds.attrs["N"] == 4
    df = store(small)
    row = df[(df["mu_norm"] == 10.0) & (df["lr"] == 0.1) & (df["seed"] == 1) & (df["step"] == 100)]
    assert float(ds["test_loss"].sel(mu_norm=10.0, lr=0.1, seed=1, step=100)) == float(row["test_loss"].iloc[0])


def test_plot_command_draws_any_swept_pair(small, capsys):
    assert cli.main(["plot", str(small), "--x", "lr", "--y", "mu_norm", "--metric", "test_error"]) == 0
    assert (small / "figures" / "sweep-lr-mu_norm.png").stat().st_size > 10_000
    capsys.readouterr()
    assert cli.main(["plot", str(small), "--x", "lr", "--metric", "no_such"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "metric 'no_such' is not a stored column" in err[0]
