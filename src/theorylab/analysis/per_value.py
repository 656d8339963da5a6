"""Claims and figures per value of one config field (e.g. per input dimension d).

A preset may hold several values of a field that the claims treat separately (the paper
presets of moe/clustered and single-index/spiked hold several d). ``claims_per(field, fn)``
turns ``fn(df, resolved)`` written for one value into a claims function for any grid: it runs
``fn`` on the rows and cells of each value (the resolved base set to one of those cells), and
when the grid holds several values suffixes every claim id with ``@field=value``;
``figures_per`` does the same for figures (names suffixed ``_<field><value>``).
"""

from __future__ import annotations

import dataclasses
from typing import Callable


def split(df, resolved, field: str) -> list[tuple]:
    """[(value, its rows of df, resolved restricted to its cells)], in increasing value."""
    out = []
    for v in sorted({getattr(c, field) for _, c in resolved.cells}):
        cells = tuple((lab, c) for lab, c in resolved.cells if getattr(c, field) == v)
        out.append((v, df[df[field] == v], dataclasses.replace(resolved, cells=cells, base=cells[0][1])))
    return out


def claims_per(field: str, claims_at: Callable) -> Callable:
    def claims(df, resolved):
        parts = split(df, resolved, field)
        return [dataclasses.replace(c, id=f"{c.id}@{field}={v}") if len(parts) > 1 else c
                for v, sub, res in parts for c in claims_at(sub, res)]
    return claims


def figures_per(field: str, figures_at: Callable) -> Callable:
    def figures(df, resolved):
        parts = split(df, resolved, field)
        return {(name if len(parts) == 1 else f"{name}_{field}{v}"): fig
                for v, sub, res in parts for name, fig in figures_at(sub, res).items()}
    return figures
