"""vit-benign trained in span coordinates: the same runs, exact, fewer FLOPs (a proposal).

Full-batch GD keeps W_Q - W_Q0 and W_K - W_K0 in the span of the N M training tokens, so the
engine trains B in W = W_0 + Q B (models/attention.py: ``span_basis``, ``to_span``,
``apply_span``; tests/test_span_shortcut.py checks it is GD on W step for step). A step costs
T x T x d_h instead of T x d x d_h per projection (T = N M): at the paper's d = 1024, M = 16
that is 3.2x fewer FLOPs at N = 20 and 16x at N = 4.

This module builds that Problem from papers/vit_benign.py's own setup, loss and observables,
unchanged (observables see the plain W = W_0 + Q B), so the papers module can adopt it as is;
until then the benchmarks time it beside the plain form and check both give the same runs.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from theorylab.engine.trainer import Problem
from theorylab.models import attention
from theorylab.papers import vit_benign


def setup(key, cfg):
    params, data = vit_benign.setup(key, cfg)
    sp, frozen = attention.to_span(params, data["x"])
    return sp, {**data, **frozen}


def loss(sp, data, cfg, key):
    del cfg, key  # full-batch GD on the fixed training set
    out = attention.apply_span(sp, data, data["w_o"], data["x"])  # [N]
    return jnp.mean(attention.logistic_loss(data["y"] * out))


def observe(sp, data, cfg):
    return vit_benign.observe(attention.from_span(sp, data), data, cfg)


SPAN_PROBLEM = Problem(setup=setup, loss=loss, observe=observe, stop_below=lambda cfg: cfg.stop_loss)
SPAN_PHASE = dataclasses.replace(vit_benign.PHASE, problem=SPAN_PROBLEM)
