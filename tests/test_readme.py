"""The README's example output is what llmc prints today.

Console blocks that follow the marker ``<!-- output checked by tests/test_readme.py -->``
hold ``$ llmc ...`` commands, each followed by its exact output; they run here, from a
folder holding the repository's examples, and must print the same.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from llmcompiler.cli import main

ROOT = Path(__file__).resolve().parent.parent
MARKER = "<!-- output checked by tests/test_readme.py -->"
BLOCK = re.compile(re.escape(MARKER) + r"\s*```console\n(.*?)```", re.S)


def examples() -> list[tuple[str, str]]:
    """(command line, expected output) for every checked command in the README."""
    out = []
    for block in BLOCK.findall((ROOT / "README.md").read_text()):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            out.append((command, output))
    return out


def test_the_readme_has_checked_examples():
    assert len(examples()) >= 2


@pytest.mark.parametrize("command,expected", examples(), ids=[c for c, _ in examples()])
def test_readme_example_prints_what_it_says(command, expected, tmp_path, monkeypatch, capsys):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LLMC_CACHE", "")
    argv = shlex.split(command)
    assert argv[0] == "llmc"
    main(argv[1:])
    assert capsys.readouterr().out == expected
