"""theorylab: compiled, self-checking simulations of deep-learning theory papers."""

__version__ = "0.1.0"
