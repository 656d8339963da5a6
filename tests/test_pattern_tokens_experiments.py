"""The pattern-token experiments end to end (smoke presets) and their claims on synthetic
results: they hold on the theory's law and fail on another."""

from __future__ import annotations

import numpy as np
import pandas as pd

import theorylab
from theorylab.papers import mamba_block as mb
from theorylab.sweep.grid import resolve


def test_majority_smoke_end_to_end(tmp_path):
    run = theorylab.run("theorylab.papers.mamba_block:MAJORITY", preset="smoke", out=tmp_path / "maj")
    assert theorylab.check(run.dir).ok
    assert {c.id for c in run.claims} >= {"gap-slope", "gate-alignment"}
    assert (run.dir / "figures" / "majority.png").stat().st_size > 10_000


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
