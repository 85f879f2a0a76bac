"""Parquet copies of a dataset's splits (``SPLIT.parquet`` beside ``SPLIT.jsonl``), with
pyarrow, for ``datasets.load_dataset("parquet", ...)``."""

from __future__ import annotations

import contextlib
import os

from llmcompiler.datasets import store
from llmcompiler.errors import LLMCError


def require_pyarrow() -> None:
    """Check that Parquet files can be written.

    Raises:
        LLMCError: pyarrow is not installed.
    """
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise LLMCError(
            "--parquet needs pyarrow: pip install 'llmcompiler[datasets]' (or pip install pyarrow)"
        ) from None


def write_parquet(root: str | os.PathLike, splits: list[str], batch: int = 512) -> None:
    """Write ``SPLIT.parquet`` beside each ``SPLIT.jsonl``, streaming in batches.

    Every split gets a file with the same columns (taken from the first record of any
    split), so ``datasets.load_dataset("parquet", data_files=...)`` reads them together.
    Nothing is written when no split has a record. Needs pyarrow (:func:`require_pyarrow`).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = None
    for name in splits:
        with contextlib.closing(store.read_rows(store.split_path(root, name))) as records:
            first = next(records, None)
        if first is not None:
            schema = pa.Table.from_pylist([first]).schema
            break
    if schema is None:
        return  # no records anywhere: nothing to write
    for name in splits:
        with pq.ParquetWriter(store.parquet_path(root, name), schema) as writer:
            rows: list[dict] = []
            for row in store.read_rows(store.split_path(root, name)):
                rows.append(row)
                if len(rows) == batch:
                    writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                    rows = []
            if rows:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
