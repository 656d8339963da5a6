"""Claims and figures per value of one or more config fields (e.g. per input dimension d).

A preset may hold several values of a field that the claims treat separately (the paper
presets of moe/clustered and single-index/spiked hold several d), and a user may sweep one
(``--sweep clusters=2,4``). ``claims_per(fields, fn)`` turns ``fn(df, resolved)`` written for
one value into a claims function for any grid: it runs ``fn`` on the rows and cells of each
combination of values that occurs (the resolved base set to one of those cells). When the
grid holds several, every claim id is suffixed with the fields that vary, ``@d=128`` or
``@d=128,clusters=4``; ``figures_per`` does the same for figure names (``_d128`` or
``_d128_clusters4``). A field whose value is the same in every cell adds no suffix, so ids
do not change when a field is added to the list.
"""

from __future__ import annotations

import dataclasses
from typing import Callable


def _fields(fields: str | tuple[str, ...]) -> tuple[str, ...]:
    return (fields,) if isinstance(fields, str) else tuple(fields)


def split(df, resolved, fields: str | tuple[str, ...]) -> list[tuple]:
    """[(values, its rows of df, resolved restricted to its cells)], values a tuple of the
    fields' values, in increasing order of the tuples."""
    fields = _fields(fields)
    key = lambda c: tuple(getattr(c, f) for f in fields)  # noqa: E731
    out = []
    for vals in sorted({key(c) for _, c in resolved.cells}):
        cells = tuple((lab, c) for lab, c in resolved.cells if key(c) == vals)
        rows = df
        for f, v in zip(fields, vals):
            rows = rows[rows[f] == v]
        out.append((vals, rows, dataclasses.replace(resolved, cells=cells, base=cells[0][1])))
    return out


def _varying(fields: tuple[str, ...], parts: list[tuple]) -> list[int]:
    """Positions of the fields that take more than one value over the parts."""
    return [i for i in range(len(fields)) if len({vals[i] for vals, _, _ in parts}) > 1]


def claims_per(fields: str | tuple[str, ...], claims_at: Callable) -> Callable:
    fields = _fields(fields)

    def claims(df, resolved):
        parts = split(df, resolved, fields)
        var = _varying(fields, parts)
        out = []
        for vals, sub, res in parts:
            tag = ",".join(f"{fields[i]}={vals[i]}" for i in var)
            out += [dataclasses.replace(c, id=f"{c.id}@{tag}") if var else c for c in claims_at(sub, res)]
        return out
    return claims


def figures_per(fields: str | tuple[str, ...], figures_at: Callable) -> Callable:
    fields = _fields(fields)

    def figures(df, resolved):
        parts = split(df, resolved, fields)
        var = _varying(fields, parts)
        out = {}
        for vals, sub, res in parts:
            tag = "".join(f"_{fields[i]}{vals[i]}" for i in var)
            out.update({f"{name}{tag}": fig for name, fig in figures_at(sub, res).items()})
        return out
    return figures
