"""Temporary alias of the public contract (theorylab.experiment) while the papers move to it."""

from theorylab.experiment import Claim, Experiment, Preset  # noqa: F401
