"""The compiled trainer.

One chunk of R runs that share their static config becomes one XLA program:

    jit( scan over log points( while any run active and t < block end: vmap(step) ) )

* Every run is a pure function of (config, key). Dynamic config fields arrive as [R] arrays
  and are vmapped; static fields are Python constants baked into the program.
* Step t of one run, with theta_t its parameters:
      L_t, g_t = value_and_grad(loss)(theta_t)
      stop at t, keeping theta_t, if L_t < stop_below            -> CONVERGED, stop_step = t
      stop at t, keeping theta_t, if L_t, g_t or theta_{t+1} is not finite -> DIVERGED
      otherwise theta_{t+1} = optimizer update of theta_t
  A stopped run is frozen by a mask; runs still going at the step budget end as BUDGET with
  stop_step = steps.
* The loop over the steps of one log block is a ``while_loop`` whose condition asks whether
  any run of the chunk is still active, so a chunk whose runs have all stopped costs nothing
  more: its remaining log points repeat the frozen observables without recomputing them.
* DESIGN.md writes jit(vmap(scan(scan(step)))); here the vmap sits *inside* the loops
  (loops over the chunk, vmapped step) so that the loop condition can see every run at once.
* Observables are evaluated inside the program at step 0 and after every ``log_every`` steps,
  and returned stacked: obs[name] has shape [n_logs + 1, R, ...]. A stopped run's later log
  points repeat its frozen state.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
import time
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from theorylab.config import static_names
from theorylab.engine.buckets import PaddedAxis
from theorylab.stop_reasons import StopReason


@dataclasses.dataclass(frozen=True)
class Problem:
    """What the engine trains, as pure functions of a config (dynamic fields may be traced).

    setup(key, cfg) -> (params, data): trainable pytree and everything else the run needs
        (train set, test set, frozen weights), all arrays.
    loss(params, data, cfg, key) -> scalar: the training objective of one step; ``key`` is
        fresh per step (for stochastic objectives such as label-noise GD).
    observe(params, data, cfg) -> dict of arrays: the quantities the theory talks about.
    optimizer(cfg) -> optax.GradientTransformation (default: plain GD with step cfg.lr).
    stop_below(cfg) -> scalar or None: stop a run once its training objective is below it.
    observe_initial(params, data, cfg) -> the same dict as observe, at step 0 only, for a
        problem that can compute it cheaper from what setup returned (default: observe).
    padded_axes: the observables whose last axis runs over a bucketed size (``PaddedAxis``,
        engine/buckets.py); the engine stores only each run's own entries of them.
    """

    setup: Callable[..., tuple[Any, Any]]
    loss: Callable[..., jax.Array]
    observe: Callable[..., dict[str, jax.Array]]
    optimizer: Callable[[Any], optax.GradientTransformation] = lambda cfg: optax.sgd(cfg.lr)
    stop_below: Callable[[Any], Any] | None = None
    observe_initial: Callable[..., dict[str, jax.Array]] | None = None
    padded_axes: tuple[PaddedAxis, ...] = ()


class RunState(NamedTuple):
    params: Any
    opt_state: Any
    data: Any
    dyn: dict[str, jax.Array]
    key: jax.Array
    active: jax.Array  # bool
    reason: jax.Array  # int32 StopReason
    stop_step: jax.Array  # int32


@dataclasses.dataclass
class ChunkResult:
    obs: dict[str, np.ndarray]  # name -> [n_logs + 1, R, ...]
    log_steps: np.ndarray  # [n_logs + 1]
    stop_step: np.ndarray  # [R] int
    stop_reason: np.ndarray  # [R] int (StopReason)
    executed_steps: int  # loop iterations the chunk actually ran (each one batched over R)
    compile_s: float
    run_s: float
    padded_axes: tuple[PaddedAxis, ...] = ()  # the problem's (store: keep each run's own entries)


def split_run_key(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """A run's key -> (setup key: data and init, train key: folded with t for step t)."""
    k_setup, k_train = jax.random.split(key)
    return k_setup, k_train


def _all_finite(tree) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.array(True)


def _select(mask, new, old):
    return jax.tree_util.tree_map(lambda a, b: jnp.where(mask, a, b), new, old)


