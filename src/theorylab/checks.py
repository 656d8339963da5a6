"""An experiment's Config and Problem checked before anything runs.

Every failure is a ConfigError: one line that names the field or the function and says what
is expected. Nothing here compiles: the dry run traces with ``jax.eval_shape`` only.

1. The Experiment itself: a name, a Config class, a Problem, presets, claims and figures.
2. The Config class: a frozen dataclass; ``steps`` and ``log_every`` present as static ints;
   every field an int, float, bool or str; bool and str fields static (they choose code
   paths and cannot be vmapped).
3. The optimizer's fields: with no ``Problem.optimizer`` the engine runs plain GD with step
   ``cfg.lr``, so the Config needs a float field ``lr``.
4. A dry run of one run, stage by stage, exactly as the engine traces it (dynamic fields as
   abstract scalars): setup -> optimizer.init -> loss and its gradient -> optimizer.update ->
   stop_below -> observe (-> observe_initial). A dynamic field used as a shape or in Python
   control flow is found by retracing the failing stage with one dynamic field made concrete
   at a time; the error names it and says to declare it static.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any

import jax
import jax.numpy as jnp

from theorylab.config import ConfigError, bucketed_names, dynamic_names, fields, static_names
from theorylab.engine.buckets import PADS, bucket_config
from theorylab.engine.trainer import Problem, split_run_key
from theorylab.experiment import Experiment, Preset

FIELD_TYPES = (int, float, bool, str)


def check_experiment(exp: Experiment) -> None:
    """The Experiment's own fields, then its Config class (no dry run)."""
    if not isinstance(exp, Experiment):
        raise ConfigError(f"expected a theorylab Experiment, got {type(exp).__name__}")
    if not isinstance(exp.name, str) or not exp.name:
        raise ConfigError("Experiment.name must be a non-empty string")
    if not isinstance(exp.problem, Problem):
        raise ConfigError(f"{exp.name}: Experiment.problem must be a theorylab Problem, got {type(exp.problem).__name__}")
    if not exp.presets or not all(isinstance(p, Preset) for p in exp.presets.values()):
        raise ConfigError(f"{exp.name}: Experiment.presets must map preset names to theorylab Preset objects")
    for name in ("claims", "figures"):
        if not callable(getattr(exp, name)):
            raise ConfigError(f"{exp.name}: Experiment.{name} must be a function (df, resolved) -> ...")
    check_config_class(exp.config)
    if exp.problem.optimizer is Problem.__dataclass_fields__["optimizer"].default:
        if "lr" not in fields(exp.config) or _hint(exp.config, "lr") is not float:
            raise ConfigError(f"{exp.config.__name__} has no float field 'lr', which the default optimizer "
                              "(plain GD, step cfg.lr) reads: add lr: float = param(...) or give Problem(optimizer=...)")


def _hint(cls, name: str):
    return typing.get_type_hints(cls).get(name)


