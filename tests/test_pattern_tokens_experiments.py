"""The pattern-token experiments end to end (smoke presets) and their claims on synthetic
results: they hold on the theory's law and fail on another."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import theorylab
from theorylab.config import ConfigError
from theorylab.papers import mamba_block as mb
from theorylab.papers import shallow_vit as sv
from theorylab.sweep.grid import resolve


@pytest.mark.parametrize("ref, figure", [("mamba_block:MAJORITY", "majority"), ("mamba_block:LOCALITY", "locality"),
                                         ("shallow_vit:THRESHOLD", "threshold"), ("shallow_vit:SPARSIFY", "sparsify"),
                                         # 17 s cold, the slowest smoke here; its cpu preset runs in the science gate
                                         pytest.param("icl_patterns:GENERALIZE", "generalize", marks=pytest.mark.slow)])
def test_smoke_end_to_end(tmp_path, ref, figure):
    run = theorylab.run(f"theorylab.papers.{ref}", preset="smoke", out=tmp_path / "run")
    assert theorylab.check(run.dir).ok
    assert run.claims and all(c.holds is None for c in run.claims)  # smoke: untested, but measured
    assert (run.dir / "figures" / f"{figure}.png").stat().st_size > 10_000


def test_bad_configs_are_one_line_errors():
    with pytest.raises(ConfigError, match="n_pool"):
        theorylab.run("theorylab.papers.shallow_vit:THRESHOLD", preset="smoke", set={"N": 64}, out="/nonexistent")
    with pytest.raises(ConfigError, match="alpha_r"):
        theorylab.run("theorylab.papers.mamba_block:MAJORITY", preset="smoke", set={"alpha_r": 0.1}, out="/nonexistent")


def _majority_frame(exponent: float) -> tuple[pd.DataFrame, object]:
    """Final rows shaped like the cpu preset's, with T = 30 (gap / 0.5)^-exponent."""
    p = mb.MAJ_CPU
    resolved = resolve("mamba-block/majority", "cpu", mb.Config, p.base, p.cells, 2, {})
    rows = []
    for label, cfg in resolved.cells:
        gap = cfg.alpha_r - cfg.alpha_c
        t = 30 * (gap / 0.5) ** -exponent * (3 if cfg.gate_lr == 0 else 1)
        for seed in range(2):
            for step in (0, 20):
                rows.append(dict(run_id=f"{label}-{seed}", cell=label, seed=seed, step=step, N=cfg.N, L=cfg.L,
                                 alpha_r=cfg.alpha_r, alpha_c=cfg.alpha_c, gate_lr=cfg.gate_lr, stop_step=int(t),
                                 stop_reason="converged", cos_plus=0.7, cos_minus=0.7, cos_irr=-0.01,
                                 w_plus=step * gap**2))
    return pd.DataFrame(rows), resolved


def test_majority_claims_hold_on_the_law_and_fail_on_another():
    df, resolved = _majority_frame(2.0)
    claims = {c.id: c.holds for c in mb.majority_claims(df, resolved)}
    assert all(claims.values()), claims
    df, resolved = _majority_frame(1.0)  # T ~ gap^-1
    claims = {c.id: c.holds for c in mb.majority_claims(df, resolved)}
    assert claims["gap-slope"] is False and claims["N-independent"]


def _threshold_frame(exponent: float) -> tuple[pd.DataFrame, object]:
    """Rows shaped like the threshold cpu preset: test hinge 0.05 (N*/N) with N* = 10 (alpha/0.3)^-exponent,
    the baseline twice as bad; attention 0.2 -> 0.5."""
    p = sv.THR_CPU
    resolved = resolve("shallow-vit/threshold", "cpu", sv.Config, p.base, p.cells, 2, {})
    rows = []
    for label, cfg in resolved.cells:
        alpha = cfg.n_star / cfg.L
        loss = min(0.05 * 10 * (alpha / 0.3) ** -exponent / cfg.N, 0.9) * (1 if cfg.attention else 2)
        for seed in range(2):
            for step, att in ((0, 0.2), (200, 0.5)):
                rows.append(dict(run_id=f"{label}-{seed}", cell=label, seed=seed, step=step, N=cfg.N, L=cfg.L,
                                 n_star=cfg.n_star, attention=cfg.attention, test_loss=loss, test_error=0.0,
                                 attn_rel=att if cfg.attention else 0.0, stop_step=200))
    return pd.DataFrame(rows), resolved


def test_threshold_claims_hold_on_the_law_and_fail_on_another():
    df, resolved = _threshold_frame(2.0)
    claims = {c.id: c.holds for c in sv.threshold_claims(df, resolved)}
    assert claims == {"vit-slope": True, "monotone": True, "attention-concentrates": True, "cnn-worse": True,
                      "cnn-slope": False}, claims
    df, resolved = _threshold_frame(1.0)
    assert {c.id: c.holds for c in sv.threshold_claims(df, resolved)}["vit-slope"] is False
