"""Preset + command-line overrides -> validated configs of every grid cell -> runs.

A preset fixes a ``base`` (overrides of the Config defaults), a list of ``cells`` (each a
dict of overrides, optionally named by a ``"label"`` entry) and a number of ``seeds``.
``--set key=value`` overrides a field in the base *and* in every cell (it wins everywhere).

``--sweep`` adds axes over any config field (``parse_sweep``):

    key=v1,v2,v3        the listed values
    key=lin:a:b:n       n evenly spaced values from a to b (both included)
    key=log:a:b:n       n log-spaced values from a to b (a, b > 0; both included)

Sweep axes are crossed with each other and with the preset's cells: the grid is
(preset cell) x (sweep point), where a swept key replaces that key's value in every preset
cell. So sweeping every key the preset's cells vary *replaces* the preset's grid, and sweeping
other keys repeats the preset's grid at each sweep point. Cells that become identical are
kept once.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import typing
from typing import Any, Iterable

from theorylab.config import ConfigError, canonical_json, check_value, coerce, fields, parse_value, to_dict, validate
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


def _number(spec: str, text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ConfigError(f"--sweep {spec!r}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise ConfigError(f"--sweep {spec!r}: {text!r} is not a finite number")
    return v


def _range_values(cls, spec: str, key: str, kind: str, parts: list[str]) -> list[Any]:
    """lin:a:b:n / log:a:b:n -> n values, typed as the field (ints rounded, duplicates dropped)."""
    typ = typing.get_type_hints(cls)[key]
    if typ not in (int, float):
        raise ConfigError(f"--sweep {spec!r}: {cls.__name__}.{key} is {typ.__name__}; {kind}: ranges need an int "
                          "or float field (list its values: key=v1,v2)")
    if len(parts) != 3 or not all(p.strip() for p in parts):
        raise ConfigError(f"--sweep {spec!r}: expected {key}={kind}:a:b:n")
    a, b = _number(spec, parts[0]), _number(spec, parts[1])
    try:
        n = int(parts[2])
    except ValueError:
        raise ConfigError(f"--sweep {spec!r}: n = {parts[2]!r} is not an integer") from None
    if n < 1:
        raise ConfigError(f"--sweep {spec!r}: n = {n}; a range needs n >= 1 points")
    if n > 1 and a == b:
        raise ConfigError(f"--sweep {spec!r}: empty range (a = b = {a:g} with n = {n})")
    if kind == "log":
        if a <= 0 or b <= 0:
            raise ConfigError(f"--sweep {spec!r}: log ranges need a > 0 and b > 0")
        vals = [a] if n == 1 else [math.exp(math.log(a) + i * (math.log(b) - math.log(a)) / (n - 1)) for i in range(n)]
    else:
        vals = [a] if n == 1 else [a + i * (b - a) / (n - 1) for i in range(n)]
    vals = [float(f"{v:.12g}") for v in vals]  # 0.001, not 0.0010000000000000002
    if typ is int:
        vals = list(dict.fromkeys(int(round(v)) for v in vals))
    for v in vals:
        check_value(cls, key, v)
    return vals


def parse_sweep(cfg_cls, spec: str | tuple[str, list]) -> tuple[str, list[Any]]:
    """'lr=log:1e-3:1e-1:5' -> ('lr', [0.001, ..., 0.1]); every value typed and range-checked.
    A (key, [values]) pair (from Python) is checked the same way."""
    if isinstance(spec, tuple):
        key, vals = spec
        if key not in fields(cfg_cls):
            raise ConfigError(f"--sweep {key}: unknown config key {key!r} for {cfg_cls.__name__}; "
                              f"known keys: {', '.join(fields(cfg_cls))}")
        if not vals:
            raise ConfigError(f"--sweep {key}: empty list of values")
        for v in vals:
            check_value(cfg_cls, key, v)
        return key, list(dict.fromkeys(vals))
    if "=" not in spec:
        raise ConfigError(f"--sweep {spec!r}: expected key=v1,v2,... or key=lin:a:b:n or key=log:a:b:n")
    key, text = (s.strip() for s in spec.split("=", 1))
    if key not in fields(cfg_cls):
        raise ConfigError(f"--sweep {spec!r}: unknown config key {key!r} for {cfg_cls.__name__}; "
                          f"known keys: {', '.join(fields(cfg_cls))}")
    if not text:
        raise ConfigError(f"--sweep {spec!r}: empty list of values")
    kind, _, rest = text.partition(":")
    if kind in ("lin", "log") and rest:
        return key, _range_values(cfg_cls, spec, key, kind, rest.split(":"))
    items = [t.strip() for t in text.split(",")]
    if not all(items):
        raise ConfigError(f"--sweep {spec!r}: empty value in the list")
    try:
        vals = [parse_value(cfg_cls, key, t) for t in items]
    except ConfigError as e:
        raise ConfigError(f"--sweep {spec!r}: {e}") from None
    return key, list(dict.fromkeys(vals))


def parse_sweeps(cfg_cls, specs: list, sets: dict[str, Any]) -> dict[str, list[Any]]:
    """Several --sweep specs (text, or (key, values) pairs) -> {key: values} (in the order
    given); a key may appear once."""
    out: dict[str, list[Any]] = {}
    for spec in specs:
        key, vals = parse_sweep(cfg_cls, spec)
        shown = key if isinstance(spec, tuple) else repr(spec)
        if key in out:
            raise ConfigError(f"--sweep {shown}: {key!r} is swept twice")
        if key in sets:
            raise ConfigError(f"--sweep {shown}: {key!r} is also fixed by --set; drop one of them")
        out[key] = vals
    return out


def _fmt(k: str, v: Any) -> str:
    return f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"


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
            seeds: int, sets: dict[str, Any], sweeps: dict[str, list[Any]] | None = None) -> Resolved:
    """Validated configs of every grid cell: preset cells x sweep points, --set applied last."""
    if seeds < 1:
        raise ConfigError(f"--seeds = {seeds} is not allowed; expected int >= 1")
    known = fields(cfg_cls)
    for k in list(base) + [k for c in cells for k in c if k != "label"]:
        if k not in known:
            raise ConfigError(f"preset {preset_name!r} sets unknown key {k!r}")
    base, sets = coerce(cfg_cls, base), coerce(cfg_cls, sets)
    cells = tuple(coerce(cfg_cls, c) for c in cells)
    sweeps = {k: [coerce(cfg_cls, {k: v})[k] for v in vals] for k, vals in (sweeps or {}).items()}
    base_cfg = cfg_cls(**{**base, **sets})
    validate(base_cfg)
    points = cross(**(sweeps or {}))  # ({},) without sweeps
    resolved_cells, seen = [], set()
    for c, point in itertools.product(cells, points):
        over = {k: v for k, v in c.items() if k != "label" and k not in point and k not in sets}
        cfg = cfg_cls(**{**base, **over, **point, **sets})
        validate(cfg)
        ident = canonical_json(to_dict(cfg))
        if ident in seen:  # a --set or a swept key can collapse cells into one
            continue
        seen.add(ident)
        name = c.get("label") or ",".join(_fmt(k, v) for k, v in over.items())
        label = ",".join(p for p in [name, *(_fmt(k, v) for k, v in point.items())] if p) or "base"
        resolved_cells.append((label, cfg))
    return Resolved(experiment, preset_name, base_cfg, tuple(resolved_cells), seeds)