@functools.lru_cache(maxsize=None)
def check_config_class(cls) -> None:
    """Field types and static-ness of a Config class (see the module docstring)."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ConfigError(f"Config {getattr(cls, '__name__', cls)!r} must be a dataclass "
                          "(@dataclasses.dataclass(frozen=True) with fields declared by theorylab.param)")
    if not cls.__dataclass_params__.frozen:
        raise ConfigError(f"{cls.__name__} must be frozen: @dataclasses.dataclass(frozen=True)")
    try:
        hints = typing.get_type_hints(cls)
    except Exception as e:  # noqa: BLE001
        raise ConfigError(f"{cls.__name__}: cannot resolve its field types ({e})") from None
    static = set(static_names(cls))
    for name in ("steps", "log_every"):
        if name not in hints:
            raise ConfigError(f"{cls.__name__} has no field {name!r}: every Config needs "
                              f"{name}: int = param(..., static=True) (the step budget and the log interval)")
        if hints[name] is not int or name not in static:
            raise ConfigError(f"{cls.__name__}.{name} must be a static int: {name}: int = param(..., static=True)")
    for name, f in fields(cls).items():
        typ = hints[name]
        if typ not in FIELD_TYPES:
            raise ConfigError(f"{cls.__name__}.{name} has type {getattr(typ, '__name__', typ)}; "
                              "expected int, float, bool or str")
        if typ in (bool, str) and name not in static:
            raise ConfigError(f"{cls.__name__}.{name} is a {typ.__name__} field: declare it static=True "
                              "(param(..., static=True)); only int and float fields can be swept as traced values")
        if f.metadata.get("bucket") and (typ is not int or name not in static):
            raise ConfigError(f"{cls.__name__}.{name}: only a static int size can be bucketed "
                              "(param(..., static=True, bucket=p))")
        if f.default is dataclasses.MISSING:
            raise ConfigError(f"{cls.__name__}.{name} has no default: give every field one with param(default, doc)")


_TRACER_ERRORS = (jax.errors.ConcretizationTypeError, jax.errors.TracerIntegerConversionError,
                  jax.errors.TracerBoolConversionError, jax.errors.TracerArrayConversionError)


def _is_tracer_error(e: Exception) -> bool:
    if isinstance(e, _TRACER_ERRORS):
        return True
    text = str(e)
    return "Traced<" in text or "tracer" in text.lower()


def _stages(problem: Problem, cfg) -> list[tuple[str, Any]]:
    """(function name, fn(dyn) -> outputs) for each stage of one run, as the engine calls them."""
    key = jax.ShapeDtypeStruct((2,), jnp.uint32)

    def cfg_of(dyn):
        return dataclasses.replace(cfg, **dyn)

    def setup(dyn):
        out = problem.setup(split_run_key(_key(key))[0], cfg_of(dyn))
        if not (isinstance(out, tuple) and len(out) == 2):
            raise ConfigError("Problem.setup must return a pair (params, data)")
        return out

    def opt_init(dyn):
        params, _ = setup(dyn)
        return problem.optimizer(cfg_of(dyn)).init(params)

    def loss(dyn):
        params, data = setup(dyn)
        value = problem.loss(params, data, cfg_of(dyn), _key(key))
        if jnp.shape(value) != () or not jnp.issubdtype(jnp.result_type(value), jnp.floating):
            raise ConfigError(f"Problem.loss must return a float scalar, got shape {jnp.shape(value)} "
                              f"dtype {jnp.result_type(value)}")
        return jax.value_and_grad(problem.loss)(params, data, cfg_of(dyn), _key(key))

    def opt_update(dyn):
        params, data = setup(dyn)
        opt = problem.optimizer(cfg_of(dyn))
        _, grads = loss(dyn)
        return opt.update(grads, opt.init(params), params)

    def stop(dyn):
        return None if problem.stop_below is None else problem.stop_below(cfg_of(dyn))

    def observe_with(fn):
        def run(dyn):
            params, data = setup(dyn)
            obs = fn(params, data, cfg_of(dyn))
            if not isinstance(obs, dict) or not all(isinstance(k, str) for k in obs):
                raise ConfigError("must return a dict of observable name -> array")
            return obs
        return run

    stages = [("Problem.setup", setup), ("Problem.optimizer", opt_init), ("Problem.loss", loss),
              ("Problem.optimizer", opt_update), ("Problem.stop_below", stop),
              ("Problem.observe", observe_with(problem.observe))]
    if problem.observe_initial is not None:
        stages.append(("Problem.observe_initial", observe_with(problem.observe_initial)))
    return stages


def _key(spec):
    """A concrete key of the spec's shape (the dry run traces, so its value does not matter)."""
    return jnp.zeros(spec.shape, spec.dtype)


def _dyn_specs(cfg, names) -> dict[str, jax.ShapeDtypeStruct]:
    return {n: jax.ShapeDtypeStruct((), jnp.asarray(getattr(cfg, n)).dtype) for n in names}


