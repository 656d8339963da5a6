"""Readers of a run directory's verified shards: DuckDB (SQL), and an xarray Dataset.

    query(run_dir, "SELECT cell, avg(test_loss) FROM final GROUP BY cell")
    to_xarray(run_dir)   # dims: every swept config field x seed x step

SQL sees two views: ``runs`` (every row: one per run and log point, over the verified
``runs/*.parquet`` shards) and ``final`` (each run's last log point). The pandas and Arrow
readers are ``store.shards.read_runs`` / ``read_table``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from theorylab.store.shards import StoreError, read_runs, verified_shards

ID_COLUMNS = ("run_id", "cell", "seed", "step")


def query(run_dir: Path, sql: str) -> pd.DataFrame:
    """Run DuckDB SQL over the run directory (views ``runs`` and ``final``)."""
    import duckdb

    files = [str(p) for p in verified_shards(run_dir)]
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"CREATE VIEW runs AS SELECT * FROM read_parquet({files!r}, union_by_name = true)")
        con.execute("CREATE VIEW final AS SELECT * FROM runs "
                    "QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY step DESC) = 1")
        return con.execute(sql).df()
    except duckdb.Error as e:
        raise StoreError(f"query failed: {str(e).splitlines()[0]}") from None
    finally:
        con.close()


def config_fields(run_dir: Path) -> list[str]:
    """Names of the experiment's config fields, from the run directory's config.json."""
    meta = json.loads((Path(run_dir) / "config.json").read_text())
    return list(meta["resolved"]["base"])


def swept_fields(df: pd.DataFrame, fields: list[str]) -> list[str]:
    """Config fields that take more than one value across the stored runs (grid order)."""
    return [f for f in fields if f in df.columns and df[f].nunique(dropna=False) > 1]


def to_xarray(run_dir: Path, df: pd.DataFrame | None = None):
    """An xarray Dataset with dims (swept fields..., seed, step).

    Data variables: every scalar observable, plus stop_step and stop_reason; config fields
    that do not vary become attributes. A grid that is not a full cross product (or runs with
    different step budgets) leaves NaN where no run exists. Array-valued observables are
    left out (read them with ``read_runs``).
    """
    import xarray as xr  # noqa: F401  (pandas.to_xarray needs it installed)

    df = read_runs(run_dir) if df is None else df
    fields = config_fields(run_dir)
    swept = swept_fields(df, fields)
    fixed = {f: df[f].iloc[0] for f in fields if f in df.columns and f not in swept}
    scalar = [c for c in df.columns if c not in fields and c not in ID_COLUMNS
              and not isinstance(df[c].iloc[0], (list, tuple)) and getattr(df[c].iloc[0], "ndim", 0) == 0]
    ds = df.set_index(swept + ["seed", "step"])[scalar].to_xarray()
    ds.attrs.update({k: (v.item() if hasattr(v, "item") else v) for k, v in fixed.items()})
    ds.attrs["swept"] = ",".join(swept)
    return ds
