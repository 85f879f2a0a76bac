"""A tiny corpus directory of the fixture programs, for the dataset tests."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import FIXTURES
from llmcompiler.corpus.store import CorpusEntry, module_path
from llmcompiler.program import load_program

PROGRAMS = ["loops.c", "switch.c", "recursion.c", "globals.c", "tiny.ll"]
BROKEN_ID = "local/broken.ll"


def make_corpus(root: Path, names=PROGRAMS, broken: bool = True) -> Path:
    """A corpus directory in the store's format, plus one module file of garbage bytes."""
    lines = []
    for name in names:
        program = load_program(FIXTURES / name)
        path = module_path(program.hash)
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(program.bitcode)
        entry = CorpusEntry(
            id=f"local/{name}",
            source="local",
            origin=name,
            path=path,
            hash=program.hash,
            instcount=0,
            has_main=program.has_main,
            runnable=False,
        )
        lines.append(entry.to_json())
    if broken:
        digest = "0" * 64
        path = module_path(digest)
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(b"BC\xc0\xde not really bitcode")
        entry = CorpusEntry(BROKEN_ID, "local", "broken", path, digest, 0, False, False)
        lines.append(entry.to_json())
    (root / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return root


def records(out: Path) -> list[dict]:
    manifest = json.loads((out / "manifest.json").read_text())
    rows = []
    for name in manifest["counts"]:
        rows += [json.loads(line) for line in (out / f"{name}.jsonl").read_text().splitlines()]
    return rows
