"""Progress of a sweep: a rich progress bar on a terminal, plain log lines otherwise.

Both receive the same events from the runner, on the driver, whatever the executor:

    start(chunks, runs, done_chunks, done_runs)   once, after resumed chunks are counted
    chunk_done(stats)                            per finished chunk (a dict from runner.run_chunk)
    note(message)                                anything to report (a recomputed corrupt shard)
    close()

Training speed is run-steps per second of training: the sum over finished runs of the steps
each actually trained (a run stopped early counts its stop step), divided by the summed
training time of their chunks (per worker, so parallel workers add up to more). Compile time
is summed separately and never counted as training.
"""

from __future__ import annotations

import sys
from typing import TextIO


class LogProgress:
    """One line per event, for logs and pipes."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.chunks = self.runs = self.done = self.done_runs = self.steps = 0
        self.compile_s = self.train_s = 0.0

    def _print(self, msg: str) -> None:
        print(msg, file=self.stream, flush=True)

    def start(self, chunks: int, runs: int, done_chunks: int, done_runs: int) -> None:
        self.chunks, self.runs, self.done, self.done_runs = chunks, runs, done_chunks, done_runs
        if done_chunks:
            self._print(f"resume: {done_chunks}/{chunks} chunks ({done_runs}/{runs} runs) already stored")

    def chunk_done(self, st: dict) -> None:
        self.done += 1
        self.done_runs += st["runs"]
        self._add(st)
        self._print(f"chunk {st['index'] + 1} done ({self.done}/{self.chunks} chunks, {self.done_runs}/{self.runs} runs): "
                    f"{st['runs']} runs, {st['batch_steps']} steps, compile {st['compile_s']:.1f}s, "
                    f"train {st['train_s']:.1f}s; {self._speed()} run-steps/s")

    def _add(self, st: dict) -> None:
        self.steps += st["run_steps"]
        self.compile_s += st["compile_s"]
        self.train_s += st["train_s"]

    def _speed(self) -> str:
        return f"{self.steps / self.train_s:.3g}" if self.train_s > 0 else "-"

    def note(self, message: str) -> None:
        self._print(message)

    def close(self) -> None:
        pass


class RichProgress(LogProgress):
    """A live bar: chunks, runs, run-steps/s, ETA, and compile time shown apart."""

    def __init__(self, stream: TextIO | None = None):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        super().__init__(stream)
        self.bar = Progress(
            TextColumn("[bold]chunks"), BarColumn(bar_width=20), MofNCompleteColumn(),
            TextColumn("runs {task.fields[runs]}"), TextColumn("{task.fields[speed]} run-steps/s"),
            TextColumn("compile {task.fields[compile]}"), TextColumn("ETA"), TimeRemainingColumn(),
            console=Console(file=self.stream), transient=False,
        )
        self.task = None

    def _fields(self) -> dict:
        return dict(runs=f"{self.done_runs}/{self.runs}", speed=self._speed(), compile=f"{self.compile_s:.1f}s")

    def start(self, chunks: int, runs: int, done_chunks: int, done_runs: int) -> None:
        super().start(chunks, runs, done_chunks, done_runs)
        self.bar.start()
        self.task = self.bar.add_task("sweep", total=chunks, completed=done_chunks, **self._fields())

    def chunk_done(self, st: dict) -> None:
        self.done += 1
        self.done_runs += st["runs"]
        self._add(st)
        self.bar.update(self.task, advance=1, **self._fields())

    def note(self, message: str) -> None:
        self.bar.console.print(message)

    def close(self) -> None:
        self.bar.stop()


def for_stream(stream: TextIO | None = None) -> LogProgress:
    """A rich bar when ``stream`` (default stderr) is a terminal, plain lines otherwise."""
    stream = stream or sys.stderr
    return RichProgress(stream) if stream.isatty() else LogProgress(stream)
