"""Gradient-descent variants as optax transformations or loss wrappers."""
