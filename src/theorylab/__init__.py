"""theorylab: compiled, self-checking simulations of deep-learning theory papers.

    import theorylab as tl
    run = tl.run("vit-benign/phase", preset="cpu")       # or "my_file.py:EXP", or an Experiment
    run.claims, run.figures, run.results, run.report
    tl.check(run.dir)                                     # ok iff no claim fails, no run diverged

The public contract for writing an experiment (``Experiment``, ``Preset``, ``Claim``,
``Problem``, ``param``, ``cross``) comes from ``theorylab.experiment``; the run lifecycle
(``run``, ``check``, ``report``, ``load``) from ``theorylab.lifecycle``. Importing theorylab
imports no paper and no matplotlib, and changes no global state (matplotlib backend or
style, JAX config, random-number lowering).
"""

__version__ = "0.1.0"

from theorylab.experiment import (Claim, ConfigError, Experiment, PaddedAxis, Preset, Problem, Resolved,  # noqa: E402
                                  StopReason, cross, param, size_mask, true_size)
from theorylab.lifecycle import CheckResult, Run, check, load, report, run  # noqa: E402
from theorylab.boundary_search import BoundaryResult, boundary  # noqa: E402

__all__ = ["Claim", "ConfigError", "Experiment", "Preset", "Problem", "Resolved", "StopReason", "cross", "param",
           "size_mask", "true_size", "PaddedAxis",
           "CheckResult", "Run", "check", "load", "report", "run", "boundary", "BoundaryResult", "__version__"]
