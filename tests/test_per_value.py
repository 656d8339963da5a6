"""Claims and figures split per value of one or more config fields (analysis.per_value)."""

import dataclasses

import pandas as pd

from theorylab.analysis.per_value import claims_per, figures_per
from theorylab.experiment import Claim
from theorylab.sweep.grid import Resolved


@dataclasses.dataclass(frozen=True)
class Cfg:
    d: int = 64
    clusters: int = 2
    arm: int = 0


def _grid(cells):
    cfgs = tuple((f"c{i}", Cfg(**c)) for i, c in enumerate(cells))
    df = pd.DataFrame([dict(dataclasses.asdict(c), run_id=lab, value=10 * c.d + c.clusters) for lab, c in cfgs])
    return df, Resolved("toy", "cpu", cfgs[0][1], cfgs, 1)


def _claims_at(df, res):
    """One claim whose measurement is the rows' values and whose statement names the base."""
    vals = sorted(df["value"])
    return [Claim("X", f"d={res.base.d} C={res.base.clusters} cells={len(res.cells)}", "", str(vals), "", True)]


def test_one_varying_field_keeps_the_single_field_ids():
    df, res = _grid([dict(d=64), dict(d=64, arm=1), dict(d=128)])
    got = {c.id: (c.statement, c.measured) for c in claims_per(("d", "clusters"), _claims_at)(df, res)}
    assert got == {"X@d=64": ("d=64 C=2 cells=2", "[642, 642]"), "X@d=128": ("d=128 C=2 cells=1", "[1282]")}
    assert got == {c.id: (c.statement, c.measured) for c in claims_per("d", _claims_at)(df, res)}


def test_two_varying_fields_split_every_combination_and_name_both():
    df, res = _grid([dict(d=64), dict(d=64, clusters=4), dict(d=128, clusters=4), dict(d=128, clusters=4, arm=2)])
    got = {c.id: c.measured for c in claims_per(("d", "clusters"), _claims_at)(df, res)}
    assert got == {"X@d=64,clusters=2": "[642]", "X@d=64,clusters=4": "[644]", "X@d=128,clusters=4": "[1284, 1284]"}
    figs = figures_per(("d", "clusters"), lambda sub, r: {"f": len(sub)})(df, res)
    assert figs == {"f_d64_clusters2": 1, "f_d64_clusters4": 1, "f_d128_clusters4": 2}


def test_no_varying_field_adds_no_suffix():
    df, res = _grid([dict(arm=0), dict(arm=1)])
    assert [c.id for c in claims_per(("d", "clusters"), _claims_at)(df, res)] == ["X"]
    assert figures_per("d", lambda sub, r: {"f": len(sub)})(df, res) == {"f": 2}
