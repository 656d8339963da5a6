"""The N * SNR^2 law: its estimators on exact data, and the claims failing when they should."""

import numpy as np
import pandas as pd

from theorylab.analysis import fit_boundary
from theorylab.papers import vit_benign as vb
from theorylab.sweep.grid import resolve
from theorylab.theory import vit_benign as theory


def test_paper_axis_conventions():
    # the paper's Figure 1: SNR = |mu| / (sigma_weak sqrt(d)) = |mu| / 6.4 at d = 1024
    np.testing.assert_allclose(theory.snr(64.0, 0.2, 1024), 10.0)
    # the same curve against sigma_strong = 4: c scales by (0.2 / 4)^2
    np.testing.assert_allclose(theory.PAPER_C_WEAK * (0.2 / 4) ** 2, theory.PAPER_C_STRONG)


def test_boundary_estimators_recover_an_exact_law():
    c, ns = 800.0, np.arange(2, 21, 2)
    snrs = np.linspace(1, 40, 400)
    n_grid, s_grid = np.meshgrid(ns, snrs, indexing="ij")
    below = (n_grid * s_grid**2 >= c).astype(float)  # benign exactly beyond the curve
    fit = fit_boundary(n_grid.ravel(), s_grid.ravel(), below.ravel())
    np.testing.assert_array_equal(fit.n, ns)
    assert abs(fit.slope + 2) < 0.02 and abs(fit.c_star / c - 1) < 0.02
    assert fit.misses == 0 and abs(fit.c_split / c - 1) < 0.02  # the best split finds the same law


def _fake_results(law_exponent: float, c: float = 900.0, plateau: float = theory.LN2):
    """A long-format table shaped like the phase experiment's, from a synthetic law N SNR^p = c."""
    p = vb.PHASE_CPU
    resolved = resolve("vit-benign/phase", "cpu", vb.Config, p.base, p.cells, 2, {})
    rows = []
    for label, cfg in resolved.cells:
        s = cfg.snr()
        benign = cfg.N * s ** law_exponent >= c
        for seed in range(2):
            rows.append(dict(run_id=f"{label}-{seed}", cell=label, seed=seed, step=1000, N=cfg.N,
                             mu_norm=cfg.mu_norm, d=cfg.d, sigma_weak=cfg.sigma_weak, sigma_strong=cfg.sigma_strong,
                             test_loss=0.05 if benign else plateau, test_error=0.0 if benign else 0.5, stop_step=10))
    return pd.DataFrame(rows), resolved


def test_phase_claims_hold_on_the_theory_law_and_fail_on_another():
    df, resolved = _fake_results(2.0)
    claims = {c.id: c for c in vb.phase_claims(df, resolved)}
    assert claims["boundary-slope"].holds and claims["chance-vs-benign"].holds
    df, resolved = _fake_results(1.0, c=60.0)  # N * SNR = c: slope -1, outside [-2.6, -1.4]
    assert vb.phase_claims(df, resolved)[1].holds is False
    df, resolved = _fake_results(2.0, plateau=0.45)  # harmful cells not at chance
    assert vb.phase_claims(df, resolved)[0].holds is False


def test_dynamics_claims_fail_when_noise_wins_the_benign_run():
    rows = []
    for cell, sig, noi, tl in (("benign", 0.2, 0.6, 0.1), ("harmful", 0.1, 0.7, 0.5)):
        for seed in range(3):
            rows.append(dict(run_id=f"{cell}{seed}", cell=cell, seed=seed, step=500, attn_signal=sig,
                             attn_strong_noise=noi, value_signal=sig, value_strong_noise=noi, test_loss=tl))
    p = vb.DYN_CPU
    resolved = resolve("vit-benign/dynamics", "cpu", vb.Config, p.base, p.cells, 3, {})
    claims = {c.id: c.holds for c in vb.dynamics_claims(pd.DataFrame(rows), resolved)}
    assert claims == {"benign-attention": False, "benign-value": False, "harmful-attention": True,
                      "harmful-value": True, "test-loss": True}


def test_paper_preset_is_the_papers_figure_1():
    p = vb.PHASE_PAPER
    assert len(p.cells) * p.seeds == 10_000
    assert {c["N"] for c in p.cells} == set(range(2, 21, 2))
    assert {c["mu_norm"] for c in p.cells} == set(map(float, range(1, 101)))
    cfg = vb.Config(**p.base)
    assert (cfg.d, cfg.M, cfg.d_h, cfg.d_v, cfg.lr, cfg.shrink, cfg.stop_loss) == (1024, 16, 512, 512, 0.1, 16.0, 0.01)


def test_claims_fail_when_cells_of_the_grid_have_no_results():
    df, resolved = _fake_results(2.0)
    claims = vb.phase_claims(df[df["N"] != 20], resolved)  # the runs of every N = 20 cell failed
    assert [c.holds for c in claims] == [False, False] and all(c.measured == "inputs missing" for c in claims)
    rows = [dict(run_id=f"benign{s}", cell="benign", seed=s, step=500, attn_signal=0.6, attn_strong_noise=0.2,
                 value_signal=0.6, value_strong_noise=0.2, test_loss=0.1) for s in range(3)]
    p = vb.DYN_CPU
    resolved = resolve("vit-benign/dynamics", "cpu", vb.Config, p.base, p.cells, 3, {})
    (claim,) = vb.dynamics_claims(pd.DataFrame(rows), resolved)  # no 'harmful' rows
    assert claim.holds is False and "harmful" in claim.note
    resolved = resolve("vit-benign/dynamics", "cpu", vb.Config, p.base, p.cells[:1], 3, {})
    assert vb.dynamics_claims(pd.DataFrame(rows), resolved)[0].holds is None  # the grid cannot test it
