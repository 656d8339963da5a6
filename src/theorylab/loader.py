"""Where experiments come from: built-in names, Python files, modules and installed plugins.

    vit-benign/phase            a built-in experiment (theorylab.papers)
    path/to/file.py:NAME        NAME in a Python file, anywhere on disk
    pkg.module:NAME             NAME in an importable module
    my-paper/fig2               an experiment of an installed plugin

NAME is a module-level attribute holding an Experiment, or the ``name`` of an Experiment the
module defines at top level (directly or in a list, tuple or dict); ``file.py`` alone is
enough when the file defines exactly one Experiment.

Plugins are found the way pytest finds its plugins: through the entry-point group
``theorylab.experiments``. A package declares, in its pyproject.toml,

    [project.entry-points."theorylab.experiments"]
    my-paper = "my_paper.sims:EXPERIMENTS"

and every Experiment that entry point loads (one, or a list/tuple/dict of them) is listed by
``theorylab list`` and runs by its name.

The reference a run was started with is stored in its config.json (``experiment.ref``), with
file paths made absolute, so ``check``, ``report``, a resume and Ray or SLURM workers (which
call :func:`lookup_problem` by reference) import the same experiment again.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from theorylab.config import ConfigError
from theorylab.experiment import Experiment

ENTRY_POINT_GROUP = "theorylab.experiments"


def builtin() -> dict[str, Experiment]:
    """name -> Experiment shipped with theorylab (imports every paper module)."""
    from theorylab import papers

    return dict(papers.EXPERIMENTS)


def _experiments_in(obj: Any) -> list[Experiment]:
    if isinstance(obj, Experiment):
        return [obj]
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (list, tuple)):
        return [e for e in obj if isinstance(e, Experiment)]
    return []


@functools.lru_cache(maxsize=None)
def plugins() -> tuple[dict[str, Experiment], tuple[str, ...]]:
    """(name -> Experiment of every installed plugin, one-line warnings for broken ones)."""
    found: dict[str, Experiment] = {}
    warnings = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            exps = _experiments_in(ep.load())
        except Exception as e:  # noqa: BLE001  a broken plugin must not break `theorylab list`
            warnings.append(f"plugin {ep.name!r} ({ep.value}) failed to load: {type(e).__name__}: {e}")
            continue
        if not exps:
            warnings.append(f"plugin {ep.name!r} ({ep.value}) holds no Experiment")
        for exp in exps:
            found.setdefault(exp.name, exp)
    return found, tuple(warnings)


def _import_file(path: Path):
    """Import a Python file as a module of its own (once per path and process)."""
    path = path.resolve()
    name = "theorylab_user_" + hashlib.blake2b(str(path).encode(), digest_size=6).hexdigest()
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before exec: dataclasses and pickling look the module up
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[name]
        raise
    return module


def _pick(module, attr: str | None, where: str) -> Experiment:
    """The experiment ``attr`` (an attribute or an experiment name) of a module."""
    top = [e for v in vars(module).values() for e in _experiments_in(v)]
    unique = list({id(e): e for e in top}.values())
    if attr is None:
        if len(unique) == 1:
            return unique[0]
        names = ", ".join(e.name for e in unique) or "none"
        raise ConfigError(f"{where} defines {len(unique)} experiments ({names}); name one: {where}:NAME")
    value = getattr(module, attr, None)
    if isinstance(value, Experiment):
        return value
    by_name = [e for e in unique if e.name == attr]
    if by_name:
        return by_name[0]
    names = ", ".join(e.name for e in unique) or "none"
    raise ConfigError(f"{where} has no experiment {attr!r}; its experiments: {names}")


def is_file_ref(ref: str) -> bool:
    return ref.split(":", 1)[0].endswith(".py")


def normalise(ref: str) -> str:
    """A reference that finds the same experiment from another directory (absolute file path)."""
    if is_file_ref(ref):
        path, _, attr = ref.partition(":")
        return str(Path(path).resolve()) + (f":{attr}" if attr else "")
    return ref


SESSION_PREFIX = "session:"
_SESSION: dict[str, Experiment] = {}


def register(exp: Experiment) -> str:
    """A reference valid in this process only, for an experiment defined in a notebook."""
    ref = SESSION_PREFIX + exp.name
    _SESSION[ref] = exp
    return ref


def known(ref: str) -> bool:
    return ref in _SESSION


def find(ref: str) -> Experiment:
    """The experiment a reference names (see the module docstring); ConfigError if none."""
    if ref.startswith(SESSION_PREFIX):
        if ref not in _SESSION:
            raise ConfigError(f"experiment {ref[len(SESSION_PREFIX):]!r} was defined in another Python session; "
                              "pass the Experiment object, or save it in a file and use 'file.py:NAME'")
        return _SESSION[ref]
    return _find(ref)


@functools.lru_cache(maxsize=None)
def _find(ref: str) -> Experiment:
    if is_file_ref(ref):
        path, _, attr = ref.partition(":")
        if not Path(path).is_file():
            raise ConfigError(f"experiment file {path!r} does not exist")
        return _pick(_import_file(Path(path)), attr or None, path)
    if ":" in ref:  # built-in and plugin names have no colon
        mod_name, _, attr = ref.partition(":")
        try:
            module = importlib.import_module(mod_name)
        except ImportError as e:
            raise ConfigError(f"cannot import module {mod_name!r} of experiment {ref!r}: {e}") from None
        return _pick(module, attr or None, mod_name)
    try:
        known = builtin()
    except Exception:  # a broken built-in paper must not hide an installed plugin
        if ref in plugins()[0]:
            return plugins()[0][ref]
        raise
    if ref in known:
        return known[ref]
    found, _ = plugins()
    if ref in found:
        return found[ref]
    raise ConfigError(f"unknown experiment {ref!r}; built-in: {', '.join(known)}"
                      + (f"; plugins: {', '.join(found)}" if found else "")
                      + "; or give path/to/file.py:NAME or package.module:NAME")


def ref_of(exp: Experiment) -> str | None:
    """A reference that finds ``exp`` again in a new process, or None (defined in a notebook)."""
    homes_of = [getattr(obj, "__module__", "") or "" for obj in (exp.claims, exp.config)]
    if any(h.startswith("theorylab.papers.") for h in homes_of) and builtin().get(exp.name) is exp:
        return exp.name
    homes = [getattr(obj, "__module__", None) for obj in (exp.claims, exp.figures, exp.config, exp.problem.setup)]
    for module in (sys.modules.get(h) for h in dict.fromkeys(homes) if h):
        if module is None or not any(e is exp for v in vars(module).values() for e in _experiments_in(v)):
            continue
        attrs = [k for k, v in vars(module).items() if v is exp]
        attr = attrs[0] if attrs else exp.name
        file = getattr(module, "__file__", None)
        if module.__name__ == "__main__" or module.__name__.startswith("theorylab_user_"):
            return f"{Path(file).resolve()}:{attr}" if file else None
        if file and not _installed(module.__name__):  # imported through sys.path or a notebook's cwd
            return f"{Path(file).resolve()}:{attr}"
        return f"{module.__name__}:{attr}"
    return None


def _installed(module_name: str) -> bool:
    """Whether a fresh process (no extra sys.path entries, another working directory) can
    import the module: it lives in an installed distribution or in site-packages."""
    import site

    top = module_name.split(".")[0]
    spec = importlib.util.find_spec(top)
    origin = getattr(spec, "origin", None) or ""
    locations = list(getattr(spec, "submodule_search_locations", None) or []) + [origin]
    roots = [str(Path(p).resolve()) for p in site.getsitepackages() + [site.getusersitepackages()]]
    if any(str(Path(loc).resolve()).startswith(r) for loc in locations if loc for r in roots):
        return True
    return top in metadata.packages_distributions()  # an editable install (theorylab itself)


def experiment_source_hash(exp: Experiment) -> str:
    """A hash of the source files that define the experiment (its config, problem functions,
    claims and figures): stored results of other code must not be resumed silently."""
    import hashlib as _h
    import inspect

    files = set()
    for obj in (exp.config, exp.claims, exp.figures, *(getattr(exp.problem, f.name) for f in
                                                       __import__("dataclasses").fields(exp.problem))):
        try:
            path = inspect.getsourcefile(obj)
        except TypeError:
            path = None
        if path and Path(path).is_file():
            files.add(str(Path(path).resolve()))
    h = _h.blake2b(digest_size=8)
    for path in sorted(files):
        h.update(Path(path).read_bytes())
    return h.hexdigest()


def lookup_problem(ref: str):
    """(Config class, Problem) of an experiment reference: what a sweep worker trains."""
    exp = find(ref)
    return exp.config, exp.problem
