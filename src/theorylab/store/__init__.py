"""The run directory's result store: Parquet shards written atomically, and readers."""
