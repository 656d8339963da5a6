"""Theory models: ``init(key, ...) -> params`` (a pytree) and ``apply(params, x)``."""
