"""A dataset directory: the one place that knows its files and how they are read and written.

Layout::

    DIR/manifest.json     schema and LLVM versions, generator config, corpus hash,
                          counts per split, dropped and failed counts (written last)
    DIR/SPLIT.jsonl       one record (a JSON object) per line, per split
    DIR/errors.jsonl      one line per module that gave no records, and why
    DIR/SPLIT.parquet     the same records as SPLIT.jsonl, when asked for (:mod:`.parquet`)

``llmc dataset build`` writes it (:mod:`llmcompiler.datasets.build`); the dataset card,
the evaluation harness and training read it through the functions here. A directory
without a manifest is accepted where a reader only needs a split file (the manifest is
then optional); a manifest of another schema version is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from llmcompiler.errors import InputError

SCHEMA_VERSION = 1
KIND = "llmcompiler-dataset"
MANIFEST = "manifest.json"
ERRORS = "errors.jsonl"
ROWS = ".jsonl"
PARQUET = ".parquet"


# -- paths ----------------------------------------------------------------------------


def manifest_path(root: str | os.PathLike) -> Path:
    """Return the manifest file of dataset directory ``root`` (it may not exist)."""
    return Path(root) / MANIFEST


def split_path(root: str | os.PathLike, split: str) -> Path:
    """Return the records file (``SPLIT.jsonl``) of ``split`` (it may not exist)."""
    return Path(root) / f"{split}{ROWS}"


def parquet_path(root: str | os.PathLike, split: str) -> Path:
    """Return the Parquet file (``SPLIT.parquet``) of ``split`` (it may not exist)."""
    return Path(root) / f"{split}{PARQUET}"


def split_names(root: str | os.PathLike) -> list[str]:
    """Return the names of the splits that have a records file in ``root``, sorted."""
    return sorted(p.stem for p in Path(root).glob(f"*{ROWS}") if p.name != ERRORS)


def find_split(root: str | os.PathLike, split: str) -> Path:
    """Return the records file of ``split``, checked to exist.

    Raises:
        InputError: ``root`` is not a directory, or it has no such split.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such dataset directory")
    path = split_path(root, split)
    if not path.is_file():
        have = ", ".join(split_names(root)) or "none"
        raise InputError(f"{root}: no split {split!r} (splits: {have})")
    return path


# -- the manifest ---------------------------------------------------------------------


def read_manifest(root: str | os.PathLike, required: bool = True) -> dict:
    """Return the manifest of dataset directory ``root``.

    ``required=False`` returns ``{}`` for a directory without a manifest.

    Raises:
        InputError: ``root`` is not a directory; it has no manifest (when required);
            the manifest is not a readable JSON object, or has another schema version.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such dataset directory")
    path = manifest_path(root)
    if not path.is_file():
        if not required:
            return {}
        raise InputError(
            f"{root}: not a dataset directory (no {MANIFEST}; make one with llmc dataset build)"
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: cannot read the manifest: {err}") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{path}: cannot read the manifest: not a JSON object")
    version = manifest.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise InputError(
            f"{path}: dataset schema {version}, this llmcompiler reads {SCHEMA_VERSION}"
        )
    return manifest


def write_manifest(root: str | os.PathLike, manifest: dict) -> None:
    """Write ``manifest`` as the manifest of ``root`` (indented JSON)."""
    manifest_path(root).write_text(json.dumps(manifest, indent=2) + "\n")


def listed_splits(manifest: dict) -> list[str]:
    """Return the split names a manifest lists (its ``counts``), in its order."""
    return list(manifest.get("counts", {}))


def describe_files(root: str | os.PathLike, records: dict[str, int]) -> dict:
    """Return the manifest's ``files`` entry: per split (``records`` maps each to its
    record count) the records file with its sha256, then the Parquet files there are."""
    files = {}
    for name, count in records.items():
        path = split_path(root, name)
        files[path.name] = {"records": count, "sha256": _sha256(path)}
    for name, count in records.items():
        if parquet_path(root, name).is_file():
            files[parquet_path(root, name).name] = {"records": count}
    return files


def check_task(root: str | os.PathLike, tasks: tuple[str, ...]) -> None:
    """Check that the dataset in ``root`` is of one of ``tasks`` (a directory without
    a manifest, or a manifest without a task, passes).

    Raises:
        InputError: a dataset of another task, or an unreadable manifest.
    """
    task = read_manifest(root, required=False).get("task")
    if task is not None and task not in tasks:
        raise InputError(f"{root}: a {task} dataset; this needs {' or '.join(tasks)}")


# -- records --------------------------------------------------------------------------


def numbered_rows(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """Yield (line number, record) for each record of a JSON-lines file, in order;
    blank lines are skipped.

    Raises:
        InputError: a line is not a JSON object (the message names file and line).
    """
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as err:
                raise InputError(f"{path}:{number}: not a JSON record: {err}") from None
            if not isinstance(record, dict):
                raise InputError(f"{path}:{number}: not a JSON object")
            yield number, record


def read_rows(path: str | os.PathLike) -> Iterator[dict]:
    """Yield the records of a JSON-lines file in order (see :func:`numbered_rows`).

    Raises:
        InputError: a line is not a JSON object.
    """
    for _, record in numbered_rows(path):
        yield record


def read_split(root: str | os.PathLike, split: str, tasks: tuple[str, ...]) -> list[dict]:
    """Return the records of ``split`` in dataset directory ``root``.

    Raises:
        InputError: not a dataset directory, a dataset of another task, no such
            split, or a line that is not a JSON record.
    """
    path = find_split(root, split)
    check_task(root, tasks)
    return list(read_rows(path))


class DatasetWriter:
    """Writes the records and errors files of a build: open it (a context manager),
    then :meth:`write` records and :meth:`error` lines; closing closes every file."""

    def __init__(self, root: str | os.PathLike, splits: Iterable[str]) -> None:
        with contextlib.ExitStack() as stack:  # a failed open closes the others
            self._files = {
                name: stack.enter_context(open(split_path(root, name), "w")) for name in splits
            }
            self._errors = stack.enter_context(open(Path(root) / ERRORS, "w"))
            self._stack = stack.pop_all()

    def write(self, split: str, record: dict) -> None:
        """Append ``record`` to ``split``'s records file."""
        self._files[split].write(json.dumps(record, ensure_ascii=False) + "\n")

    def error(self, program: str, digest: str, error: str) -> None:
        """Append a module that gave no records, and why, to the errors file."""
        line = {"program": program, "hash": digest, "error": error}
        self._errors.write(json.dumps(line) + "\n")

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- the directory ----------------------------------------------------------------------


def is_dataset_file(path: Path) -> bool:
    """Return True for a file a build writes (a split's records, errors, the manifest)."""
    return path.is_file() and (path.name == MANIFEST or path.suffix in (ROWS, PARQUET))


def prepare(out: str | os.PathLike, overwrite: bool) -> Path:
    """Make ``out`` ready for a build and return it as a Path: new or empty, or a
    dataset (or an interrupted build's files) that is removed when ``overwrite``.

    Raises:
        InputError: ``out`` is a file, holds files that are not a dataset's, or holds a
            dataset and ``overwrite`` is False.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not all(is_dataset_file(path) for path in out.iterdir()):
            raise InputError(f"{out}: not empty and not a dataset directory")
        if not overwrite:
            raise InputError(f"{out}: a dataset is already there (use --overwrite to replace)")
        for path in out.iterdir():
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
