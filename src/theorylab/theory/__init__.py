"""Closed-form predictions of the papers (numpy/jax only)."""
