"""Why a run stopped: shared by the engine (which decides) and the store (which records)."""

import enum


class StopReason(enum.IntEnum):
    RUNNING = 0
    CONVERGED = 1  # the training objective fell below the stop threshold
    DIVERGED = 2  # a non-finite loss, gradient or update
    BUDGET = 3  # reached the step budget


def name_of(value: int) -> str:
    """The stored name of a stop reason: 'converged', 'diverged', 'budget' (or 'running')."""
    return StopReason(int(value)).name.lower()
