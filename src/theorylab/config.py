"""Validated, frozen experiment configs.

A paper's ``Config`` is a frozen dataclass whose fields are declared with :func:`param`:

    d: int = param(1024, "token dimension", static=True, lo=1)
    lr: float = param(0.1, "GD step size", lo=0.0, lo_open=True)

* ``static`` fields fix array shapes or Python control flow (widths, sample counts, step
  budgets, switches). Runs whose static fields agree compile into one program.
* every other numeric field is *dynamic*: inside the compiled program it is a traced scalar,
  one value per run (vmapped), so sweeping it costs no recompilation.

Validation is explicit (:func:`validate`), never in ``__post_init__``, because the engine
rebuilds a config with traced values for the dynamic fields.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import typing
from typing import Any, Sequence


class ConfigError(ValueError):
    """A one-line, user-facing error naming the offending field and what is allowed."""


def param(
    default: Any,
    doc: str,
    *,
    static: bool = False,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    choices: Sequence[Any] | None = None,
    bucket: float | bool = False,
) -> Any:
    """Declare a config field with its documentation (units included) and allowed range.

    ``bucket`` (static int fields only): a size, such as a sample count, that the engine may
    pad into a bucket shared with other sizes, so that one compiled program serves them all
    (engine/buckets.py). The Problem must then honour the mask of the padded entries
    (``theorylab.size_mask``). The value is the cost exponent p of the size (a run's work
    grows like size^p; True means 1), which the bucket choice uses to bound the padding waste.
    """
    meta = dict(doc=doc, static=static, lo=lo, hi=hi, lo_open=lo_open, choices=choices,
                bucket=float(bucket) if bucket else 0.0)
    return dataclasses.field(default=default, metadata=meta)


def fields(cfg_or_cls) -> dict[str, dataclasses.Field]:
    """name -> dataclass field of a config class or instance (read-only: cached per class)."""
    return _fields(cfg_or_cls if isinstance(cfg_or_cls, type) else type(cfg_or_cls))


@functools.lru_cache(maxsize=None)
def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def _field_type(cls, name: str) -> type:
    return _type_hints(cls)[name]


@functools.lru_cache(maxsize=None)
def _type_hints(cls) -> dict[str, type]:
    """Resolved annotations of a config class, once per class: ``typing.get_type_hints``
    evaluates every annotation string anew (~0.25 ms), and a 10,000-run grid validates
    every field of every run (it was 67 s of a paper-preset launch)."""
    return typing.get_type_hints(cls)


def static_names(cls) -> tuple[str, ...]:
    return tuple(n for n, f in fields(cls).items() if f.metadata.get("static", False))


def bucketed_names(cls) -> dict[str, float]:
    """name -> cost exponent of every static size the engine may pad into buckets."""
    return {n: f.metadata["bucket"] for n, f in fields(cls).items() if f.metadata.get("bucket")}


def dynamic_names(cls) -> tuple[str, ...]:
    return tuple(n for n, f in fields(cls).items() if not f.metadata.get("static", False))


def describe_allowed(f: dataclasses.Field, typ: type) -> str:
    m = f.metadata
    if m.get("choices") is not None:
        return "one of " + ", ".join(map(str, m["choices"]))
    parts = [typ.__name__]
    if m.get("lo") is not None:
        parts.append(f"{'>' if m.get('lo_open') else '>='} {m['lo']:g}")
    if m.get("hi") is not None:
        parts.append(f"<= {m['hi']:g}")
    return " ".join(parts)


def check_value(cls, name: str, value: Any) -> None:
    """Raise ConfigError unless ``value`` is allowed for field ``name`` of ``cls``."""
    f = fields(cls)[name]
    typ = _field_type(cls, name)
    m = f.metadata
    allowed = describe_allowed(f, typ)
    bad = ConfigError(f"{cls.__name__}.{name} = {value!r} is not allowed; expected {allowed}")
    if typ is bool:
        if not isinstance(value, bool):
            raise bad
    elif typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
    elif typ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad
    elif typ is str:
        if not isinstance(value, str):
            raise bad
    if m.get("choices") is not None and value not in m["choices"]:
        raise bad
    lo, hi = m.get("lo"), m.get("hi")
    if lo is not None and (value < lo or (m.get("lo_open") and value == lo)):
        raise bad
    if hi is not None and value > hi:
        raise bad


def validate(cfg) -> None:
    """Check every field of a config instance; raise ConfigError on the first bad one."""
    for name in fields(cfg):
        check_value(type(cfg), name, getattr(cfg, name))
    # The engine records observables every log_every steps of a budget of steps (every Config
    # has both): the budget must be a whole number of log blocks.
    steps, every = getattr(cfg, "steps", None), getattr(cfg, "log_every", None)
    if isinstance(steps, int) and isinstance(every, int) and steps % every:
        raise ConfigError(f"{type(cfg).__name__}.log_every = {every} must divide steps = {steps}")
    extra = getattr(cfg, "check", None)
    if extra is not None:
        extra()


def parse_value(cls, name: str, text: str) -> Any:
    """Parse the command-line text for field ``name`` into its declared type (validated)."""
    known = fields(cls)
    if name not in known:
        raise ConfigError(
            f"unknown config key {name!r} for {cls.__name__}; known keys: {', '.join(known)}"
        )
    typ = _field_type(cls, name)
    try:
        if typ is bool:
            low = text.strip().lower()
            if low not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            value: Any = low in ("true", "1", "yes")
        elif typ is int:
            value = int(text)
        elif typ is float:
            value = float(text)
        else:
            value = text
    except ValueError:
        raise ConfigError(
            f"{cls.__name__}.{name} = {text!r} is not allowed; expected "
            f"{describe_allowed(known[name], typ)}"
        ) from None
    check_value(cls, name, value)
    return value


def coerce(cls, values: dict[str, Any]) -> dict[str, Any]:
    """Overrides with ints given to float fields made floats (mu_norm=6 -> 6.0): one value, one
    identity and one stored column type, whichever way a preset or a user wrote it."""
    out = dict(values)
    for k, v in values.items():
        if k in fields(cls) and _field_type(cls, k) is float and isinstance(v, int) and not isinstance(v, bool):
            out[k] = float(v)
    return out


def to_dict(cfg) -> dict[str, Any]:
    return {n: getattr(cfg, n) for n in fields(cfg)}


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, floats repr'd exactly) used for identities and hashes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def doc_table(cls) -> list[tuple[str, str, str, str, str]]:
    """Rows (name, type, default, static/dynamic, doc) for `theorylab list --verbose`."""
    rows = []
    for n, f in fields(cls).items():
        typ = _field_type(cls, n).__name__
        kind = "static" if f.metadata.get("static") else "dynamic"
        rows.append((n, typ, repr(f.default), kind, f.metadata.get("doc", "")))
    return rows