def dry_run(problem: Problem, cfg, where: str = "") -> dict[str, Any]:
    """Trace one run of ``cfg`` through every stage; return the observables' shapes.

    ConfigError (one line) on the first stage that fails, naming the function and, when a
    dynamic field is used as a shape or in control flow, the field.
    """
    cls = type(cfg)
    names = dynamic_names(cls)
    specs = _dyn_specs(cfg, names)
    at = f" ({where})" if where else ""
    out = None
    for fname, stage in _stages(problem, cfg):
        try:
            out = jax.eval_shape(stage, specs)
        except ConfigError as e:
            raise ConfigError(f"{fname}{at}: {e}") from None
        except Exception as e:  # noqa: BLE001  any failure of user code becomes one line
            raise ConfigError(_explain(fname, stage, cfg, names, specs, e) + at) from None
    if problem.observe_initial is not None:
        first = jax.eval_shape(_stages(problem, cfg)[5][1], specs)
        if jax.tree_util.tree_structure(first) != jax.tree_util.tree_structure(out) or any(
                a.shape != b.shape for a, b in zip(jax.tree_util.tree_leaves(first), jax.tree_util.tree_leaves(out))):
            raise ConfigError(f"Problem.observe_initial{at} must return the same observables (names and shapes) "
                              "as Problem.observe")
    _check_padded_axes(problem, cfg, out, at)
    return out


def _check_padded_axes(problem: Problem, cfg, obs: dict, at: str) -> None:
    """Each Problem.padded_axes entry names a bucketed size of the Config and a known side for
    the padding, and its observable, where this config has it, has a last axis that long."""
    sizes = bucketed_names(type(cfg))
    for ax in problem.padded_axes:
        where = f"Problem.padded_axes entry {ax.observable!r}{at}"
        if ax.size not in sizes:
            raise ConfigError(f"{where}: {type(cfg).__name__}.{ax.size} is not a bucketed size "
                              f"(bucketed: {', '.join(sizes) or 'none'})")
        if ax.pad not in PADS:
            raise ConfigError(f"{where}: pad must be one of {', '.join(PADS)}, got {ax.pad!r}")
        if ax.observable not in obs:  # observables may depend on the config (a switch adds some)
            continue
        shape = obs[ax.observable].shape
        if not shape or shape[-1] < getattr(cfg, ax.size):
            raise ConfigError(f"{where}: its last axis must run over {ax.size} = {getattr(cfg, ax.size)} "
                              f"(shape {tuple(shape)})")


def _explain(fname: str, stage, cfg, names, specs, e: Exception) -> str:
    cls = type(cfg)
    first = (str(e).strip().splitlines() or [""])[0][:200]
    if isinstance(e, AttributeError) and "object has no attribute" in str(e):
        attr = str(e).split("attribute")[-1].strip(" '\"")
        return f"{fname} reads {cls.__name__}.{attr}, which is not a field of {cls.__name__}"
    if _is_tracer_error(e):
        for n in names:  # which dynamic field, made concrete, lets the stage trace?
            try:
                jax.eval_shape(lambda dyn, n=n: stage({**dyn, n: getattr(cfg, n)}),
                               {k: v for k, v in specs.items() if k != n})
            except Exception:  # noqa: BLE001
                continue
            return (f"{cls.__name__}.{n} is used as a shape or in Python control flow by {fname}: "
                    f"declare it static=True (param(..., static=True))")
        return (f"{fname} uses a traced (dynamic) value as a shape or in Python control flow: declare the "
                f"fields it depends on static=True ({type(e).__name__}: {first})")
    return f"{fname} failed in a dry run: {type(e).__name__}: {first}"


_DONE: dict[Any, dict] = {}


def check_run(exp: Experiment, cfg, where: str = "") -> dict[str, Any]:
    """check_experiment, then the dry run of one config (cached per problem and static fields)."""
    check_experiment(exp)
    static = tuple((n, getattr(cfg, n)) for n in static_names(type(cfg)))
    key = (exp.problem, type(cfg), static, bool(jax.config.jax_enable_x64))
    if key not in _DONE:
        _DONE[key] = dry_run(exp.problem, cfg, where)
        sizes = bucketed_names(type(cfg))
        if sizes:  # the same run padded into a bucket: its true sizes are traced values
            dry_run(exp.problem, bucket_config(cfg, {n: getattr(cfg, n) for n in sizes}),
                    (where + ", " if where else "") + "bucketed sizes " + ", ".join(sizes))
    return _DONE[key]


__all__ = ["check_experiment", "check_config_class", "dry_run", "check_run"]