def build_program(problem: Problem, static_cfg, dyn_names: tuple[str, ...], steps: int, log_every: int):
    """The un-jitted chunk program: (keys [R, 2] uint32, dyn {name: [R]}) -> outputs."""
    if steps % log_every:
        raise ValueError(f"steps ({steps}) must be a multiple of log_every ({log_every})")
    n_logs = steps // log_every

    def cfg_of(dyn):
        return dataclasses.replace(static_cfg, **dyn)

    def setup_one(key, dyn):
        cfg = cfg_of(dyn)
        k_setup, k_train = split_run_key(key)
        params, data = problem.setup(k_setup, cfg)
        opt_state = problem.optimizer(cfg).init(params)
        return RunState(params, opt_state, data, dyn, k_train, jnp.array(True),
                        jnp.array(StopReason.RUNNING, jnp.int32), jnp.array(steps, jnp.int32))

    def observe_one(s: RunState):
        return problem.observe(s.params, s.data, cfg_of(s.dyn))

    def observe_initial_one(s: RunState):
        return (problem.observe_initial or problem.observe)(s.params, s.data, cfg_of(s.dyn))

    def step_one(s: RunState, t):
        cfg = cfg_of(s.dyn)
        opt = problem.optimizer(cfg)
        loss, grads = jax.value_and_grad(problem.loss)(s.params, s.data, cfg, jax.random.fold_in(s.key, t))
        updates, opt_state = opt.update(grads, s.opt_state, s.params)
        params = optax.apply_updates(s.params, updates)
        finite = jnp.isfinite(loss) & _all_finite(grads) & _all_finite(params)
        converged = jnp.array(False) if problem.stop_below is None else loss < problem.stop_below(cfg)
        stop_now = s.active & (converged | ~finite)
        keep_going = s.active & ~stop_now
        reason = jnp.where(stop_now, jnp.where(finite, StopReason.CONVERGED, StopReason.DIVERGED), s.reason)
        return s._replace(
            params=_select(keep_going, params, s.params),
            opt_state=_select(keep_going, opt_state, s.opt_state),
            active=keep_going,
            reason=reason.astype(jnp.int32),
            stop_step=jnp.where(stop_now, t, s.stop_step).astype(jnp.int32),
        )

    step_all = jax.vmap(step_one, in_axes=(0, None))
    observe_all = jax.vmap(observe_one)

    def program(keys, dyn):
        state = jax.vmap(setup_one)(keys, dyn)
        # One call site of observe when there is no cheaper observe_initial: log point 0 is a
        # block of zero steps (each call site is compiled, and observe is often the largest part).
        shared = problem.observe_initial is None
        obs0 = (jax.tree_util.tree_map(jnp.zeros_like, jax.eval_shape(observe_all, state)) if shared
                else jax.vmap(observe_initial_one)(state))

        def block(carry, i):
            state, t0, executed, last_obs = carry
            t_end = t0 + jnp.where(i == 0, 0, log_every) if shared else t0 + log_every
            changed = jnp.any(state.active) | (i == 0) if shared else jnp.any(state.active)

            def cond(c):
                s, t, _ = c
                return (t < t_end) & jnp.any(s.active)

            def body(c):
                s, t, n = c
                return step_all(s, t), t + 1, n + 1

            state, _, executed = jax.lax.while_loop(cond, body, (state, t0, executed))
            # once every run has stopped, later log points repeat the frozen observables
            obs = jax.lax.cond(changed, observe_all, lambda _: last_obs, state)
            return (state, t_end, executed, obs), obs

        if shared:
            (state, _, executed, _), obs = jax.lax.scan(
                block, (state, jnp.int32(0), jnp.int32(0), obs0), jnp.arange(n_logs + 1))
        else:
            (state, _, executed, _), obs = jax.lax.scan(
                block, (state, jnp.int32(0), jnp.int32(0), obs0), jnp.arange(1, n_logs + 1))
            obs = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), obs0, obs)
        reason = jnp.where(state.active, StopReason.BUDGET, state.reason)
        return obs, state.stop_step, reason, executed

    return program, n_logs


_CACHE: dict[Any, Any] = {}
_CACHE_LOCK = threading.Lock()
_KEY_LOCKS: dict[Any, threading.Lock] = {}


def _key_lock(key) -> threading.Lock:
    """One lock per program: threads that need the same program compile it once, the others
    wait for it; threads that need different programs compile them side by side."""
    with _CACHE_LOCK:
        return _KEY_LOCKS.setdefault(key, threading.Lock())

DISK_CACHE_ENV = "THEORYLAB_COMPILE_CACHE"  # a directory, or "off"
_disk_cache_dir: str | None = None


