"""Preset + command-line overrides -> validated configs of every grid cell -> runs.

A preset fixes a ``base`` (overrides of the Config defaults), a list of ``cells`` (each a
dict of overrides, optionally named by a ``"label"`` entry) and a number of ``seeds``.
``--set key=value`` overrides a field in the base *and* in every cell (it wins everywhere).
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Iterable

from theorylab.config import ConfigError, canonical_json, fields, parse_value, to_dict, validate
from theorylab.engine.chunking import Run
from theorylab.engine.keys import identity_hash, run_key


def cross(**axes: Iterable[Any]) -> tuple[dict[str, Any], ...]:
    """The cells of a full factorial grid: cross(N=[2, 4], mu_norm=[1, 2]) -> 4 cells."""
    names = list(axes)
    return tuple(dict(zip(names, vals)) for vals in itertools.product(*axes.values()))


def parse_sets(cfg_cls, items: list[str]) -> dict[str, Any]:
    """['lr=0.1', 'd=64'] -> {'lr': 0.1, 'd': 64}, each typed and range-checked."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        k, v = item.split("=", 1)
        out[k.strip()] = parse_value(cfg_cls, k.strip(), v.strip())
    return out


@dataclasses.dataclass(frozen=True)
class Resolved:
    """Everything that determines a run directory's results."""

    experiment: str
    preset: str
    base: Any  # Config
    cells: tuple[tuple[str, Any], ...]  # (label, Config)
    seeds: int

    def to_json(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "preset": self.preset,
            "seeds": self.seeds,
            "base": to_dict(self.base),
            "cells": [{"label": lab, "config": to_dict(c)} for lab, c in self.cells],
        }

    @classmethod
    def from_json(cls, cfg_cls, obj: dict[str, Any]) -> "Resolved":
        return cls(
            experiment=obj["experiment"],
            preset=obj["preset"],
            base=cfg_cls(**obj["base"]),
            cells=tuple((c["label"], cfg_cls(**c["config"])) for c in obj["cells"]),
            seeds=int(obj["seeds"]),
        )

    def runs(self) -> list[Run]:
        out = []
        for label, cfg in self.cells:
            cell = to_dict(cfg)
            ident = identity_hash(self.experiment, cell)[:12]
            for s in range(self.seeds):
                out.append(Run(f"{ident}-s{s}", label, cfg, s, run_key(self.experiment, cell, s)))
        return out


def resolve(experiment: str, preset_name: str, cfg_cls, base: dict, cells: tuple[dict, ...],
            seeds: int, sets: dict[str, Any]) -> Resolved:
    if seeds < 1:
        raise ConfigError(f"--seeds = {seeds} is not allowed; expected int >= 1")
    known = fields(cfg_cls)
    for k in list(base) + [k for c in cells for k in c if k != "label"]:
        if k not in known:
            raise ConfigError(f"preset {preset_name!r} sets unknown key {k!r}")
    base_cfg = cfg_cls(**{**base, **sets})
    validate(base_cfg)
    resolved_cells, seen = [], set()
    for c in cells:
        over = {k: v for k, v in c.items() if k != "label"}
        cfg = cfg_cls(**{**base, **over, **sets})
        validate(cfg)
        ident = canonical_json(to_dict(cfg))
        if ident in seen:  # a --set can collapse cells into one
            continue
        seen.add(ident)
        label = c.get("label") or ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                            for k, v in over.items()) or "base"
        resolved_cells.append((label, cfg))
    return Resolved(experiment, preset_name, base_cfg, tuple(resolved_cells), seeds)
