"""A corpus directory: IR modules stored as bitcode plus a manifest, one JSON line each.

Layout::

    DIR/corpus.json       schema version, LLVM version, sources, generating config, counts
    DIR/manifest.jsonl    one line per module (see :class:`CorpusEntry`)
    DIR/failures.jsonl    one line per input that did not become a module (and why)
    DIR/modules/ab/<hash>.bc

Modules are named by the sha256 of their content (:attr:`Program.hash`), so the same
code from two sources is stored once.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from llmcompiler.errors import InputError
from llmcompiler.program import Program, program_from_ir

SCHEMA_VERSION = 1
MANIFEST = "manifest.jsonl"
FAILURES = "failures.jsonl"
INFO = "corpus.json"


@dataclass(frozen=True)
class CorpusEntry:
    """One module of a corpus.

    Attributes:
        id: stable name, ``<source>/<name>`` (e.g. ``gcc-torture/execute/pr12345.c``).
        source: the source it came from: ``local``, ``gcc-torture``, ``csmith`` or
            ``pypi:<package>``.
        origin: where the code came from inside that source (a path or a seed).
        path: the module file, relative to the corpus directory.
        hash: sha256 of the module's content.
        instcount: IR instructions in defined functions (as compiled, no optimization).
        has_main: the module defines ``main``.
        runnable: it has ``main`` and its -O0 build ran and exited 0 within the timeout.
        license: what is known of the code's license ("" when unknown).
        triple: the module's target triple ("" in corpora built before it was recorded).
    """

    id: str
    source: str
    origin: str
    path: str
    hash: str
    instcount: int
    has_main: bool
    runnable: bool
    license: str = ""
    triple: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def load(self, root: str | os.PathLike) -> Program:
        """The module as a Program (named by its id).

        Raises:
            InputError: the module file is missing.
            InvalidIRError: the file does not hold valid IR.
        """
        file = Path(root) / self.path
        try:
            data = file.read_bytes()
        except OSError as err:
            raise InputError(f"{file}: {err.strerror}") from None
        return program_from_ir(data, self.id, source=str(file))


def read_manifest(root: str | os.PathLike) -> list[CorpusEntry]:
    """The entries of a corpus directory, in manifest order.

    Raises:
        InputError: ``root`` has no manifest or a line of it is not an entry.
    """
    manifest = Path(root) / MANIFEST
    if not manifest.is_file():
        raise InputError(f"{root}: not a corpus directory (no {MANIFEST})")
    out = []
    with open(manifest) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(CorpusEntry(**json.loads(line)))
            except (TypeError, ValueError) as err:
                raise InputError(f"{manifest}:{number}: not a corpus entry: {err}") from None
    return out


def read_info(root: str | os.PathLike) -> dict:
    """The corpus's ``corpus.json`` ({} when the build has not finished once)."""
    path = Path(root) / INFO
    return json.loads(path.read_text()) if path.is_file() else {}


def module_path(digest: str) -> str:
    """Where a module with this hash lives, relative to the corpus directory."""
    return f"modules/{digest[:2]}/{digest}.bc"
