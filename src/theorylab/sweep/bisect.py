"""Locating a phase boundary row by row, instead of filling the grid: the search itself.

For each value of one field (a *row*, e.g. N) the boundary is the value of another field (the
*along* axis, e.g. |mu|) where a seed statistic of a metric crosses a level (e.g. the mean
test loss crosses 0.2). Along a row the statistic is assumed monotone; which way it goes is
read from the row's two ends.

Two kinds of along axes:
* a grid of candidate values (the preset's own grid): the search brackets the *index* of the
  first candidate that has crossed, so its answer is exactly what the full grid would give
  for a monotone row ("the smallest |mu| whose repetitions are below the level");
* a continuous range [lo, hi] (log-spaced if ``log``): the bracket shrinks every round and
  the answer interpolates the statistic between the two probes that straddle the level.

Every round probes ``probes`` points inside each open bracket, all rows at once, so a round
is one sweep (one compiled program per static configuration, reused by later rounds). A
round with k probes shrinks a bracket by a factor k + 1: a 100-value grid takes 4 rounds of 3
probes after the first round's ends, about 17 runs per row and seed instead of 100.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

STATS = ("mean", "median", "majority")


def statistic(values: Sequence[float], stat: str, level: float, falling: bool = True) -> float:
    """The seed statistic of one probe. ``majority`` scores the fraction f of seeds on the
    crossed side of the level so that the probe counts as crossed iff f >= 1/2 (at least half
    the seeds, ties included): level - (f - 1/2) - 1/(4n) for a falling metric (n seeds; the
    1/(4n) puts f = 1/2 strictly past the level, f = 1/2 - 1/n strictly before it)."""
    vals = [float(v) for v in values if math.isfinite(float(v))]
    if not vals:
        return math.nan
    if stat == "mean":
        return sum(vals) / len(vals)
    if stat == "median":
        s = sorted(vals)
        mid = len(s) // 2
        return s[mid] if len(s) % 2 else 0.5 * (s[mid - 1] + s[mid])
    if stat == "majority":
        frac = sum((v < level) if falling else (v > level) for v in vals) / len(vals)
        tie = 0.25 / len(vals)
        return level - (frac - 0.5) - tie if falling else level + (frac - 0.5) + tie
    raise ValueError(f"stat must be one of {', '.join(STATS)}")


@dataclasses.dataclass
class Row:
    """The search along one row. ``values``: sorted candidate values (grid mode) or [lo, hi]."""

    key: Any
    values: list[float]
    grid: bool
    log: bool = True
    seen: dict[float, float] = dataclasses.field(default_factory=dict)  # along value -> statistic
    lo: int | float | None = None  # grid: index not crossed; continuous: value not crossed
    hi: int | float | None = None  # grid: index crossed;     continuous: value crossed
    falling: bool | None = None  # does the statistic fall below the level along the axis?
    status: str = "open"  # open | done | no-crossing | failed

    def _point(self, i):
        return self.values[i] if self.grid else i

    def _crossed(self, stat: float, level: float) -> bool:
        return stat < level if self.falling else stat > level

    def probes(self, k: int) -> list[float]:
        """The along values to run next (none once the row is settled)."""
        if self.status != "open":
            return []
        if self.falling is None:  # the first round: both ends and k points between
            if self.grid:
                n = len(self.values)
                idx = sorted({0, n - 1, *(round(j * (n - 1) / (k + 1)) for j in range(1, k + 1))})
                return [self.values[i] for i in idx]
            return self._between(self.values[0], self.values[1], k, ends=True)
        if self.grid:
            lo, hi = int(self.lo), int(self.hi)
            inner = sorted({round(lo + j * (hi - lo) / (k + 1)) for j in range(1, k + 1)} - {lo, hi})
            return [self.values[i] for i in inner]
        return self._between(self.lo, self.hi, k, ends=False)

    def _between(self, a: float, b: float, k: int, ends: bool) -> list[float]:
        if self.log:
            pts = [math.exp(math.log(a) + j * (math.log(b) - math.log(a)) / (k + 1)) for j in range(k + 2)]
        else:
            pts = [a + j * (b - a) / (k + 1) for j in range(k + 2)]
        pts = [float(f"{p:.10g}") for p in pts]
        return pts if ends else pts[1:-1]

    def update(self, stats: dict[float, float], level: float, rtol: float = 0.0) -> None:
        """Fold in the statistics of this round's probes and narrow the bracket."""
        self.seen.update(stats)
        if self.status != "open":
            return
        if any(not math.isfinite(v) for v in stats.values()):
            self.status = "failed"  # a probe without a finite statistic: every run failed there
            return
        order = sorted(self.seen)
        if self.falling is None:
            first, last = self.seen[order[0]], self.seen[order[-1]]
            if (first < level) == (last < level):
                self.status = "no-crossing"
                return
            self.falling = last < level
        crossed = [a for a in order if self._crossed(self.seen[a], level)]
        above = [a for a in order if a < crossed[0]] if crossed else order
        hi_val = crossed[0]
        lo_val = above[-1] if above else None
        if lo_val is None:  # crossed already at the lower end
            self.status = "no-crossing"
            return
        if self.grid:
            self.lo, self.hi = self.values.index(lo_val), self.values.index(hi_val)
            if self.hi - self.lo <= 1:
                self.status = "done"
        else:
            self.lo, self.hi = lo_val, hi_val
            width = math.log(hi_val / lo_val) if self.log else (hi_val - lo_val) / max(abs(hi_val), 1e-300)
            if width <= rtol:
                self.status = "done"

    def monotone(self, level: float) -> bool:
        """Whether the probes seen cross the level at most once along the axis. A row that
        crosses, uncrosses and crosses again (noise at a few seeds near the boundary) has several
        crossings; the search returns the first among its probes, which the full grid may place
        earlier, at a value no probe visited."""
        if self.falling is None:
            return True
        states = [self._crossed(self.seen[a], level) for a in sorted(self.seen) if math.isfinite(self.seen[a])]
        return sum(a != b for a, b in zip(states, states[1:])) <= 1

    def estimate(self, level: float) -> float:
        """The located boundary: the first crossed grid value, or (continuous) the level
        crossing interpolated between the straddling probes (in log along if ``log``)."""
        if self.lo is None or self.hi is None or self.status in ("no-crossing", "failed"):
            return math.nan
        if self.grid:
            return float(self.values[int(self.hi)])
        a, b = float(self.lo), float(self.hi)
        fa, fb = self.seen[a], self.seen[b]
        xa, xb = (math.log(a), math.log(b)) if self.log else (a, b)
        t = 0.5 if fa == fb else (level - fa) / (fb - fa)
        x = xa + min(max(t, 0.0), 1.0) * (xb - xa)
        return math.exp(x) if self.log else x
