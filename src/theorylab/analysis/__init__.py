"""Readers of the stored long-format results: pure numpy / pandas, no training, no plotting.

The results DataFrame has one row per run and log point, with the columns run_id, cell, seed,
every config field, step, stop_step, stop_reason and the observables (an array observable is a
list per row). The helpers here turn it into what claims and figures need:

* ``results``:  each run's final row, one cell's trajectories [seeds, T], mean +- sd,
                array-valued columns stacked, cells of the grid with no rows;
* ``fits``:     the exponential-rate fit of a decaying gap;
* ``boundary``: the power-law boundary n * SNR^p = c between two regimes of a phase diagram.
"""

from theorylab.analysis.boundary import BoundaryFit, fit_boundary
from theorylab.analysis.fits import ExpFit, exp_rate_fit
from theorylab.analysis.results import absent_cells, final_rows, mean_sd, stack, trajectories, value_at

__all__ = ["BoundaryFit", "ExpFit", "absent_cells", "exp_rate_fit", "final_rows", "fit_boundary", "mean_sd",
           "stack", "trajectories", "value_at"]
