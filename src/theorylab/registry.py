"""Experiment name -> (Config class, Problem): how a sweep worker finds what to train.

Ray tasks and SLURM array tasks receive a ``SweepJob`` holding the experiment's *name*, its
resolved config as JSON and this function, pickled by reference (module and name), so a
worker imports it and looks the experiment up itself. It lives above sweep/ and store/ in the
layering (it imports papers/), which keeps those packages free of papers/, and outside
cli.py so that it pickles the same way whether the command line ran as ``theorylab`` or as
``python -m theorylab.cli`` (where cli's functions would belong to ``__main__``).
"""

from __future__ import annotations


def lookup(name: str):
    """(Config class, Problem) of the experiment ``name``; ConfigError if unknown."""
    from theorylab import papers

    exp = papers.get(name)
    return exp.config, exp.problem
