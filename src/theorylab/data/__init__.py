"""Synthetic data models: pure ``sample(key, ...) -> arrays`` functions."""
