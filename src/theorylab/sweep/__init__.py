"""Grids of runs -> chunks -> executors -> the result store."""