def disk_cache_dir() -> str | None:
    """Where compiled programs persist across processes (JAX's persistent compilation cache).

    $THEORYLAB_COMPILE_CACHE, else $XDG_CACHE_HOME/theorylab/xla (~/.cache/theorylab/xla);
    "off" (or "0", "") disables it. A program is stored under a hash of its HLO, the JAX
    version and the backend: rerunning a preset, resuming, or sweeping only dynamic fields
    (which do not enter the HLO) in a new process loads the program instead of recompiling it.
    """
    value = os.environ.get(DISK_CACHE_ENV)
    if value is not None:
        return None if value.strip().lower() in ("", "0", "off", "none") else value
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "theorylab", "xla", _host_tag())


def _host_tag() -> str:
    """A hash of this CPU's model and instruction-set flags: machine code compiled for one CPU
    is never loaded on another (a home directory shared by the nodes of a cluster)."""
    text = ""
    try:
        with open("/proc/cpuinfo") as f:
            text = "".join(ln for ln in f if ln.startswith(("model name", "flags")))
    except OSError:
        pass
    import platform

    text += platform.machine() + platform.processor()
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def _use_disk_cache() -> None:
    """Point JAX's persistent cache at disk_cache_dir(), once per process, unless the caller
    already chose a cache directory for JAX."""
    global _disk_cache_dir
    path = disk_cache_dir()
    if path is None or path == _disk_cache_dir or jax.config.jax_compilation_cache_dir:
        return
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    _disk_cache_dir = path


def compile_chunk(problem: Problem, static_cfg, dyn_names: tuple[str, ...], n_runs: int,
                  steps: int, log_every: int):
    """Ahead-of-time compile the chunk program for R = n_runs; returns (run_fn, compile_s).

    ``run_fn(keys [R, 2], dyn {name: [R]}) -> ChunkResult``. Compiled programs are cached on
    the problem, every static field of the config, R and the float width, so equal-shaped
    chunks compile once; across processes they persist on disk (``disk_cache_dir``), so
    compile_s is then the time to load one.

    The key holds the Problem object itself (compared by its functions), never its address:
    the cache keeps every Problem it has compiled for alive, so a Problem created later can
    never be handed another Problem's program through a recycled ``id``.
    """
    static = tuple((n, getattr(static_cfg, n)) for n in static_names(type(static_cfg)))
    full_key = (problem, type(static_cfg), static, n_runs, steps, log_every, dyn_names,
                bool(jax.config.jax_enable_x64))
    with _key_lock(full_key):
        if full_key in _CACHE:
            return _CACHE[full_key], 0.0
        run_fn, compile_s = _compile(problem, static_cfg, dyn_names, n_runs, steps, log_every)
        _CACHE[full_key] = run_fn
    return run_fn, compile_s


def _compile(problem: Problem, static_cfg, dyn_names: tuple[str, ...], n_runs: int, steps: int, log_every: int):
    with _CACHE_LOCK:
        _use_disk_cache()
    program, n_logs = build_program(problem, static_cfg, dyn_names, steps, log_every)
    keys_spec = jax.ShapeDtypeStruct((n_runs, 2), jnp.uint32)
    dyn_spec = {
        n: jax.ShapeDtypeStruct((n_runs,), jnp.asarray(getattr(static_cfg, n)).dtype) for n in dyn_names
    }
    t0 = time.perf_counter()
    compiled = jax.jit(program).lower(keys_spec, dyn_spec).compile()
    compile_s = time.perf_counter() - t0
    log_steps = np.arange(n_logs + 1) * log_every

    def run_fn(keys: np.ndarray, dyn: dict[str, np.ndarray]) -> ChunkResult:
        t0 = time.perf_counter()
        dyn = {n: np.asarray(dyn[n], dtype=dyn_spec[n].dtype) for n in dyn_names}
        obs, stop_step, reason, executed = jax.block_until_ready(compiled(np.asarray(keys, np.uint32), dyn))
        return ChunkResult(
            obs={k: np.asarray(v) for k, v in obs.items()},
            log_steps=log_steps,
            stop_step=np.asarray(stop_step),
            stop_reason=np.asarray(reason),
            executed_steps=int(executed),
            compile_s=0.0,
            run_s=time.perf_counter() - t0,
            padded_axes=problem.padded_axes,
        )

    return run_fn, compile_s
