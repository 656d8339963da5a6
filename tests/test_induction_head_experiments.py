"""induction-head/* (arXiv:2512.18634) end to end at the smoke preset, and the claim logic on
synthetic results built from the paper's own Fig. 3 numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

import theorylab as tl
from theorylab.lifecycle import resolve_grid
from theorylab.papers import shortcut_induction as si
from theorylab.theory import induction_head as th


def test_wkq_smoke_end_to_end(tmp_path):
    run = tl.run(si.WKQ, preset="smoke", out=tmp_path / "wkq")
    assert tl.check(run.dir).ok
    verdicts = {c.id: c.holds for c in run.claims}
    assert verdicts["shortcut-entry"] is True and verdicts["induction-dominates"] is True
    assert (run.dir / "figures" / "wkq.png").exists()
    fin = run.results[run.results["step"] == 2]
    assert (fin["id_acc"] > 0.9).all()
    assert len(fin["wkq"].iloc[0]) == (20 + 2 * 16) ** 2


def _synthetic_map(acc_of, n_trgs=(4, 8)) -> pd.DataFrame:
    """One final row per cell of the cpu map with the given OOD accuracy and a mechanism that
    matches the theory exactly (S_pos / S_ind = N_trg R_T)."""
    resolved, _ = resolve_grid(si.OOD_MAP, "cpu")
    rows = []
    for label, cfg in resolved.cells:
        if cfg.n_trg not in n_trgs:
            continue
        acc = acc_of(cfg)
        ratio = cfg.n_trg * float(th.uniform_R(cfg.l_min, cfg.l_max, "T"))
        rows.append(dict(run_id=label, cell=label, seed=0, step=2, n_vocab=cfg.n_vocab, n_trg=cfg.n_trg, law="uniform",
                         l_min=cfg.l_min, l_max=cfg.l_max, ood_acc=acc, id_acc=1.0, broad_acc=acc,
                         pseudo_rate=0.45 if acc < 0.3 else 0.02, leftmost_rate=0.1, s_pos=ratio, s_ind=1.0))
    return pd.DataFrame(rows)


def test_map_claims_on_the_papers_own_numbers():
    paper = si.paper_map().set_index(["l_min", "l_max"])["ood_acc"]

    def acc(cfg):  # the paper's N_trg = 4 map; for N_trg = 8 the same map shifted right by 3
        if cfg.n_trg == 4:
            return float(paper[(cfg.l_min, cfg.l_max)])
        return float(paper.get((cfg.l_min, cfg.l_max - 3), 0.05)) if cfg.l_max - 3 > cfg.l_min else 0.05 + 0.001 * cfg.l_max

    resolved, _ = resolve_grid(si.OOD_MAP, "cpu")
    claims = {c.id: c for c in si.map_claims(_synthetic_map(acc), resolved)}
    assert claims["fig3-match"].holds is True and "RMSE 0.00" in claims["fig3-match"].measured
    assert claims["rises-with-lmax"].holds is True
    assert claims["mechanism-ratio"].holds is True
    assert claims["error-modes"].holds is True
    r4 = si.r50(si._cells(_synthetic_map(acc, (4,))))
    assert abs(r4 - si.PAPER_R50[4]) < 0.01  # the paper's R50 is read from its own map this way


def test_map_claims_fail_on_a_wrong_map():
    resolved, _ = resolve_grid(si.OOD_MAP, "cpu")
    flat = _synthetic_map(lambda cfg: 0.5)
    claims = {c.id: c for c in si.map_claims(flat, resolved)}
    assert claims["fig3-match"].holds is False
    assert claims["rises-with-lmax"].holds is False
    missing = si.map_claims(flat.iloc[:-3], resolved)
    assert all(c.holds is False for c in missing)


def test_threshold_claims_record_the_slope():
    resolved, _ = resolve_grid(si.THRESHOLD, "cpu")
    rows = []
    for label, cfg in resolved.cells:  # accuracy crosses 1/2 at R = 0.5 N_trg^-0.5
        r = float(th.uniform_R(cfg.l_min, cfg.l_max))
        acc = 1.0 / (1.0 + (r / (0.5 * cfg.n_trg**-0.5)) ** 8)
        rows.append(dict(run_id=label, cell=label, seed=0, step=2, n_vocab=64, n_trg=cfg.n_trg, law="uniform",
                         l_min=cfg.l_min, l_max=cfg.l_max, ood_acc=acc, id_acc=1.0, broad_acc=acc, pseudo_rate=0.0,
                         leftmost_rate=0.0, s_pos=1.0, s_ind=1.0))
    claims = {c.id: c for c in si.threshold_claims(pd.DataFrame(rows), resolved)}
    assert claims["r50-decreases"].holds is True
    assert claims["r50-slope"].holds is True and abs(float(claims["r50-slope"].measured) + 0.5) < 0.05
    assert np.isfinite(float(claims["r50-slope"].measured))
