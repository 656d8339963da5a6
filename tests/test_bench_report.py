"""make bench one benchmark at a time: its rows replace their own stored rows, the others stay,
and the end-to-end rows render as their own table (no timing is asserted here)."""

from benchmarks import report, run_all

MEASURED = dict(date="2026-12-01 11:00 UTC", commit="abc1234", load_avg=0.5)


def _e2e(process_s, bench="e2e-vit-phase"):
    side = dict(process_s=process_s, run_s=process_s - 2, compile_s=4.0, train_s=3.0, startup_s=2.0)
    return dict(bench=bench, name="end to end: vit-benign/phase cpu", experiment="vit-benign/phase", preset="cpu",
                extra=[], reps=3, runs=560, chunks=70, claims="2/2", cold=side, warm=dict(side, process_s=5.0),
                measured=MEASURED)


def _results(rows):
    machine = dict(cpu="x", cores=2, python="3", jax="j", numpy="n", torch="t", load_avg=0.1, commit="abc1234")
    return dict(machine=machine, gemm=dict(gflops=100.0, reps=7, n=2048, best_gflops=110.0), date="d", benchmarks=rows)


def test_merge_replaces_only_the_benchmarks_that_ran():
    old_vit = dict(name="vit-benign/phase cpu", runs=560, baseline_s=10.0, arms={})  # stored before 'bench' keys
    old = _results([old_vit, _e2e(12.0), _e2e(60.0, bench="e2e-mamba")])
    merged = run_all.merge(old, _results([_e2e(9.0)]))
    by = {run_all._bench_of(b): b for b in merged["benchmarks"]}
    assert set(by) == {"vit-phase", "e2e-vit-phase", "e2e-mamba"}
    assert by["e2e-vit-phase"]["cold"]["process_s"] == 9.0  # replaced
    assert by["e2e-mamba"]["cold"]["process_s"] == 60.0  # kept
    assert [run_all._bench_of(b) for b in merged["benchmarks"]] == ["vit-phase", "e2e-vit-phase", "e2e-mamba"]


def test_e2e_rows_render_with_compile_share_and_ratio_to_the_torch_loop():
    vit = dict(name="vit-benign/phase cpu", runs=560, baseline_s=10.0, torch_threads=dict(threads=2), arms={})
    text = report.render(_results([vit, _e2e(5.0)]))
    row = next(ln for ln in text.splitlines() if ln.startswith("| vit-benign/phase cpu  | 560 (70)"))
    assert "| 80% |" in row  # compile 4.0 s of a 5.0 s cold process
    assert "10.0 (2.0x / 2.0x)" in row  # torch 10 s against 5 s cold and 5 s warm
    assert "commit abc1234, load 0.5" in text


def test_e2e_rows_leave_out_an_extrapolated_baseline():
    """An extrapolated per-run loop (hours, never timed whole) is no baseline for a whole process."""
    vit = dict(name="vit-benign/phase cpu", runs=560, baseline_s=9e4, baseline_extrapolated=True,
               torch_threads=dict(threads=2), arms={})
    row = next(ln for ln in report.render(_results([vit, _e2e(5.0)])).splitlines()
               if ln.startswith("| vit-benign/phase cpu  | 560 (70)"))
    assert "| - |" in row and "9e+04" not in row and "90000" not in row
